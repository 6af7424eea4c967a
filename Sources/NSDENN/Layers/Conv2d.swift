import NSDETensor

/// 2-D convolution over NCHW input with square kernels, stride and zero padding.
///
/// Parameters: `weight` `[out, in, k, k]` (PyTorch OIHW layout), `bias` `[out]`.
public final class Conv2d: Module, Layer {
    /// `[outChannels, inChannels, kernelSize, kernelSize]`.
    public let weight: Parameter
    /// `[outChannels]`, or `nil` without bias.
    public let bias: Parameter?
    /// Step between windows, in pixels.
    public let stride: Int
    /// Zeros added on each border, in pixels.
    public let padding: Int

    /// A layer with PyTorch's default initialisation drawn from ``Initializer/generator``.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
                     "Conv2d: invalid configuration in \(inChannels) out \(outChannels) k \(kernelSize) stride \(stride) pad \(padding)")
        let fanIn = inChannels * kernelSize * kernelSize
        weight = Parameter(Initializer.kaimingUniform([outChannels, inChannels, kernelSize, kernelSize], fanIn: fanIn))
        self.bias = bias ? Parameter(Initializer.biasUniform(outChannels, fanIn: fanIn)) : nil
        self.stride = stride
        self.padding = padding
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == weight.shape[1],
                     "Conv2d: expected input [N, \(weight.shape[1]), H, W], got \(x.shape)")
        return x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
    }
}

/// The paper's time-dependent convolution: appends one constant channel holding `t` to the
/// input and applies a `(C + 1) → out` convolution (Chen et al. 2018; Liu et al. 2019, Fig. 2).
///
/// The time channel comes first, as in the reference PyTorch code, so `weight[:, 0]` acts on t
/// and a PyTorch re-implementation loads the same `state_dict`.
public final class ConcatConv2d: Module {
    /// The convolution over `[t, x]`: weight `[out, in + 1, k, k]`.
    public let conv: Conv2d

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int = 3, stride: Int = 1, padding: Int = 1, bias: Bool = true) {
        conv = Conv2d(inChannels + 1, outChannels, kernelSize: kernelSize, stride: stride, padding: padding, bias: bias)
        super.init()
    }

    /// Applies the layer at time `t` to `x` of shape `[N, in, H, W]`.
    ///
    /// Computed without materialising the concatenation: because the time channel is constant,
    /// conv([t, x], W) = conv(x, W[:, 1:]) + t · conv(1, W[:, :1]), where the second term is one
    /// `[1, out, H', W']` map (it varies only near the zero-padded border) broadcast over the batch.
    public func callAsFunction(_ t: Float, _ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == conv.weight.shape[1] - 1,
                     "ConcatConv2d: expected [N, \(conv.weight.shape[1] - 1), H, W], got \(x.shape)")
        let w = conv.weight.value
        let y = x.conv2d(weight: w.slice(axis: 1, 1..<w.shape[1]), bias: conv.bias?.value,
                         stride: conv.stride, padding: conv.padding)
        return y + timeMap(t, weight: w, height: x.shape[2], width: x.shape[3])
    }

    /// `self(t, norm.withReLU(x))`, computed as one op
    /// (``Tensor/groupNormReLUConv2d(groups:gamma:beta:eps:weight:bias:stride:padding:adding:)``, the
    /// time channel's map as its addend) where oneDNN lets the normalised activations stay in its
    /// own layout; the same values either way.
    public func callAsFunction(_ t: Float, normalizing x: Tensor, with norm: GroupNorm) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == conv.weight.shape[1] - 1 && x.shape[1] == norm.channels,
                     "ConcatConv2d: expected [N, \(conv.weight.shape[1] - 1), H, W] normalised over \(norm.channels) channels, got \(x.shape)")
        let w = conv.weight.value
        return x.groupNormReLUConv2d(groups: norm.groups, gamma: norm.weight.value, beta: norm.bias.value, eps: norm.eps,
                                     weight: w.slice(axis: 1, 1..<w.shape[1]), bias: conv.bias?.value,
                                     stride: conv.stride, padding: conv.padding,
                                     adding: timeMap(t, weight: w, height: x.shape[2], width: x.shape[3]))
    }

    /// Whether ``callAsFunction(_:normalizing:shape:inputAddend:with:blockedOutput:)`` can keep
    /// this layer's activations in oneDNN's blocked layout for an input of NCHW shape `shape`
    /// (see ``Tensor/supportsBlockedGroupNormReLUConv2d(inputShape:groups:weightShape:stride:padding:)``).
    public func supportsBlocked(inputShape shape: [Int], normalizedBy norm: GroupNorm) -> Bool {
        let w = conv.weight.value.shape
        return shape.count == 4 && shape[1] == norm.channels
            && Tensor.supportsBlockedGroupNormReLUConv2d(inputShape: shape, groups: norm.groups,
                                                         weightShape: [w[0], w[1] - 1, w[2], w[3]],
                                                         stride: conv.stride, padding: conv.padding)
    }

    /// `self(t, norm.withReLU(x + inputAddend))` for chains of such layers that keep their
    /// activations in oneDNN's blocked layout `nChw16c` (check ``supportsBlocked(inputShape:normalizedBy:)``):
    /// `x` is NCHW of `shape` or the blocked output of the previous layer (`[N, C/16, H, W, 16]`),
    /// `inputAddend` (`[1, C, H, W]`) that layer's time map. With `blockedOutput`, returns the
    /// convolution's output in `nChw16c` without this layer's time map, and that map (to pass on as
    /// the next layer's `inputAddend`); otherwise the NCHW output with the map added, and no map.
    /// Agrees with the NCHW form to rounding.
    ///
    /// `unitTimeMap`, when given, is ``unitTimeMap(height:width:)`` for this input size (computed
    /// once for many calls, for example once per solve); the time map is then `unitTimeMap · t`,
    /// the same values.
    public func callAsFunction(_ t: Float, normalizing x: Tensor, shape: [Int], inputAddend: Tensor?, with norm: GroupNorm,
                               blockedOutput: Bool, unitTimeMap: Tensor? = nil) -> (output: Tensor, timeMap: Tensor?) {
        let w = conv.weight.value
        let map = unitTimeMap.map { $0 * t } ?? timeMap(t, weight: w, height: shape[2], width: shape[3])
        let y = x.groupNormReLUConv2d(blockedInputShape: shape, groups: norm.groups, gamma: norm.weight.value,
                                      beta: norm.bias.value, eps: norm.eps, weight: w.slice(axis: 1, 1..<w.shape[1]),
                                      bias: conv.bias?.value, stride: conv.stride, padding: conv.padding,
                                      adding: blockedOutput ? nil : map, inputAddend: inputAddend, blockedOutput: blockedOutput)
        return blockedOutput ? (y, map) : (y, nil)
    }

    /// conv(1, W[:, :1]): the time channel's contribution at t = 1, `[1, out, H', W']`, for inputs of
    /// `height` x `width` pixels. The contribution at t is this map times t (which is how the layer
    /// computes it, so the values are the same); differentiable in the weight.
    public func unitTimeMap(height: Int, width: Int) -> Tensor {
        let ones = Tensor(repeating: 1, shape: [1, 1, height, width])
        let w = conv.weight.value
        return ones.conv2d(weight: w.slice(axis: 1, 0..<1), stride: conv.stride, padding: conv.padding)
    }

    /// t · conv(1, W[:, :1]): the time channel's contribution, `[1, out, H', W']`.
    private func timeMap(_ t: Float, weight w: Tensor, height: Int, width: Int) -> Tensor {
        unitTimeMap(height: height, width: width) * t
    }

    /// The reference definition: concatenate the time channel, then convolve (used by tests).
    public func concatenatingForward(_ t: Float, _ x: Tensor) -> Tensor {
        let tt = Tensor(repeating: t, shape: [x.shape[0], 1, x.shape[2], x.shape[3]])
        return conv(Tensor.concat([tt, x], axis: 1))
    }
}
