/// `conv2d(relu(groupNorm(x)))` as one op, for the processors and shapes where the convolution
/// takes its activations in `nChw16c` (oneDNN's AVX-512 kernels, or the library's Winograd
/// F(2x2, 3x3) kernels, ``BlockedWinogradConvolution``, for 16 to 63 channels): the normalisation writes its output in that layout and
/// the backward pass reads the input gradient in it, so the three layout conversions of the
/// normalised activations (forward source, input gradient, weight gradient's source) disappear.
///
/// With an NCHW input and output, the values are those of ``Tensor/groupNormReLU(groups:gamma:beta:eps:)``
/// followed by ``Tensor/conv2d(weight:bias:stride:padding:)`` (and the broadcast addition of the
/// addend), bit for bit (tests compare them); the op keeps the same tensors that pair keeps (x, the
/// statistics and the activations, once). The addend rides on the conversion of the output out
/// of `nChw16c`, its gradient (the batch sum) on the conversion of the output gradient into it.
///
/// Chained, the op also takes its input and gives its output in `nChw16c` (`[N, C/16, H, W, 16]`
/// tensors), so that consecutive blocks (as in the paper's drift) convert nothing in between; a
/// blocked input may carry an input addend (`[1, C, H, W]`, broadcast over the batch: the previous
/// layer's time map) that the normalisation adds as it reads. The normalisation's statistics then
/// sum in another order (lane by lane), so the values agree with the NCHW composition to rounding.
struct GroupNormReLUConv2DOp: DifferentiableOp {
    /// The input: NCHW, or `[N, C/16, H, W, 16]` in `nChw16c` (then without the input addend).
    let x: Tensor
    /// `beta` as in the forward pass: the backward pass recomputes the ReLU's mask from x.
    let gamma: Tensor, beta: Tensor, weight: Tensor
    let hasBias: Bool
    /// Whether a `[1, O, Ho, Wo]` addend (added to the NCHW output) is an input.
    let hasAddend: Bool
    /// The `[1, C, H, W]` map added to every sample of a blocked input, kept as its `nChw16c` block
    /// only (the form the backward pass reads; one copy per layer and evaluation).
    let blockedInputAddend: TensorStorage?
    /// Whether the output (and so its gradient) is in `nChw16c`.
    let blockedOutput: Bool
    let groups: Int
    let stats: GroupNormKernel.Statistics
    /// relu(groupNorm(x)) in `nChw16c`.
    let activations: TensorStorage
    let geometry: Conv2DGeometry
    let algorithm: BlockedConvolution
    var name: String { "groupNormReLUConv2d" }

    var blockedInput: Bool { x.rank == 5 }
    /// The index of the addend among the inputs.
    var addendIndex: Int { hasBias ? 5 : 4 }
    /// The index of the input addend among the inputs.
    var inputAddendIndex: Int { 4 + (hasBias ? 1 : 0) + (hasAddend ? 1 : 0) }
    /// Whether the input addend is an input.
    var hasInputAddend: Bool { blockedInputAddend != nil }

    /// A blocked input's gradient is added into the gradient it has accumulated so far (a state
    /// read by this layer and by a solver's update), inside the normalisation's backward pass.
    var acceptsAccumulators: Bool { blockedInput && !hasInputAddend }

    func vjp(_ g: Tensor, needsGradient: [Bool], accumulators: [Tensor?]) -> [Tensor?] {
        vjp(g, needsGradient: needsGradient, inputAccumulator: accumulators[0])
    }

    /// Inputs: x, γ, β, weight, (with a bias) bias, (with an addend) addend and (with an input
    /// addend) the input addend.
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        vjp(g, needsGradient: needsGradient, inputAccumulator: nil)
    }

    /// The gradients, the input's added into `inputAccumulator` when given.
    private func vjp(_ g: Tensor, needsGradient: [Bool], inputAccumulator: Tensor?) -> [Tensor?] {
        let needsInputAddend = hasInputAddend && needsGradient[inputAddendIndex]
        let needActivations = needsGradient[0] || needsGradient[1] || needsGradient[2] || needsInputAddend
        let dActivations = needActivations ? TensorStorage(uninitializedCount: x.count) : nil
        let dw = needsGradient[3] ? Tensor(uninitializedShape: weight.shape) : nil
        let db = hasBias && needsGradient[4] ? Tensor(uninitializedShape: [geometry.outChannels]) : nil
        let da = hasAddend && needsGradient[addendIndex]
            ? Tensor(uninitializedShape: [1, geometry.outChannels, geometry.outputHeight, geometry.outputWidth]) : nil
        algorithm.backward(geometry, gradOutput: g.storage.pointer, input: activations.pointer, weight: weight.storage.pointer,
                           gradInput: dActivations?.pointer, gradWeight: dw?.storage.pointer, gradBias: db?.storage.pointer,
                           blockedOutput: blockedOutput, gradAddend: da?.storage.pointer)
        withExtendedLifetime((g, activations, weight)) {}
        var grads: [Tensor?] = [nil, nil, nil, dw]
        var dInputAddend: Tensor?
        if let dActivations {
            let needInput = needsGradient[0] || needsInputAddend
            let accumulator = needsGradient[0] && inputAccumulator?.shape == x.shape ? inputAccumulator : nil
            let (dx, dgamma, dbeta) = GroupNormKernel.backwardBlocked(dActivations, x: x, adding: blockedInputAddend,
                                                                         groups: groups, gamma: gamma, beta: beta,
                                                                         stats: stats, needInput: needInput,
                                                                         inputAccumulator: accumulator)
            grads[0] = needsGradient[0] ? dx : nil
            grads[1] = needsGradient[1] ? dgamma : nil
            grads[2] = needsGradient[2] ? dbeta : nil
            if needsInputAddend, let dx { dInputAddend = BlockedLayout.batchSum(dx) }
        }
        if hasBias { grads.append(db) }
        if hasAddend { grads.append(da) }
        if hasInputAddend { grads.append(dInputAddend) }
        return grads
    }

    /// The tangent through the two ops it fuses, computed in NCHW (blocked tensors converted).
    func jvp(_ t: [Tensor?]) -> Tensor? {
        let shape = geometry.inputShape
        let y = BlockedLayout.unblocked(Tensor(shape: BlockedLayout.blockedShape(shape), storage: activations))
        var tx = t[0]
        if blockedInput {
            tx = tx.map { BlockedLayout.unblocked($0) }
            if hasInputAddend, let ta = t[inputAddendIndex] {
                let broadcast = ta.broadcast(to: shape)
                tx = tx.map { $0 + broadcast } ?? broadcast
            }
        }
        let xNCHW = blockedInput ? BlockedLayout.unblocked(x, adding: BlockedLayout.unblockedMap(blockedInputAddend, of: x)) : x
        let norm = GroupNormOp(x: xNCHW, gamma: gamma, groups: groups, stats: stats, reluOutput: y)
        let ty = norm.jvp([tx, t[1], t[2]])
        let conv = Conv2DOp(input: y, weight: weight, hasBias: hasBias, stride: geometry.stride, padding: geometry.padding)
        var out = conv.jvp([ty, t[3]] + (hasBias ? [t[4]] : []))
        if hasAddend, let ta = t[addendIndex] {
            let broadcast = ta.broadcast(to: geometry.outputShape)
            out = out.map { $0 + broadcast } ?? broadcast
        }
        return blockedOutput ? out.map { BlockedLayout.blocked($0) } : out
    }
}

extension Tensor {
    /// `relu(groupNorm(self)) ⋆ weight + bias`: ``groupNormReLU(groups:gamma:beta:eps:)`` followed by
    /// ``conv2d(weight:bias:stride:padding:)``, with the same values, computed as one op where
    /// the convolution for the shape takes its activations in `nChw16c` (AVX-512 processors: oneDNN's
    /// kernels or ``ConvolutionBackend/blockedWinograd``; channel counts that are multiples of 16,
    /// whole groups in every 16 channels) so
    /// that no layout conversion of the normalised activations is needed; otherwise as the two ops.
    ///
    /// - Parameters: `self` `[N, C, H, W]`; `gamma`, `beta` `[C]`; `weight` `[O, C, kh, kw]`;
    ///   `bias` `[O]`; `addend` `[1, O, Ho, Wo]`, added to every sample (for example the time
    ///   channel's contribution in ``ConcatConv2d``-style layers). Returns `[N, O, Ho, Wo]`.
    public func groupNormReLUConv2d(groups: Int, gamma: Tensor, beta: Tensor, eps: Float, weight: Tensor,
                                    bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, adding addend: Tensor? = nil) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1],
                     "groupNormReLUConv2d: expected input [N, C, H, W] and weight [O, C, kh, kw], got \(shape) and \(weight.shape)")
        let geometry = Conv2DGeometry(inputShape: shape, weightShape: weight.shape, stride: stride, padding: padding)
        checkNormalizedConvolution(geometry, gamma: gamma, beta: beta, bias: bias, addend: addend)
        guard GroupNormKernel.supportsBlocked(shape, groups: groups), let algorithm = Convolution.blockedAlgorithm(geometry) else {
            let y = groupNormReLU(groups: groups, gamma: gamma, beta: beta, eps: eps)
                .conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
            return addend.map { y + $0 } ?? y
        }
        return recordNormalizedConvolution(geometry, algorithm: algorithm, groups: groups, gamma: gamma, beta: beta, eps: eps,
                                           weight: weight, bias: bias, addend: addend, inputAddend: nil, blockedOutput: false)
    }

    /// Whether ``groupNormReLUConv2d(blockedInputShape:groups:gamma:beta:eps:weight:bias:stride:padding:adding:inputAddend:blockedOutput:)``
    /// runs for an NCHW input of shape `inputShape` (`[N, C, H, W]`) and `weightShape`
    /// (`[O, C, kh, kw]`) on this processor: the convolution's kernels (oneDNN's, or the blocked
    /// Winograd ones) keep both its input and its output in `nChw16c` (AVX-512, C and O multiples of 16, whole groups
    /// in every 16 channels). Where it does not, use the NCHW form.
    public static func supportsBlockedGroupNormReLUConv2d(inputShape: [Int], groups: Int, weightShape: [Int], stride: Int = 1,
                                                          padding: Int = 0) -> Bool {
        guard inputShape.count == 4, weightShape.count == 4, weightShape[1] == inputShape[1],
              GroupNormKernel.supportsBlocked(inputShape, groups: groups) else { return false }
        let geometry = Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, stride: stride, padding: padding)
        guard geometry.outputHeight > 0, geometry.outputWidth > 0,
              let algorithm = Convolution.blockedAlgorithm(geometry) else { return false }
        return algorithm.acceptsBlockedOutput(geometry)
    }

    /// ``groupNormReLUConv2d(groups:gamma:beta:eps:weight:bias:stride:padding:adding:)`` for chains
    /// of such layers that keep their activations in oneDNN's blocked layout `nChw16c` between
    /// them: `self` is NCHW `[N, C, H, W]` or `[N, C/16, H, W, 16]` in `nChw16c` (the blocked output
    /// of the previous layer), `inputAddend` (`[1, C, H, W]`, NCHW; blocked inputs only) is added
    /// to every sample before the normalisation, and with `blockedOutput` the result is
    /// `[N, O/16, Ho, Wo, 16]` in `nChw16c` (then without `addend`: pass it to the next layer as its
    /// `inputAddend`). Check ``supportsBlockedGroupNormReLUConv2d(inputShape:groups:weightShape:stride:padding:)``
    /// first. The values agree with the NCHW composition to rounding (the statistics of a blocked
    /// input are summed in another order).
    public func groupNormReLUConv2d(blockedInputShape shape: [Int], groups: Int, gamma: Tensor, beta: Tensor, eps: Float,
                                    weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                                    adding addend: Tensor? = nil, inputAddend: Tensor? = nil,
                                    blockedOutput: Bool) -> Tensor {
        precondition(Tensor.supportsBlockedGroupNormReLUConv2d(inputShape: shape, groups: groups, weightShape: weight.shape,
                                                               stride: stride, padding: padding),
                     "groupNormReLUConv2d: no nChw16c kernels for input \(shape), \(groups) groups, weight \(weight.shape): check supportsBlockedGroupNormReLUConv2d")
        precondition(self.shape == shape || self.shape == BlockedLayout.blockedShape(shape),
                     "groupNormReLUConv2d: expected input \(shape) or \(BlockedLayout.blockedShape(shape)) (nChw16c), got \(self.shape)")
        precondition(!(blockedOutput && addend != nil), "groupNormReLUConv2d: a blocked output takes no addend (pass it on as the next inputAddend)")
        let geometry = Conv2DGeometry(inputShape: shape, weightShape: weight.shape, stride: stride, padding: padding)
        checkNormalizedConvolution(geometry, gamma: gamma, beta: beta, bias: bias, addend: addend)
        if let inputAddend {
            precondition(inputAddend.shape == [1] + shape.dropFirst(),
                         "groupNormReLUConv2d: inputAddend must have shape \([1] + shape.dropFirst()), got \(inputAddend.shape)")
        }
        let algorithm = Convolution.blockedAlgorithm(geometry)!
        if rank == 4, let inputAddend {
            // An NCHW input takes its addend as a broadcast addition first.
            return (self + inputAddend).recordNormalizedConvolution(geometry, algorithm: algorithm, groups: groups, gamma: gamma,
                                                                    beta: beta, eps: eps, weight: weight, bias: bias,
                                                                    addend: addend, inputAddend: nil, blockedOutput: blockedOutput)
        }
        return recordNormalizedConvolution(geometry, algorithm: algorithm, groups: groups, gamma: gamma, beta: beta, eps: eps,
                                           weight: weight, bias: bias, addend: addend, inputAddend: inputAddend,
                                           blockedOutput: blockedOutput)
    }

    private func checkNormalizedConvolution(_ geometry: Conv2DGeometry, gamma: Tensor, beta: Tensor, bias: Tensor?,
                                            addend: Tensor?) {
        let c = geometry.inChannels
        precondition(gamma.shape == [c] && beta.shape == [c],
                     "groupNormReLUConv2d: gamma and beta must have shape [\(c)], got \(gamma.shape) and \(beta.shape)")
        if let bias {
            precondition(bias.shape == [geometry.outChannels], "conv2d: bias must have shape [\(geometry.outChannels)], got \(bias.shape)")
        }
        let addendShape = [1, geometry.outChannels, geometry.outputHeight, geometry.outputWidth]
        if let addend {
            precondition(addend.shape == addendShape, "groupNormReLUConv2d: addend must have shape \(addendShape), got \(addend.shape)")
        }
    }

    /// Runs the fused op (input NCHW or, at rank 5, in nChw16c with the optional input addend) and
    /// records it.
    private func recordNormalizedConvolution(_ geometry: Conv2DGeometry, algorithm: BlockedConvolution, groups: Int,
                                             gamma: Tensor, beta: Tensor, eps: Float, weight: Tensor, bias: Tensor?,
                                             addend: Tensor?, inputAddend: Tensor?, blockedOutput: Bool) -> Tensor {
        let x = detached(), g = gamma.detached(), b = beta.detached(), w = weight.detached()
        let blockedIA = inputAddend.map { BlockedLayout.blocked($0.detached()).storage }
        let (activations, stats) = GroupNormKernel.forwardBlocked(x, adding: blockedIA, groups: groups, gamma: g, beta: b,
                                                                      eps: eps)
        let out = Tensor(uninitializedShape: blockedOutput ? BlockedLayout.blockedShape(geometry.outputShape) : geometry.outputShape)
        let a = addend?.detached()
        algorithm.forward(geometry, input: activations.pointer, weight: w.storage.pointer, bias: bias?.storage.pointer,
                          output: out.storage.pointer, blockedOutput: blockedOutput, addend: a?.storage.pointer)
        withExtendedLifetime((activations, w, bias, a)) {}
        let inputs = [self, gamma, beta, weight] + (bias.map { [$0] } ?? []) + (addend.map { [$0] } ?? [])
            + (inputAddend.map { [$0] } ?? [])
        return Tensor.record(out, inputs: inputs) {
            GroupNormReLUConv2DOp(x: x, gamma: g, beta: b, weight: w, hasBias: bias != nil, hasAddend: addend != nil,
                                  blockedInputAddend: blockedIA, blockedOutput: blockedOutput, groups: groups,
                                  stats: stats, activations: activations, geometry: geometry, algorithm: algorithm)
        }
    }
}
