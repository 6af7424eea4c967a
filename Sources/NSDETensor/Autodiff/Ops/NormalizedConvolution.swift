/// `conv2d(relu(groupNorm(x)))` as one op, for the processors and shapes where oneDNN keeps the
/// convolution's activations in `nChw16c`: the normalisation writes its output in that layout and
/// the backward pass reads the input gradient in it, so the three layout conversions of the
/// normalised activations (forward source, input gradient, weight gradient's source) disappear.
/// The values are those of ``Tensor/groupNormReLU(groups:gamma:beta:eps:)`` followed by
/// ``Tensor/conv2d(weight:bias:stride:padding:)`` (and the broadcast addition of the addend),
/// bit for bit (tests compare them); the op keeps the same tensors that pair keeps (x, the
/// statistics and the activations, once). The addend rides on the conversion of the output out
/// of `nChw16c`, its gradient (the batch sum) on the conversion of the output gradient into it.
struct GroupNormReLUConv2DOp: DifferentiableOp {
    /// `beta` as in the forward pass: the backward pass recomputes the ReLU's mask from x.
    let x: Tensor, gamma: Tensor, beta: Tensor, weight: Tensor
    let hasBias: Bool
    /// Whether a `[1, O, Ho, Wo]` addend is the last input.
    let hasAddend: Bool
    let groups: Int
    let stats: GroupNormKernel.Statistics
    /// relu(groupNorm(x)) in `nChw16c`.
    let activations: TensorStorage
    let geometry: Conv2DGeometry
    let algorithm: OneDNNConvolution.Algorithm
    var name: String { "groupNormReLUConv2d" }

    /// The index of the addend among the inputs.
    var addendIndex: Int { hasBias ? 5 : 4 }

    /// Inputs: x, γ, β, weight, (with a bias) bias and (with an addend) addend.
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let needActivations = needsGradient[0] || needsGradient[1] || needsGradient[2]
        let dActivations = needActivations ? TensorStorage(uninitializedCount: x.count) : nil
        let dw = needsGradient[3] ? Tensor(uninitializedShape: weight.shape) : nil
        let db = hasBias && needsGradient[4] ? Tensor(uninitializedShape: [geometry.outChannels]) : nil
        let da = hasAddend && needsGradient[addendIndex]
            ? Tensor(uninitializedShape: [1, geometry.outChannels, geometry.outputHeight, geometry.outputWidth]) : nil
        OneDNNConvolution.backward(geometry, gradOutput: g.storage.pointer, input: activations.pointer,
                                   weight: weight.storage.pointer, gradInput: dActivations?.pointer,
                                   gradWeight: dw?.storage.pointer, gradBias: db?.storage.pointer, algorithm: algorithm,
                                   blockedInput: true, gradAddend: da?.storage.pointer)
        withExtendedLifetime((g, activations, weight)) {}
        var grads: [Tensor?] = [nil, nil, nil, dw]
        if let dActivations {
            let (dx, dgamma, dbeta) = GroupNormKernel.backwardReLUBlocked(dActivations, x: x, groups: groups, gamma: gamma,
                                                                         beta: beta, stats: stats, needInput: needsGradient[0])
            grads[0] = dx
            grads[1] = needsGradient[1] ? dgamma : nil
            grads[2] = needsGradient[2] ? dbeta : nil
        }
        if hasBias { grads.append(db) }
        if hasAddend { grads.append(da) }
        return grads
    }

    /// The tangent through the two ops it fuses (the activations converted back to NCHW).
    func jvp(_ t: [Tensor?]) -> Tensor? {
        let y = GroupNormReLUConv2DOp.unblocked(activations, shape: x.shape)
        let norm = GroupNormOp(x: x, gamma: gamma, groups: groups, stats: stats, reluOutput: y)
        let ty = norm.jvp([t[0], t[1], t[2]])
        let conv = Conv2DOp(input: y, weight: weight, hasBias: hasBias, stride: geometry.stride, padding: geometry.padding)
        let out = conv.jvp([ty, t[3]] + (hasBias ? [t[4]] : []))
        guard hasAddend, let ta = t[addendIndex] else { return out }
        let broadcast = ta.broadcast(to: geometry.outputShape)
        return out.map { $0 + broadcast } ?? broadcast
    }

    /// An `nChw16c` buffer as an NCHW tensor of `shape`.
    static func unblocked(_ blocked: TensorStorage, shape: [Int]) -> Tensor {
        let n = shape[0], c = shape[1], hw = shape[2] * shape[3], blocks = c / 16
        let out = Tensor(uninitializedShape: shape)
        let src = blocked.pointer, dst = out.storage.pointer
        for sample in 0..<n {
            for cb in 0..<blocks {
                let from = src + (sample * blocks + cb) * hw * 16
                for s in 0..<hw { for j in 0..<16 { dst[(sample * c + cb * 16 + j) * hw + s] = from[s * 16 + j] } }
            }
        }
        return out
    }
}

extension Tensor {
    /// `relu(groupNorm(self)) ⋆ weight + bias`: ``groupNormReLU(groups:gamma:beta:eps:)`` followed by
    /// ``conv2d(weight:bias:stride:padding:)``, with the same values, computed as one op where
    /// oneDNN's convolution for the shape keeps its activations in `nChw16c` (AVX-512
    /// processors, channel counts that are multiples of 16, whole groups in every 16 channels) so
    /// that no layout conversion of the normalised activations is needed; otherwise as the two ops.
    ///
    /// - Parameters: `self` `[N, C, H, W]`; `gamma`, `beta` `[C]`; `weight` `[O, C, kh, kw]`;
    ///   `bias` `[O]`; `addend` `[1, O, Ho, Wo]`, added to every sample (for example the time
    ///   channel's contribution in ``ConcatConv2d``-style layers). Returns `[N, O, Ho, Wo]`.
    public func groupNormReLUConv2d(groups: Int, gamma: Tensor, beta: Tensor, eps: Float, weight: Tensor,
                                    bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, adding addend: Tensor? = nil) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1],
                     "groupNormReLUConv2d: expected input [N, C, H, W] and weight [O, C, kh, kw], got \(shape) and \(weight.shape)")
        precondition(gamma.shape == [shape[1]] && beta.shape == [shape[1]],
                     "groupNormReLUConv2d: gamma and beta must have shape [\(shape[1])], got \(gamma.shape) and \(beta.shape)")
        let geometry = Conv2DGeometry(inputShape: shape, weightShape: weight.shape, stride: stride, padding: padding)
        let addendShape = [1, geometry.outChannels, geometry.outputHeight, geometry.outputWidth]
        if let addend {
            precondition(addend.shape == addendShape, "groupNormReLUConv2d: addend must have shape \(addendShape), got \(addend.shape)")
        }
        guard GroupNormKernel.supportsBlocked(shape, groups: groups), let algorithm = Convolution.blockedAlgorithm(geometry) else {
            let y = groupNormReLU(groups: groups, gamma: gamma, beta: beta, eps: eps)
                .conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
            return addend.map { y + $0 } ?? y
        }
        if let bias {
            precondition(bias.shape == [geometry.outChannels], "conv2d: bias must have shape [\(geometry.outChannels)], got \(bias.shape)")
        }
        let x = detached(), g = gamma.detached(), b = beta.detached(), w = weight.detached()
        let (activations, stats) = GroupNormKernel.forwardReLUBlocked(x, groups: groups, gamma: g, beta: b, eps: eps)
        let out = Tensor(uninitializedShape: geometry.outputShape)
        let a = addend?.detached()
        OneDNNConvolution.forward(geometry, input: activations.pointer, weight: w.storage.pointer, bias: bias?.storage.pointer,
                                  output: out.storage.pointer, algorithm: algorithm, blockedInput: true,
                                  addend: a?.storage.pointer)
        withExtendedLifetime((activations, w, bias, a)) {}
        let inputs = [self, gamma, beta, weight] + (bias.map { [$0] } ?? []) + (addend.map { [$0] } ?? [])
        return Tensor.record(out, inputs: inputs) {
            GroupNormReLUConv2DOp(x: x, gamma: g, beta: b, weight: w, hasBias: bias != nil, hasAddend: addend != nil,
                                  groups: groups, stats: stats, activations: activations, geometry: geometry,
                                  algorithm: algorithm)
        }
    }
}
