import CDNNL
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
    /// The default: ``winograd`` where it applies and pays (3x3, stride 1, padding 0 or 1, at
    /// least ``Convolution/winogradMinimumChannels`` input channels), else ``oneDNN``.
    case automatic
    /// oneDNN's JIT direct-convolution kernels.
    case oneDNN
    /// Winograd F(4x4, 3x3) with `sgemm` (``WinogradConvolution``); 3x3, stride 1 only.
    case winograd
    /// The reference: explicit im2col / col2im and `cblas_sgemm`.
    case im2col
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

    /// Below this many input channels ``ConvolutionBackend/automatic`` keeps oneDNN: the
    /// Winograd transforms (compiled for baseline x86-64 SIMD) then cost more than the
    /// multiplications they save, and oneDNN's direct kernels are JIT-compiled for the processor.
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

    /// The concrete backend a call uses for a geometry.
    static func resolve(_ requested: ConvolutionBackend?, _ g: Conv2DGeometry) -> ConvolutionBackend {
        let b = requested ?? backend
        guard b == .automatic else { return b }
        return WinogradConvolution.supports(g) && g.inChannels >= winogradMinimumChannels ? .winograd : .oneDNN
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
        case .winograd:
            WinogradConvolution.forward(g, input: input.storage.pointer, weight: weight.storage.pointer,
                                        bias: bias?.storage.pointer, output: out.storage.pointer)
        case .im2col:
            Im2Col.forward(g, input: input.storage.pointer, weight: weight.storage.pointer,
                           bias: bias?.storage.pointer, output: out.storage.pointer)
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
        case .automatic, .oneDNN:
            OneDNNConvolution.backward(g, gradOutput: gradOutput.storage.pointer, input: input?.storage.pointer,
                                       weight: weight?.storage.pointer, gradInput: dx?.storage.pointer,
                                       gradWeight: dw?.storage.pointer, gradBias: db?.storage.pointer)
        case .im2col:
            if let dx { Im2Col.backwardData(g, gradOutput: gradOutput.storage.pointer, weight: weight!.storage.pointer,
                                            gradInput: dx.storage.pointer) }
            if let dw { Im2Col.backwardWeights(g, gradOutput: gradOutput.storage.pointer, input: input!.storage.pointer,
                                               gradWeight: dw.storage.pointer) }
            if let db { Im2Col.biasGradient(g, gradOutput: gradOutput.storage.pointer, gradBias: db.storage.pointer) }
        }
        withExtendedLifetime((gradOutput, input, weight)) {}
        return (dx, dw, db)
    }
}

// MARK: - oneDNN implementation

/// The oneDNN convolution path.
///
/// Layout: public tensors are NCHW/OIHW. Inside, each pass uses the layout measured fastest
/// end to end for its geometry (``resolvedLayout(_:_:)``): usually oneDNN's own choice
/// (`dnnl_format_tag_any`: `nChw8c` activations, `OIhw8i8o` weights, `jit:avx2` kernels on
/// this AVX2 machine) with reorders in and out on every call, NHWC for channel counts that are
/// not multiples of 8, plain NCHW for inputs with fewer than 8 channels. Weights are reordered
/// on every call (they change every optimizer step, and they are small).
///
/// Plans (primitive, reorders, scratchpad size) are cached by geometry, bias, pass and thread
/// count under a lock. Execution uses user-mode scratchpads and per-call memory objects, so
/// concurrent calls from several threads are safe.
enum OneDNNConvolution {
    /// How activations are laid out inside oneDNN.
    enum Layout: Sendable {
        /// Per pass and geometry, from measurements on the target machine (see ``resolvedLayout(_:_:)``).
        case automatic
        /// `dnnl_format_tag_any`: oneDNN's choice (blocked `nChw8c` with AVX2).
        case blocked
        /// NHWC activations, weights in oneDNN's choice.
        case nhwc
        /// NCHW activations used as they are (no activation reorders; oneDNN's GEMM-based kernels).
        case plain
    }

    /// The layout policy for new plans. Internal: benchmarks force one layout to compare.
    nonisolated(unsafe) static var layout: Layout = .automatic

    /// The layout a pass uses for a geometry.
    ///
    /// Measured end to end (NCHW in, NCHW out, reorders included) on the 2-core AVX2 target:
    /// - fewer than 8 input channels (a network's first layer): oneDNN's JIT kernels keep the
    ///   input plain but want a blocked output, and reordering that large output costs more than
    ///   the convolution, so its GEMM kernels on NCHW win (batch 128, 1→64 at 28x28, 1 thread:
    ///   forward 16 vs 12, backward-data 21 vs 3.5, backward-weights 5.6 vs 3.0 GFLOP/s). The
    ///   exception is the weight gradient with 3 input channels (RGB), where the JIT kernel wins
    ///   (3→64 at 32x32: 17.5 vs 12.5 GFLOP/s);
    /// - more than 8 input channels but not a multiple of 8 (the 64 + 1 time-channel convolution):
    ///   the blocked layout pads the channels to the next multiple of 8, NHWC does not; NHWC wins
    ///   the forward (65→64 at 30x30: 35.4–36.0 vs 33.5 GFLOP/s) and, slightly, the weight
    ///   gradient (27–28.5 vs 26.6–27), the blocked layout wins the input gradient (34.4 vs 31);
    /// - otherwise the blocked layout (nChw8c) wins every pass (64→64 3x3: 35–37 GFLOP/s against
    ///   34–36 for NHWC and 15–30 for NCHW).
    static func resolvedLayout(_ pass: Pass, _ g: Conv2DGeometry) -> Layout {
        if layout != .automatic { return layout }
        let c = g.inChannels
        if c < 8 { return pass == .backwardWeights && c == 3 ? .blocked : .plain }
        if c % 8 != 0 { return pass == .backwardData ? .blocked : .nhwc }
        return .blocked
    }

    // oneDNN execution argument indices (dnnl_types.h).
    static let argSrc: Int32 = 1
    static let argDst: Int32 = 17
    static let argWeights: Int32 = 33
    static let argBias: Int32 = 41
    static let argScratchpad: Int32 = 80
    static let argDiffSrc: Int32 = 129
    static let argDiffDst: Int32 = 145
    static let argDiffWeights: Int32 = 161
    static let argDiffBias: Int32 = 169
    static let argFrom: Int32 = 1
    static let argTo: Int32 = 17

    enum Pass: Hashable { case forward, backwardData, backwardWeights }

    struct PlanKey: Hashable {
        let geometry: Conv2DGeometry
        let pass: Pass
        let bias: Bool
        let threads: Int
        let layout: Layout
    }

    /// A oneDNN primitive and the scratchpad it needs per execution.
    final class Primitive: @unchecked Sendable {
        let handle: dnnl_primitive_t
        let scratchpad: dnnl_memory_desc_t
        let scratchpadBytes: Int

        init(_ pd: dnnl_primitive_desc_t) {
            var p: dnnl_primitive_t?
            OneDNN.check(dnnl_primitive_create(&p, pd), "dnnl_primitive_create")
            handle = p!
            var md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t()
            scratchpad = md
            scratchpadBytes = md.ndims == 0 ? 0 : dnnl_memory_desc_get_size(&md)
        }

        deinit { dnnl_primitive_destroy(handle) }
    }

    /// How one argument goes between the caller's buffer (NCHW/OIHW/x) and the layout the
    /// primitive wants.
    struct Argument {
        let index: Int32
        let user: dnnl_memory_desc_t
        let inner: dnnl_memory_desc_t
        let innerBytes: Int
        /// user → inner for inputs, inner → user for outputs; `nil` when the layouts agree.
        let reorder: Primitive?
    }

    /// A convolution pass ready to run.
    final class Plan: @unchecked Sendable {
        let primitive: Primitive
        let arguments: [Int32: Argument]
        let implementation: String

        init(pd: dnnl_primitive_desc_t, user: [Int32: dnnl_memory_desc_t], outputs: Set<Int32>) {
            primitive = Primitive(pd)
            var info: UnsafePointer<CChar>?
            implementation = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success
                ? info.map { String(cString: $0) } ?? "?" : "?"
            var args: [Int32: Argument] = [:]
            for (index, userMD) in user {
                var inner = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, index)!.pointee
                let reorder: Primitive? = OneDNNConvolution.equal(userMD, inner) ? nil
                    : (outputs.contains(index) ? OneDNNConvolution.reorder(from: inner, to: userMD)
                                               : OneDNNConvolution.reorder(from: userMD, to: inner))
                args[index] = Argument(index: index, user: userMD, inner: inner,
                                       innerBytes: dnnl_memory_desc_get_size(&inner), reorder: reorder)
            }
            arguments = args
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var plans: [PlanKey: Plan] = [:]

    /// Number of cached plans (for tests).
    static var cachedPlanCount: Int { lock.lock(); defer { lock.unlock() }; return plans.count }

    /// Drops every cached plan.
    static func clearCache() { lock.lock(); plans = [:]; lock.unlock() }

    // MARK: Thread count

    private typealias GetThreads = @convention(c) () -> Int32
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private static let ompGetMaxThreads: GetThreads? =
        dlsym(nil, "omp_get_max_threads").map { unsafeBitCast($0, to: GetThreads.self) }
    private static let ompSetNumThreads: SetThreads? =
        dlsym(nil, "omp_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }

    /// Makes OpenMP on the calling thread use ``Parallel/threadCount`` threads (OpenMP's thread
    /// count is per calling thread) and returns it. oneDNN sizes its work split when a primitive
    /// is created, so the count is part of the plan key.
    static func syncThreads() -> Int {
        let n = Parallel.threadCount
        _ = OneDNN.engine // initialise oneDNN (and its OpenMP runtime) first
        if let get = ompGetMaxThreads, let set = ompSetNumThreads, Int(get()) != n { set(Int32(n)) }
        return n
    }

    // MARK: Plan construction

    static func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { Int64($0) }
        OneDNN.check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dnnl_f32, tag), "dnnl_memory_desc_init_by_tag")
        return md
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var x = a, y = b
        return dnnl_memory_desc_equal(&x, &y) != 0
    }

    static func userScratchpadAttr() -> dnnl_primitive_attr_t {
        var attr: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        return attr!
    }

    static func reorder(from src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) -> Primitive {
        var s = src, d = dst
        let attr = userScratchpadAttr()
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: dnnl_primitive_desc_t?
        OneDNN.check(dnnl_reorder_primitive_desc_create(&pd, &s, OneDNN.engine, &d, OneDNN.engine, attr),
                     "dnnl_reorder_primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        return Primitive(pd!)
    }

    /// The cached plan for a pass, created on first use.
    static func plan(_ g: Conv2DGeometry, _ pass: Pass, bias: Bool, threads: Int) -> Plan {
        let key = PlanKey(geometry: g, pass: pass, bias: bias, threads: threads, layout: resolvedLayout(pass, g))
        lock.lock()
        defer { lock.unlock() }
        if let p = plans[key] { return p }
        let p = makePlan(key)
        plans[key] = p
        return p
    }

    private static func makePlan(_ key: PlanKey) -> Plan {
        let g = key.geometry
        let actTag: dnnl_format_tag_t
        switch key.layout {
        case .blocked, .automatic: actTag = dnnl_format_tag_any
        case .nhwc: actTag = dnnl_nhwc
        case .plain: actTag = dnnl_nchw
        }
        var src = memoryDesc(g.inputShape, actTag)
        var wei = memoryDesc(g.weightShape, dnnl_format_tag_any)
        var bia = memoryDesc([g.outChannels], dnnl_x)
        var dst = memoryDesc(g.outputShape, actTag)
        let strides: [Int64] = [Int64(g.stride), Int64(g.stride)]
        let pad: [Int64] = [Int64(g.padding), Int64(g.padding)]
        let userSrc = memoryDesc(g.inputShape, dnnl_nchw)
        let userWei = memoryDesc(g.weightShape, dnnl_oihw)
        let userBia = memoryDesc([g.outChannels], dnnl_x)
        let userDst = memoryDesc(g.outputShape, dnnl_nchw)
        let attr = userScratchpadAttr()
        defer { dnnl_primitive_attr_destroy(attr) }

        // The forward descriptor: the plan itself for the forward pass, the hint for backward ones.
        var fd = dnnl_convolution_desc_t()
        let withBias = key.bias && key.pass != .backwardData
        if withBias {
            OneDNN.check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                                            &src, &wei, &bia, &dst, strides, pad, pad),
                         "dnnl_convolution_forward_desc_init (\(g))")
        } else {
            OneDNN.check(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                                            &src, &wei, nil, &dst, strides, pad, pad),
                         "dnnl_convolution_forward_desc_init (\(g))")
        }
        var fpd: dnnl_primitive_desc_t?
        OneDNN.check(dnnl_primitive_desc_create(&fpd, &fd, attr, OneDNN.engine, nil), "convolution forward primitive_desc (\(g))")
        defer { dnnl_primitive_desc_destroy(fpd) }

        switch key.pass {
        case .forward:
            var user: [Int32: dnnl_memory_desc_t] = [argSrc: userSrc, argWeights: userWei, argDst: userDst]
            if withBias { user[argBias] = userBia }
            return Plan(pd: fpd!, user: user, outputs: [argDst])
        case .backwardData:
            var bd = dnnl_convolution_desc_t()
            OneDNN.check(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src, &wei, &dst,
                                                                  strides, pad, pad),
                         "dnnl_convolution_backward_data_desc_init (\(g))")
            var pd: dnnl_primitive_desc_t?
            OneDNN.check(dnnl_primitive_desc_create(&pd, &bd, attr, OneDNN.engine, fpd),
                         "convolution backward-data primitive_desc (\(g))")
            defer { dnnl_primitive_desc_destroy(pd) }
            return Plan(pd: pd!, user: [argDiffDst: userDst, argWeights: userWei, argDiffSrc: userSrc],
                        outputs: [argDiffSrc])
        case .backwardWeights:
            var wd = dnnl_convolution_desc_t()
            if withBias {
                OneDNN.check(dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &src, &wei, &bia,
                                                                         &dst, strides, pad, pad),
                             "dnnl_convolution_backward_weights_desc_init (\(g))")
            } else {
                OneDNN.check(dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &src, &wei, nil,
                                                                         &dst, strides, pad, pad),
                             "dnnl_convolution_backward_weights_desc_init (\(g))")
            }
            var pd: dnnl_primitive_desc_t?
            OneDNN.check(dnnl_primitive_desc_create(&pd, &wd, attr, OneDNN.engine, fpd),
                         "convolution backward-weights primitive_desc (\(g))")
            defer { dnnl_primitive_desc_destroy(pd) }
            var user: [Int32: dnnl_memory_desc_t] = [argSrc: userSrc, argDiffDst: userDst, argDiffWeights: userWei]
            if withBias { user[argDiffBias] = userBia }
            return Plan(pd: pd!, user: user, outputs: [argDiffWeights, argDiffBias])
        }
    }

    // MARK: Execution

    /// The memory objects and temporary buffers of one call; everything is released by ``finish()``.
    final class Execution {
        private var memories: [dnnl_memory_t] = []
        private var buffers: [TensorStorage] = []

        /// A memory object over `pointer` (not owned).
        func wrap(_ md: dnnl_memory_desc_t, _ pointer: UnsafeRawPointer) -> dnnl_memory_t {
            var d = md
            var m: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&m, &d, OneDNN.engine, UnsafeMutableRawPointer(mutating: pointer)),
                         "dnnl_memory_create")
            memories.append(m!)
            return m!
        }

        /// A memory object over a temporary buffer of `bytes` bytes from the tensor buffer pool.
        func temporary(_ md: dnnl_memory_desc_t, bytes: Int) -> dnnl_memory_t {
            let storage = TensorStorage(uninitializedCount: (bytes + 3) / 4)
            buffers.append(storage)
            return wrap(md, storage.pointer)
        }

        /// Runs `primitive` with `args`, adding its scratchpad.
        func run(_ primitive: Primitive, _ args: [(Int32, dnnl_memory_t)]) {
            var a = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1) }
            if primitive.scratchpadBytes > 0 {
                a.append(dnnl_exec_arg_t(arg: argScratchpad,
                                         memory: temporary(primitive.scratchpad, bytes: primitive.scratchpadBytes)))
            }
            OneDNN.check(dnnl_primitive_execute(primitive.handle, OneDNN.stream, Int32(a.count), a), "dnnl_primitive_execute")
        }

        /// The argument in the primitive's layout, reordered from the caller's buffer if needed.
        func input(_ arg: Argument, _ pointer: UnsafeRawPointer) -> dnnl_memory_t {
            let user = wrap(arg.user, pointer)
            guard let r = arg.reorder else { return user }
            let inner = temporary(arg.inner, bytes: arg.innerBytes)
            run(r, [(argFrom, user), (argTo, inner)])
            return inner
        }

        /// The memory the primitive writes an output to, and what to do afterwards to bring it
        /// into the caller's buffer.
        func output(_ arg: Argument, _ pointer: UnsafeMutableRawPointer) -> (dnnl_memory_t, () -> Void) {
            let user = wrap(arg.user, pointer)
            guard let r = arg.reorder else { return (user, {}) }
            let inner = temporary(arg.inner, bytes: arg.innerBytes)
            return (inner, { self.run(r, [(argFrom, inner), (argTo, user)]) })
        }

        /// Waits for the stream and releases the memory objects and buffers.
        func finish() {
            OneDNN.check(dnnl_stream_wait(OneDNN.stream), "dnnl_stream_wait")
            for m in memories { dnnl_memory_destroy(m) }
            memories = []
            buffers = []
        }
    }

    /// `output = conv(input, weight) + bias`, NCHW / OIHW pointers.
    static func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let threads = syncThreads()
        let p = plan(g, .forward, bias: bias != nil, threads: threads)
        let e = Execution()
        var args: [(Int32, dnnl_memory_t)] = [
            (argSrc, e.input(p.arguments[argSrc]!, input)),
            (argWeights, e.input(p.arguments[argWeights]!, weight)),
        ]
        if let bias { args.append((argBias, e.input(p.arguments[argBias]!, bias))) }
        let (dst, finishDst) = e.output(p.arguments[argDst]!, output)
        args.append((argDst, dst))
        e.run(p.primitive, args)
        finishDst()
        e.finish()
    }

    /// The requested gradients (non-nil output pointers) of `conv(input, weight) + bias`.
    /// `input` is needed for the weight and bias gradients, `weight` for the input gradient.
    static func backward(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>?,
                         weight: UnsafePointer<Float>?, gradInput: UnsafeMutablePointer<Float>?,
                         gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?) {
        if gradWeight == nil, let gradBias {
            // Bias alone: a reduction, no convolution needed.
            Im2Col.biasGradient(g, gradOutput: gradOutput, gradBias: gradBias)
            if gradInput == nil { return }
        }
        let threads = syncThreads()
        let e = Execution()
        var sharedDiffDst: (md: dnnl_memory_desc_t, mem: dnnl_memory_t)?
        if let gradInput {
            let p = plan(g, .backwardData, bias: false, threads: threads)
            let dd = p.arguments[argDiffDst]!
            let diffDst = e.input(dd, gradOutput)
            if dd.reorder != nil { sharedDiffDst = (dd.inner, diffDst) }
            let w = e.input(p.arguments[argWeights]!, weight!)
            let (ds, finishDs) = e.output(p.arguments[argDiffSrc]!, gradInput)
            e.run(p.primitive, [(argDiffDst, diffDst), (argWeights, w), (argDiffSrc, ds)])
            finishDs()
        }
        if let gradWeight {
            let p = plan(g, .backwardWeights, bias: gradBias != nil, threads: threads)
            let dd = p.arguments[argDiffDst]!
            let diffDst: dnnl_memory_t
            if let shared = sharedDiffDst, equal(shared.md, dd.inner) {
                diffDst = shared.mem
            } else {
                diffDst = e.input(dd, gradOutput)
            }
            let src = e.input(p.arguments[argSrc]!, input!)
            let (dw, finishDw) = e.output(p.arguments[argDiffWeights]!, gradWeight)
            var args: [(Int32, dnnl_memory_t)] = [(argSrc, src), (argDiffDst, diffDst), (argDiffWeights, dw)]
            var finishDb: () -> Void = {}
            if let gradBias {
                let (db, f) = e.output(p.arguments[argDiffBias]!, gradBias)
                args.append((argDiffBias, db))
                finishDb = f
            }
            e.run(p.primitive, args)
            finishDw()
            finishDb()
        }
        e.finish()
    }

    /// The oneDNN implementation names chosen for a geometry, e.g. `"jit:avx2"` (for reports).
    static func implementations(_ g: Conv2DGeometry) -> (forward: String, backwardData: String, backwardWeights: String) {
        let t = syncThreads()
        return (plan(g, .forward, bias: false, threads: t).implementation,
                plan(g, .backwardData, bias: false, threads: t).implementation,
                plan(g, .backwardWeights, bias: false, threads: t).implementation)
    }
}

// MARK: - Benchmark

/// Throughput of the three convolution passes, end to end from NCHW tensors to NCHW tensors
/// (layout conversions and output allocation included), for `nsde bench kernels`.
public enum ConvolutionBenchmark {
    /// GFLOP/s of each pass (``Conv2DGeometry/flops`` divided by the median time).
    public struct Result: Sendable {
        public let geometry: Conv2DGeometry
        public let forward: Double
        public let backwardData: Double
        public let backwardWeights: Double
    }

    /// Times `repeats` runs of each pass (after `warmup` untimed ones) on a square `size`x`size`
    /// input with a `kernel`x`kernel` filter and "same" padding unless `padding` is given.
    public static func run(batch: Int, inChannels: Int, outChannels: Int, size: Int, kernel: Int = 3,
                           stride: Int = 1, padding: Int? = nil, repeats: Int = 10, warmup: Int = 2,
                           backend: ConvolutionBackend? = nil) -> Result {
        precondition(repeats >= 1 && warmup >= 0, "ConvolutionBenchmark: repeats must be positive")
        let g = Conv2DGeometry(batch: batch, inChannels: inChannels, height: size, width: size, outChannels: outChannels,
                               kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: padding ?? kernel / 2)
        func filled(_ shape: [Int], _ seed: UInt32) -> Tensor {
            let t = Tensor(uninitializedShape: shape)
            var s = seed &* 2_654_435_761 | 1
            for i in 0..<t.count {
                s ^= s << 13; s ^= s >> 17; s ^= s << 5
                t.storage.pointer[i] = Float(s % 2001) / 1000 - 1
            }
            return t
        }
        let x = filled(g.inputShape, 1), w = filled(g.weightShape, 2), b = filled([g.outChannels], 3)
        let dy = filled(g.outputShape, 4)
        func time(_ body: () -> Void) -> Double {
            for _ in 0..<warmup { body() }
            var times: [Double] = []
            for _ in 0..<repeats {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            }
            times.sort()
            return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        }
        let f = time { _ = Convolution.forward(x, weight: w, bias: b, stride: g.stride, padding: g.padding, backend: backend) }
        let d = time {
            _ = Convolution.backwardData(dy, weight: w, inputShape: g.inputShape, stride: g.stride, padding: g.padding,
                                         backend: backend)
        }
        let k = time {
            _ = Convolution.backwardWeights(dy, input: x, weightShape: g.weightShape, withBias: true, stride: g.stride,
                                            padding: g.padding, backend: backend)
        }
        return Result(geometry: g, forward: g.flops / f / 1e9, backwardData: g.flops / d / 1e9,
                      backwardWeights: g.flops / k / 1e9)
    }
}
