import NSDENN
import NSDETensor

/// The paper's drift network f(h, t; w) on `channels` feature maps (Liu et al. 2019, Fig. 2):
///
/// `GN → ReLU → ConcatConv → GN → ReLU → ConcatConv → GN → ReLU → ConcatConv → GN`, where
/// `GN = GroupNorm(G, C)` with the paper's G = min(32, C) unless given, and each `ConcatConv` appends the time channel and applies a
/// 3x3 convolution with padding 1, so the output has the input's shape `[N, C, H, W]`.
public final class ConvDrift: Module {
    public let norm1: GroupNorm, conv1: ConcatConv2d
    public let norm2: GroupNorm, conv2: ConcatConv2d
    public let norm3: GroupNorm, conv3: ConcatConv2d
    public let norm4: GroupNorm

    /// - Parameters:
    ///   - channels: C, the feature maps of h.
    ///   - groups: G of every GroupNorm (`nil`: the paper's min(32, C)); must divide C.
    public init(channels: Int, groups: Int? = nil) {
        let groups = groups ?? PaperClassifier.defaultGroupNormGroups(channels: channels)
        precondition(groups >= 1 && channels % groups == 0, "ConvDrift: \(groups) groups do not divide \(channels) channels")
        norm1 = GroupNorm(groups: groups, channels: channels); conv1 = ConcatConv2d(channels, channels)
        norm2 = GroupNorm(groups: groups, channels: channels); conv2 = ConcatConv2d(channels, channels)
        norm3 = GroupNorm(groups: groups, channels: channels); conv3 = ConcatConv2d(channels, channels)
        norm4 = GroupNorm(groups: groups, channels: channels)
        super.init()
    }

    /// f(h, t) for `h` of shape `[N, C, H, W]`.
    public func callAsFunction(_ t: Float, _ h: Tensor) -> Tensor {
        if conv1.supportsBlocked(inputShape: h.shape, normalizedBy: norm1) {
            // The activations stay in oneDNN's blocked layout from the first convolution's output
            // to the last one's input; each time map rides along as the next layer's input addend.
            // (The three layers have the same geometry and groups, so one check covers them.)
            let shape = h.shape
            let (x1, map1) = conv1(t, normalizing: h, shape: shape, inputAddend: nil, with: norm1, blockedOutput: true)
            let (x2, map2) = conv2(t, normalizing: x1, shape: shape, inputAddend: map1, with: norm2, blockedOutput: true)
            let (x3, _) = conv3(t, normalizing: x2, shape: shape, inputAddend: map2, with: norm3, blockedOutput: false)
            return norm4(x3)
        }
        // Each GN → ReLU → conv as one op where oneDNN allows (the same values as the three ops).
        var x = conv1(t, normalizing: h, with: norm1)
        x = conv2(t, normalizing: x, with: norm2)
        x = conv3(t, normalizing: x, with: norm3)
        return norm4(x)
    }
}
