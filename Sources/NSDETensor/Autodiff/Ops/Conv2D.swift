/// 2-D convolution `y = x ⋆ w + b`. Adjoint: dx = backward-data(dy, w), dw = backward-weights(dy, x),
/// db = Σ dy over batch and space. Tangent: conv is bilinear in (x, w), so
/// ẏ = ẋ ⋆ w + x ⋆ ẇ + ḃ.
struct Conv2DOp: DifferentiableOp {
    let input: Tensor
    let weight: Tensor
    let hasBias: Bool
    let stride: Int
    let padding: Int
    var name: String { "conv2d" }

    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let needBias = hasBias && needsGradient[2]
        let r = Convolution.backward(g, input: input, weight: weight, stride: stride, padding: padding,
                                     needInput: needsGradient[0], needWeight: needsGradient[1], needBias: needBias)
        return hasBias ? [r.input, r.weight, r.bias] : [r.input, r.weight]
    }

    func jvp(_ t: [Tensor?]) -> Tensor? {
        let tx = t[0], tw = t[1], tb = hasBias ? t[2] : nil
        // The bias tangent rides along as the bias of one of the convolutions.
        let fromInput = tx.map {
            Convolution.forward($0, weight: weight, bias: tw == nil ? tb : nil, stride: stride, padding: padding)
        }
        let fromWeight = tw.map { Convolution.forward(input, weight: $0, bias: tb, stride: stride, padding: padding) }
        switch (fromInput, fromWeight) {
        case let (a?, b?): return a + b
        case let (a?, nil): return a
        case let (nil, b?): return b
        case (nil, nil):
            guard let tb else { return nil }
            let geometry = Conv2DGeometry(inputShape: input.shape, weightShape: weight.shape, stride: stride, padding: padding)
            return Conv2DOp.broadcastChannels(tb, to: geometry.outputShape)
        }
    }

    /// `out[n, o, h, w] = v[o]`.
    static func broadcastChannels(_ v: Tensor, to shape: [Int]) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let spatial = shape[2] * shape[3]
        for n in 0..<shape[0] {
            for o in 0..<shape[1] {
                (out.storage.pointer + (n * shape[1] + o) * spatial).update(repeating: v.storage.pointer[o], count: spatial)
            }
        }
        return out
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as in PyTorch's `conv2d`).
    ///
    /// - Parameters:
    ///   - weight: `[O, C, kh, kw]`, where `C` is this tensor's channel count.
    ///   - bias: `[O]`, added to every output position of its channel.
    ///   - stride: step between output positions, along both spatial axes.
    ///   - padding: zeros added on each side of both spatial axes.
    /// - Returns: `[N, O, Ho, Wo]` with `Ho = (H + 2·padding − kh) / stride + 1` (likewise `Wo`),
    ///   for this tensor of shape `[N, C, H, W]`.
    ///
    /// Differentiable in all arguments, in reverse mode (only the gradients the graph needs are
    /// computed) and forward mode.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
        let x = detached(), w = weight.detached()
        let value = Convolution.forward(x, weight: w, bias: bias?.detached(), stride: stride, padding: padding)
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return Tensor.record(value, inputs: inputs) {
            Conv2DOp(input: x, weight: w, hasBias: bias != nil, stride: stride, padding: padding)
        }
    }
}
