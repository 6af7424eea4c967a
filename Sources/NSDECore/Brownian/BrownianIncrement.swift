import NSDETensor

/// The Brownian input of one solver step over [s, t]: the increment W(s, t) and, when the
/// Brownian motion provides it, the space-time Lévy area H(s, t).
///
/// W(s, t) ~ N(0, (t − s)·I). H(s, t) = (1/(t − s)) ∫ₛᵗ (W(s, r) − ((r − s)/(t − s)) W(s, t)) dr
/// ~ N(0, ((t − s)/12)·I), independent of W(s, t); order-1.5 additive-noise solvers (``SRA1``)
/// need it. Both have the Brownian motion's shape.
public struct BrownianIncrement {
    /// W(t) − W(s), shape of the Brownian motion.
    public let w: Tensor
    /// The space-time Lévy area H(s, t), or `nil` when the source does not provide it.
    public let h: Tensor?

    /// Creates an increment from its parts.
    public init(w: Tensor, h: Tensor? = nil) {
        self.w = w
        self.h = h
    }
}

/// A source of Brownian increments W(s, t) of a fixed shape, queried by time interval.
///
/// Conformers are deterministic functions of their seed: the same query returns the same
/// values, so a path never needs to be stored.
public protocol BrownianMotion {
    /// The shape of W(t), e.g. `[batch, state]`.
    var shape: [Int] { get }
    /// Whether ``increment(from:to:)`` fills ``BrownianIncrement/h``.
    var providesLevyArea: Bool { get }
    /// Whether `t` is a time this source can be queried at (a fixed grid answers only on its points).
    func canQuery(at t: Double) -> Bool
    /// W(t) − W(s) (and H(s, t) when provided) for s < t.
    func increment(from s: Double, to t: Double) -> BrownianIncrement
}
