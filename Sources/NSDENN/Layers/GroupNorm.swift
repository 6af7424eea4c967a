import NSDETensor

/// Group normalisation over `groups` groups of channels, with per-channel scale and shift
/// (`weight` initialised to 1, `bias` to 0, as in PyTorch's `nn.GroupNorm`).
public final class GroupNorm: Module, Layer {
    /// Number of channel groups.
    public let groups: Int
    /// Number of channels.
    public let channels: Int
    /// Added to the variance for numerical stability.
    public let eps: Float
    /// Per-channel scale γ, `[channels]`.
    public let weight: Parameter
    /// Per-channel shift β, `[channels]`.
    public let bias: Parameter

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        precondition(groups > 0 && channels % groups == 0, "GroupNorm: \(channels) channels are not divisible into \(groups) groups")
        self.groups = groups
        self.channels = channels
        self.eps = eps
        weight = Parameter(Tensor(repeating: 1, shape: [channels]))
        bias = Parameter(Tensor(repeating: 0, shape: [channels]))
        super.init()
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == channels, "GroupNorm: expected [N, \(channels), ...], got \(x.shape)")
        return x.groupNorm(groups: groups, gamma: weight.value, beta: bias.value, eps: eps)
    }

    /// `relu(self(x))` fused into one pass (forward and backward).
    public func withReLU(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == channels, "GroupNorm: expected [N, \(channels), ...], got \(x.shape)")
        return x.groupNormReLU(groups: groups, gamma: weight.value, beta: bias.value, eps: eps)
    }
}
