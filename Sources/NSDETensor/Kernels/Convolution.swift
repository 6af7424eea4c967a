import Foundation

// MARK: - Geometry

/// The sizes of one 2-D convolution: input `[N, C, H, W]` (NCHW), weight `[O, C, kh, kw]`
/// (OIHW, PyTorch's layout), bias `[O]`, output `[N, O, Ho, Wo]`, with the same stride and
/// zero padding along both spatial axes.
public struct Conv2DGeometry: Hashable, Sendable, CustomStringConvertible {
    public let batch: Int
    public let inChannels: Int
    public let height: Int
    public let width: Int
    public let outChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let stride: Int
    public let padding: Int

    /// Checks the sizes; traps with a message naming the problem when they do not form a valid
    /// convolution (non-positive sizes, negative padding, a kernel larger than the padded input).
    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
        precondition(batch >= 1 && inChannels >= 1 && height >= 1 && width >= 1,
                     "conv2d: input sizes must be positive, got N=\(batch) C=\(inChannels) H=\(height) W=\(width)")
        precondition(outChannels >= 1 && kernelHeight >= 1 && kernelWidth >= 1,
                     "conv2d: weight sizes must be positive, got O=\(outChannels) kh=\(kernelHeight) kw=\(kernelWidth)")
        precondition(stride >= 1, "conv2d: stride must be at least 1, got \(stride)")
        precondition(padding >= 0, "conv2d: padding must be non-negative, got \(padding)")
        precondition(height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth,
                     "conv2d: kernel \(kernelHeight)x\(kernelWidth) is larger than the padded input \(height + 2 * padding)x\(width + 2 * padding)")
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    /// The geometry of convolving an input of shape `inputShape` (NCHW) with a weight of shape
    /// `weightShape` (OIHW). Traps when the ranks or the channel counts do not match.
    public init(inputShape: [Int], weightShape: [Int], stride: Int = 1, padding: Int = 0) {
        precondition(inputShape.count == 4, "conv2d: input must have rank 4 [N, C, H, W], got shape \(inputShape)")
        precondition(weightShape.count == 4, "conv2d: weight must have rank 4 [O, C, kh, kw], got shape \(weightShape)")
        precondition(inputShape[1] == weightShape[1],
                     "conv2d: input has \(inputShape[1]) channels but weight \(weightShape) expects \(weightShape[1])")
        self.init(batch: inputShape[0], inChannels: inputShape[1], height: inputShape[2], width: inputShape[3],
                  outChannels: weightShape[0], kernelHeight: weightShape[2], kernelWidth: weightShape[3],
                  stride: stride, padding: padding)
    }

    /// Output height `(H + 2p - kh) / s + 1`.
    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Output width `(W + 2p - kw) / s + 1`.
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// `[N, C, H, W]`.
    public var inputShape: [Int] { [batch, inChannels, height, width] }
    /// `[O, C, kh, kw]`.
    public var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    /// `[N, O, Ho, Wo]`.
    public var outputShape: [Int] { [batch, outChannels, outputHeight, outputWidth] }

    /// Floating-point operations of one pass (forward, backward-data or backward-weights):
    /// `2 · N · O · C · kh · kw · Ho · Wo`.
    public var flops: Double {
        2 * Double(batch) * Double(outChannels) * Double(inChannels) * Double(kernelHeight * kernelWidth)
            * Double(outputHeight * outputWidth)
    }

    public var description: String {
        "conv2d N=\(batch) C=\(inChannels) \(height)x\(width) -> O=\(outChannels) k=\(kernelHeight)x\(kernelWidth) s=\(stride) p=\(padding)"
    }
}

// MARK: - Public kernel API

/// Which implementation ``Convolution`` (and therefore ``Tensor/conv2d(weight:bias:stride:padding:)``)
/// uses.
public enum ConvolutionBackend: Sendable {
    /// The default: Winograd where it applies and pays (3x3, stride 1, padding 0 or 1, at least
    /// ``Convolution/winogradMinimumChannels`` input channels) — ``oneDNNWinograd`` where oneDNN
    /// has Winograd kernels for the processor and shape, else ``winograd`` —, ``blockedWinograd``
    /// for the 3x3 convolutions of 16 to 64 channels where oneDNN runs AVX-512 kernels (see
    /// ``Convolution/blockedWinogradApplies(_:)``), and ``oneDNN`` otherwise.
    case automatic
    /// oneDNN's JIT direct-convolution kernels.
    case oneDNN
    /// Winograd F(4x4, 3x3) with `sgemm` (``WinogradConvolution``); 3x3, stride 1 only.
    case winograd
    /// oneDNN's Winograd F(4x4, 3x3) kernels (`jit_wino_4x3`): processors with AVX-512 only, 3x3
    /// stride-1 convolutions with the channel counts they accept (check
    /// ``Convolution/oneDNNWinogradSupports(inputShape:weightShape:padding:)``). Measured on an
    /// AVX-512 Xeon, 1 thread, 64→64 channels, batch 64 (`nsde bench conv`): 1.2–1.4x the
    /// throughput of ``winograd`` at 32x32 and 2–2.5x at 16x16, layout conversions included.
    case oneDNNWinograd
    /// The reference: explicit im2col / col2im and `cblas_sgemm`.
    case im2col
    /// Winograd on oneDNN's blocked layout `nChw16c` (`BlockedWinogradConvolution`: F(2x2, 3x3)
    /// below 32 input channels, F(4x4, 3x3) from 32): 3x3, stride 1, padding 0 or 1, input and
    /// output channels multiples of 16. NCHW tensors are converted on the way in and out; the fused
    /// normalised convolutions hand it their blocked activations directly.
    case blockedWinograd
}

/// 2-D convolution kernels without autodiff: forward, backward-data (gradient of the input) and
/// backward-weights (gradients of the weight and bias). Tensors are NCHW / OIHW and contiguous.
///
/// The oneDNN path converts, per pass, to the internal layout measured fastest for the geometry
/// (see ``OneDNNConvolution``) and caches its primitives per geometry, so repeated calls cost no
/// set-up.
public enum Convolution {
    /// The implementation used when a call does not name one. Set it before starting work;
    /// it is read, not synchronised.
    nonisolated(unsafe) public static var backend: ConvolutionBackend = .automatic

    /// Below this many input channels ``ConvolutionBackend/automatic`` keeps oneDNN (except where
    /// ``blockedWinogradApplies(_:)`` holds: 16 to 64 channels on AVX-512, the blocked Winograd
    /// kernels): the NCHW Winograd transforms (compiled for baseline x86-64 SIMD) then cost more
    /// than the multiplications they save, and oneDNN's direct kernels are JIT-compiled for the processor.
    /// Where the crossover lies depends on the instruction set oneDNN runs with, so the default
    /// does too (fixed per process, so runs stay bit-identical on a machine):
    ///
    /// - AVX2 (measured on a Zen AVX2 VM): 16. 1→64 at 28x28 is 2x slower with Winograd; 16→16
    ///   is 1.4–1.9x and 64→10 2.1x faster.
    /// - AVX-512 (`jit:avx512_core`, measured with `nsde bench conv` on a Zen 5 VM, 1 thread,
    ///   batch 32): 64. 16→16 at 26x26: oneDNN 162 / 163 / 162 GFLOP/s (forward, backward-data,
    ///   backward-weights) against Winograd 90 / 89 / 52; 32→32 at 30x30: 149 / 142 / 142
    ///   against 142 / 149 / 106; 64→64 at 30x30: 178 / 151 / 153 against 210 / 220 / 166.
    ///
    /// `nsde bench conv` compares the backends on any shape.
    nonisolated(unsafe) public static var winogradMinimumChannels = OneDNN.hasAVX512Kernels ? 64 : 16

    /// Whether ``ConvolutionBackend/automatic`` runs `g` as ``ConvolutionBackend/blockedWinograd``:
    /// where oneDNN runs AVX-512 kernels, for the 3x3 stride-1 convolutions with 16 to 64 input and
    /// output channels (multiples of 16); wider ones keep oneDNN (the transformed weights of the
    /// blocked kernels then outgrow the caches). Measured in the demo's and the paper model's
    /// shapes (AMD EPYC, Zen 4 family, 1 thread): 16 → 16 at 26x26 0.30 / 0.31 / 0.33 ms (forward,
    /// backward-data, backward-weights) against oneDNN's direct kernels' 0.50 / 0.43 / 0.48 ms;
    /// 64 → 64 at 30x30 241 / 221 / 190 GFLOP/s against oneDNN's Winograd 186 / 184 / 142.
    public static func blockedWinogradApplies(_ g: Conv2DGeometry) -> Bool {
        OneDNN.hasAVX512Kernels && g.inChannels <= 64 && g.outChannels <= 64 && BlockedWinogradConvolution.supports(g)
    }

    /// Whether ``ConvolutionBackend/blockedWinograd`` can run `g` (3x3, stride 1, padding 0 or 1,
    /// input and output channels multiples of 16).
    public static func blockedWinogradSupports(_ g: Conv2DGeometry) -> Bool { BlockedWinogradConvolution.supports(g) }

    /// The concrete backend a call uses for a geometry.
    static func resolve(_ requested: ConvolutionBackend?, _ g: Conv2DGeometry) -> ConvolutionBackend {
        let b = requested ?? backend
        guard b == .automatic else { return b }
        if blockedWinogradApplies(g) { return .blockedWinograd }
        guard WinogradConvolution.supports(g) && g.inChannels >= winogradMinimumChannels else { return .oneDNN }
        return OneDNNConvolution.supportsWinograd(g) ? .oneDNNWinograd : .winograd
    }

    /// How the automatic backend runs `g` when it takes its source activations in `nChw16c` (see
    /// ``Tensor/groupNormReLUConv2d(groups:gamma:beta:eps:weight:bias:stride:padding:adding:)``),
    /// else nil. Only for the automatic choice: a backend set with ``backend`` is kept as it is.
    static func blockedAlgorithm(_ g: Conv2DGeometry) -> BlockedConvolution? {
        guard backend == .automatic else { return nil }
        if resolve(nil, g) == .blockedWinograd { return .winograd }
        return automaticOneDNNAlgorithm(g).flatMap { OneDNNConvolution.acceptsBlockedInput(g, algorithm: $0) ? .oneDNN($0) : nil }
    }

    /// The oneDNN algorithm the automatic backend uses for `g` when that algorithm keeps its output
    /// (and the output's gradient) in `nChw16c` (see ``Tensor/conv2dToNChw16c(weight:bias:stride:padding:)``),
    /// else nil. Only for the automatic choice, as ``blockedAlgorithm(_:)``. Without `backwardData`
    /// the backward-data pass may need its output gradient in NCHW.
    static func blockedOutputAlgorithm(_ g: Conv2DGeometry, backwardData: Bool = true) -> OneDNNConvolution.Algorithm? {
        automaticOneDNNAlgorithm(g).flatMap {
            OneDNNConvolution.acceptsBlockedOutput(g, algorithm: $0, backwardData: backwardData) ? $0 : nil
        }
    }

    /// The oneDNN algorithm of the automatic backend's choice for `g`, or nil where that choice is
    /// not oneDNN (or a backend is set with ``backend``).
    private static func automaticOneDNNAlgorithm(_ g: Conv2DGeometry) -> OneDNNConvolution.Algorithm? {
        guard backend == .automatic else { return nil }
        switch resolve(nil, g) {
        case .oneDNN: return .direct
        case .oneDNNWinograd: return .winograd
        default: return nil
        }
    }

    /// Whether ``ConvolutionBackend/oneDNNWinograd`` can run this convolution (stride 1) on this
    /// processor.
    public static func oneDNNWinogradSupports(inputShape: [Int], weightShape: [Int], padding: Int = 1) -> Bool {
        OneDNNConvolution.supportsWinograd(Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, stride: 1,
                                                          padding: padding))
    }

    /// Floating-point operations of one pass: `2 · N · O · C · kh · kw · Ho · Wo`.
    public static func flops(inputShape: [Int], weightShape: [Int], stride: Int = 1, padding: Int = 0) -> Double {
        Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, stride: stride, padding: padding).flops
    }

    /// The oneDNN implementations the three passes use for a geometry, for example
    /// `"jit:avx2"` or `"x64:gemm:jit"` (for reports). Creates the plans if needed.
    public static func oneDNNImplementations(inputShape: [Int], weightShape: [Int], stride: Int = 1, padding: Int = 0)
        -> (forward: String, backwardData: String, backwardWeights: String) {
        OneDNNConvolution.implementations(Conv2DGeometry(inputShape: inputShape, weightShape: weightShape,
                                                         stride: stride, padding: padding))
    }

    /// `y = x ⋆ w + b`: input `[N, C, H, W]`, weight `[O, C, kh, kw]`, bias `[O]` → `[N, O, Ho, Wo]`.
    public static func forward(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                               padding: Int = 0, backend: ConvolutionBackend? = nil) -> Tensor {
        let g = Conv2DGeometry(inputShape: input.shape, weightShape: weight.shape, stride: stride, padding: padding)
        if let bias {
            precondition(bias.shape == [g.outChannels], "conv2d: bias must have shape [\(g.outChannels)], got \(bias.shape)")
        }
        let out = Tensor(uninitializedShape: g.outputShape)
        switch resolve(backend, g) {
        case .automatic, .oneDNN:
            OneDNNConvolution.forward(g, input: input.storage.pointer, weight: weight.storage.pointer,
                                      bias: bias?.storage.pointer, output: out.storage.pointer)
        case .oneDNNWinograd:
            precondition(OneDNNConvolution.supportsWinograd(g), "conv2d: oneDNN has no Winograd kernels for \(g) on this processor")
            OneDNNConvolution.forward(g, input: input.storage.pointer, weight: weight.storage.pointer,
                                      bias: bias?.storage.pointer, output: out.storage.pointer, algorithm: .winograd)
        case .winograd:
            WinogradConvolution.forward(g, input: input.storage.pointer, weight: weight.storage.pointer,
                                        bias: bias?.storage.pointer, output: out.storage.pointer)
        case .im2col:
            Im2Col.forward(g, input: input.storage.pointer, weight: weight.storage.pointer,
                           bias: bias?.storage.pointer, output: out.storage.pointer)
        case .blockedWinograd:
            precondition(BlockedWinogradConvolution.supports(g), "conv2d: the blocked Winograd kernels do not run \(g)")
            let x = TensorStorage(uninitializedCount: input.count)
            BlockedLayout.block(input.storage.pointer, x.pointer, .init(input: g))
            BlockedConvolution.winograd.forward(g, input: x.pointer, weight: weight.storage.pointer, bias: bias?.storage.pointer,
                                                output: out.storage.pointer, blockedOutput: false, addend: nil)
            withExtendedLifetime(x) {}
        }
        withExtendedLifetime((input, weight, bias)) {}
        return out
    }

    /// The gradient of the input, `[N, C, H, W]`, given the gradient of the output
    /// `[N, O, Ho, Wo]` and the weight. `inputShape` is needed because several input sizes map to
    /// one output size when the stride is above 1.
    public static func backwardData(_ gradOutput: Tensor, weight: Tensor, inputShape: [Int], stride: Int = 1,
                                    padding: Int = 0, backend: ConvolutionBackend? = nil) -> Tensor {
        let g = Conv2DGeometry(inputShape: inputShape, weightShape: weight.shape, stride: stride, padding: padding)
        return backward(g, gradOutput: gradOutput, input: nil, weight: weight, needInput: true, needWeight: false,
                        needBias: false, backend: backend).input!
    }

    /// The gradients of the weight `[O, C, kh, kw]` and (when `withBias`) of the bias `[O]`,
    /// given the gradient of the output and the input.
    public static func backwardWeights(_ gradOutput: Tensor, input: Tensor, weightShape: [Int], withBias: Bool = false,
                                       stride: Int = 1, padding: Int = 0,
                                       backend: ConvolutionBackend? = nil) -> (weight: Tensor, bias: Tensor?) {
        let g = Conv2DGeometry(inputShape: input.shape, weightShape: weightShape, stride: stride, padding: padding)
        let r = backward(g, gradOutput: gradOutput, input: input, weight: nil, needInput: false, needWeight: true,
                         needBias: withBias, backend: backend)
        return (r.weight!, r.bias)
    }

    /// All gradients of `y = x ⋆ w + b` at once, computing only those asked for. The gradient of
    /// the output is converted to oneDNN's layout once and shared by both backward passes.
    public static func backward(_ gradOutput: Tensor, input: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0,
                                needInput: Bool = true, needWeight: Bool = true, needBias: Bool = false,
                                backend: ConvolutionBackend? = nil) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
        let g = Conv2DGeometry(inputShape: input.shape, weightShape: weight.shape, stride: stride, padding: padding)
        return self.backward(g, gradOutput: gradOutput, input: input, weight: weight, needInput: needInput,
                             needWeight: needWeight, needBias: needBias, backend: backend)
    }

    static func backward(_ g: Conv2DGeometry, gradOutput: Tensor, input: Tensor?, weight: Tensor?,
                         needInput: Bool, needWeight: Bool, needBias: Bool,
                         backend: ConvolutionBackend?) -> (input: Tensor?, weight: Tensor?, bias: Tensor?) {
        precondition(gradOutput.shape == g.outputShape,
                     "conv2d backward: output gradient has shape \(gradOutput.shape), expected \(g.outputShape)")
        if needInput { precondition(weight != nil, "conv2d backward: the input gradient needs the weight") }
        if needWeight { precondition(input != nil, "conv2d backward: the weight gradient needs the input") }
        let dx = needInput ? Tensor(uninitializedShape: g.inputShape) : nil
        let dw = needWeight ? Tensor(uninitializedShape: g.weightShape) : nil
        let db = needBias ? Tensor(uninitializedShape: [g.outChannels]) : nil
        switch resolve(backend, g) {
        case .winograd:
            if let dx {
                WinogradConvolution.backwardData(g, gradOutput: gradOutput.storage.pointer, weight: weight!.storage.pointer,
                                                 gradInput: dx.storage.pointer)
            }
            if let dw {
                WinogradConvolution.backwardWeights(g, gradOutput: gradOutput.storage.pointer, input: input!.storage.pointer,
                                                    gradWeight: dw.storage.pointer, gradBias: db?.storage.pointer)
            } else if let db {
                Im2Col.biasGradient(g, gradOutput: gradOutput.storage.pointer, gradBias: db.storage.pointer)
            }
        case .automatic, .oneDNN, .oneDNNWinograd:
            let winograd = resolve(backend, g) == .oneDNNWinograd
            if winograd {
                precondition(OneDNNConvolution.supportsWinograd(g), "conv2d: oneDNN has no Winograd kernels for \(g) on this processor")
            }
            OneDNNConvolution.backward(g, gradOutput: gradOutput.storage.pointer, input: input?.storage.pointer,
                                       weight: weight?.storage.pointer, gradInput: dx?.storage.pointer,
                                       gradWeight: dw?.storage.pointer, gradBias: db?.storage.pointer,
                                       algorithm: winograd ? .winograd : .direct)
        case .im2col:
            if let dx { Im2Col.backwardData(g, gradOutput: gradOutput.storage.pointer, weight: weight!.storage.pointer,
                                            gradInput: dx.storage.pointer) }
            if let dw { Im2Col.backwardWeights(g, gradOutput: gradOutput.storage.pointer, input: input!.storage.pointer,
                                               gradWeight: dw.storage.pointer) }
            if let db { Im2Col.biasGradient(g, gradOutput: gradOutput.storage.pointer, gradBias: db.storage.pointer) }
        case .blockedWinograd:
            precondition(BlockedWinogradConvolution.supports(g), "conv2d: the blocked Winograd kernels do not run \(g)")
            // The input only for the weight and bias gradients.
            let x = dw == nil && db == nil ? nil : input.map { input in
                let x = TensorStorage(uninitializedCount: input.count)
                BlockedLayout.block(input.storage.pointer, x.pointer, .init(input: g))
                return x
            }
            let blockedGradInput = dx.map { TensorStorage(uninitializedCount: $0.count) }
            BlockedConvolution.winograd.backward(g, gradOutput: gradOutput.storage.pointer,
                                                 input: x?.pointer, weight: weight?.storage.pointer,
                                                 gradInput: blockedGradInput?.pointer, gradWeight: dw?.storage.pointer,
                                                 gradBias: db?.storage.pointer, blockedOutput: false, gradAddend: nil)
            if let dx, let blockedGradInput {
                BlockedLayout.unblock(blockedGradInput.pointer, dx.storage.pointer, .init(input: g))
            }
            withExtendedLifetime((x, blockedGradInput)) {}
        }
        withExtendedLifetime((gradOutput, input, weight)) {}
        return (dx, dw, db)
    }
}
