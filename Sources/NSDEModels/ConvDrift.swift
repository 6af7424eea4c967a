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

    /// The three convolutions' time-channel maps at t = 1 (``NSDENN/ConcatConv2d/unitTimeMap(height:width:)``)
    /// for states of one shape: they depend on the weights only, so a solve computes them once.
    public struct UnitTimeMaps {
        /// `[1, C, H, W]` each.
        public let conv1: Tensor, conv2: Tensor, conv3: Tensor
    }

    /// The time maps of the three convolutions at t = 1 for states of NCHW shape `shape`
    /// (differentiable in the weights).
    public func unitTimeMaps(shape: [Int]) -> UnitTimeMaps {
        precondition(shape.count == 4, "ConvDrift.unitTimeMaps: expected a state shape [N, C, H, W], got \(shape)")
        let (h, w) = (shape[2], shape[3])
        return UnitTimeMaps(conv1: conv1.unitTimeMap(height: h, width: w), conv2: conv2.unitTimeMap(height: h, width: w),
                            conv3: conv3.unitTimeMap(height: h, width: w))
    }

    /// Whether ``blockedState(_:_:shape:timeMaps:)`` runs for states of NCHW shape `shape` on this
    /// processor: oneDNN keeps the three convolutions' inputs and outputs in `nChw16c` (AVX-512
    /// kernels, C a multiple of 16, whole GroupNorm groups in every 16 channels).
    public func supportsBlockedState(_ shape: [Int]) -> Bool {
        conv1.supportsBlocked(inputShape: shape, normalizedBy: norm1)
    }

    /// f(h, t) for a state `h` held in oneDNN's blocked layout `nChw16c` (`[N, C/16, H, W, 16]`, of
    /// NCHW shape `shape`; see ``NSDETensor/Tensor/blockedNChw16c()``), returned in that layout: the
    /// activations never leave it, the last GroupNorm reads the third convolution's output with its
    /// time map added as it reads. Check ``supportsBlockedState(_:)`` first. Agrees with
    /// ``callAsFunction(_:_:)`` to rounding (the first and last GroupNorms' statistics are summed in
    /// another order).
    ///
    /// `timeMaps`, when given, are ``unitTimeMaps(shape:)`` for `shape` (computed once per solve
    /// rather than once per evaluation; the same values).
    public func blockedState(_ t: Float, _ h: Tensor, shape: [Int], timeMaps: UnitTimeMaps? = nil) -> Tensor {
        precondition(supportsBlockedState(shape), "ConvDrift.blockedState: no nChw16c kernels for states of shape \(shape)")
        let (x1, map1) = conv1(t, normalizing: h, shape: shape, inputAddend: nil, with: norm1, blockedOutput: true,
                               unitTimeMap: timeMaps?.conv1)
        let (x2, map2) = conv2(t, normalizing: x1, shape: shape, inputAddend: map1, with: norm2, blockedOutput: true,
                               unitTimeMap: timeMaps?.conv2)
        let (x3, map3) = conv3(t, normalizing: x2, shape: shape, inputAddend: map2, with: norm3, blockedOutput: true,
                               unitTimeMap: timeMaps?.conv3)
        return x3.groupNorm(blockedInputShape: shape, groups: norm4.groups, gamma: norm4.weight.value, beta: norm4.bias.value,
                            eps: norm4.eps, inputAddend: map3)
    }
}
