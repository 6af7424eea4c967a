import CKernels

/// How a convolution whose source activations are in `nChw16c` runs (the fused normalised
/// convolution, ``Tensor/groupNormReLUConv2d(blockedInputShape:groups:gamma:beta:eps:weight:bias:stride:padding:adding:inputAddend:blockedOutput:)``):
/// on oneDNN's kernels with the algorithm named, or on ``BlockedWinogradConvolution``. Both take the
/// output (and its gradient) in `nChw16c` or in NCHW, the latter with an optional `[O, Ho, Wo]`
/// addend broadcast over the batch, whose gradient is the batch sum of the output gradient.
enum BlockedConvolution: Equatable {
    case oneDNN(OneDNNConvolution.Algorithm)
    case winograd

    /// Whether the output (and its gradient) can stay in `nChw16c`.
    func acceptsBlockedOutput(_ g: Conv2DGeometry) -> Bool {
        switch self {
        case .oneDNN(let algorithm): return OneDNNConvolution.acceptsBlockedOutput(g, algorithm: algorithm)
        case .winograd: return true
        }
    }

    /// `output = conv(input, weight) + bias (+ addend)`, `input` in `nChw16c`, `output` in
    /// `nChw16c` with `blockedOutput` (then without addend), else NCHW.
    func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 output: UnsafeMutablePointer<Float>, blockedOutput: Bool, addend: UnsafePointer<Float>?) {
        switch self {
        case .oneDNN(let algorithm):
            OneDNNConvolution.forward(g, input: input, weight: weight, bias: bias, output: output, algorithm: algorithm,
                                      blockedInput: true, blockedOutput: blockedOutput, addend: addend)
        case .winograd:
            precondition(!(blockedOutput && addend != nil), "BlockedConvolution: an addend needs an NCHW output")
            if blockedOutput {
                BlockedWinogradConvolution.forward(g, input: input, weight: weight, bias: bias, output: output)
                return
            }
            let blocked = TensorStorage(uninitializedCount: g.outputShape.reduce(1, *))
            BlockedWinogradConvolution.forward(g, input: input, weight: weight, bias: bias, output: blocked.pointer)
            BlockedLayout.unblock(blocked.pointer, output, .init(output: g), adding: addend)
            withExtendedLifetime(blocked) {}
        }
    }

    /// The requested gradients (non-nil pointers) of ``forward(_:input:weight:bias:output:blockedOutput:addend:)``:
    /// `gradOutput` in the output's layout, `gradInput` in `nChw16c`; `input` is needed for the
    /// weight and bias gradients, `weight` for the input gradient.
    func backward(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>?,
                  weight: UnsafePointer<Float>?, gradInput: UnsafeMutablePointer<Float>?,
                  gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?, blockedOutput: Bool,
                  gradAddend: UnsafeMutablePointer<Float>?) {
        switch self {
        case .oneDNN(let algorithm):
            OneDNNConvolution.backward(g, gradOutput: gradOutput, input: input, weight: weight, gradInput: gradInput,
                                       gradWeight: gradWeight, gradBias: gradBias, algorithm: algorithm,
                                       blockedInput: true, blockedOutput: blockedOutput, gradAddend: gradAddend)
        case .winograd:
            precondition(!(blockedOutput && gradAddend != nil), "BlockedConvolution: an addend needs an NCHW output")
            var converted: TensorStorage?
            if !blockedOutput {
                let blocked = TensorStorage(uninitializedCount: g.outputShape.reduce(1, *))
                if let gradAddend {
                    BlockedLayout.block(gradOutput, blocked.pointer, .init(output: g), sums: gradAddend)
                } else {
                    BlockedLayout.block(gradOutput, blocked.pointer, .init(output: g))
                }
                converted = blocked
            }
            let dy = converted.map { UnsafePointer($0.pointer) } ?? gradOutput
            if let gradInput {
                BlockedWinogradConvolution.backwardData(g, gradOutput: dy, weight: weight!, gradInput: gradInput)
            }
            if gradWeight != nil || gradBias != nil {
                let scratch = gradWeight == nil ? TensorStorage(uninitializedCount: g.weightShape.reduce(1, *)) : nil
                BlockedWinogradConvolution.backwardWeights(g, gradOutput: dy, input: input!,
                                                           gradWeight: gradWeight ?? scratch!.pointer, gradBias: gradBias)
                withExtendedLifetime(scratch) {}
            }
            withExtendedLifetime(converted) {}
        }
    }
}

extension BlockedLayout.Shape {
    /// The sizes of a convolution's input.
    init(input g: Conv2DGeometry) { self.init(batch: g.batch, channels: g.inChannels, pixels: g.height * g.width) }
    /// The sizes of a convolution's output.
    init(output g: Conv2DGeometry) {
        self.init(batch: g.batch, channels: g.outChannels, pixels: g.outputHeight * g.outputWidth)
    }
}
