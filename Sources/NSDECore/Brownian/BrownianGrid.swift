import Foundation
import NSDETensor

/// Brownian increments on a fixed grid tₖ = t₀ + k·Δt, generated from the counter-based
/// Philox RNG, so step k's increment is regenerated from (seed, k) in any order without storing
/// the path.
///
/// ΔWₖ = W(tₖ, tₖ₊₁) ~ N(0, Δt·I) is `Tensor.randomNormal(shape, std: √Δt, seed: seed,
/// stream: 2·stream, offset: k·B)` with `B = Tensor.philoxBlocks(forNormalCount: count)`, and
/// the step's space-time Lévy area Hₖ ~ N(0, (Δt/12)·I) the same draw on stream `2·stream + 1`.
/// A query over several grid steps sums the increments, W(s, u) = Σ ΔWₖ, and combines the
/// areas exactly: for adjacent intervals of lengths h₁, h₂ with (W₁, H₁), (W₂, H₂),
/// (h₁ + h₂)·H = h₁H₁ + h₂H₂ + (h₂W₁ − h₁W₂)/2. So coarser solvers see the same path as finer ones
/// (used by the strong-convergence tests).
///
/// - Note: Queries must lie on the grid (within 10⁻⁶·Δt); ``canQuery(at:)`` says whether they do
///   and ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` checks it before the first step. Cost is one
///   normal draw per covered step (two with Lévy area).
public struct BrownianGrid: BrownianMotion {
    /// The shape of W(t).
    public let shape: [Int]
    /// The grid origin t₀ (model time units).
    public let t0: Double
    /// The grid spacing Δt > 0 (model time units).
    public let dt: Double
    /// The Philox key.
    public let seed: UInt64
    /// Selects an independent path for the same seed (uses Philox streams 2·stream and 2·stream + 1).
    public let stream: UInt64
    /// Whether queries also return the space-time Lévy area (costs a second draw per step).
    public let providesLevyArea: Bool
    /// When set, this path is rows `rows.range` (along axis 0) of the path of a whole batch of
    /// `rows.batch` samples: each sample gets the increments it gets in the whole batch (see
    /// ``BatchShard``). `nil`: the path of `shape` itself.
    public let rows: BatchRows?

    /// Creates a grid. Requires `dt > 0` (precondition; ``sdeint`` validates user input first).
    /// With `rows`, `shape[0]` must equal `rows.range.count`.
    public init(shape: [Int], t0: Double = 0, dt: Double, seed: UInt64, stream: UInt64 = 0, levyArea: Bool = false,
                rows: BatchRows? = nil) {
        precondition(dt > 0 && dt.isFinite, "BrownianGrid: dt must be positive and finite, got \(dt)")
        if let rows { precondition(shape.first == rows.range.count, "BrownianGrid: shape \(shape) does not hold \(rows)") }
        self.rows = rows
        self.shape = shape
        self.t0 = t0
        self.dt = dt
        self.seed = seed
        self.stream = stream
        self.providesLevyArea = levyArea
    }

    /// The grid index nearest to `t` (may be negative or past any end; the grid is unbounded).
    public func index(of t: Double) -> Int { Int(((t - t0) / dt).rounded()) }

    /// Whether `t` lies on the grid, within 10⁻⁶·Δt.
    public func canQuery(at t: Double) -> Bool {
        let k = (t - t0) / dt
        return Swift.abs(k - k.rounded()) <= 1e-6 && Swift.abs(k) < 1e15
    }

    /// The increment ΔWₖ = W(tₖ, tₖ₊₁) of grid step `k` ≥ 0, regenerated from (seed, k).
    public func stepIncrement(_ k: Int) -> Tensor {
        precondition(k >= 0, "BrownianGrid: negative step \(k)")
        return draw(k, std: Float(dt.squareRoot()), stream: 2 &* stream)
    }

    /// The Lévy area Hₖ of grid step `k` ≥ 0, ~ N(0, (Δt/12)·I), independent of ΔWₖ.
    public func stepLevyArea(_ k: Int) -> Tensor {
        precondition(k >= 0, "BrownianGrid: negative step \(k)")
        return draw(k, std: Float((dt / 12).squareRoot()), stream: 2 &* stream &+ 1)
    }

    /// Draw `k` of a Philox stream: the whole shape, or this path's rows of the batch's draw.
    private func draw(_ k: Int, std: Float, stream: UInt64) -> Tensor {
        Tensor.randomNormal(shape, std: std, seed: seed, stream: stream, drawIndex: UInt64(k), rows: rows)
    }

    /// W(t) − W(s) summed over the grid steps between `s` and `t` (both on the grid, s ≤ t,
    /// s ≥ t₀), with H(s, t) when ``providesLevyArea``.
    public func increment(from s: Double, to t: Double) -> BrownianIncrement {
        precondition(canQuery(at: s) && canQuery(at: t), "BrownianGrid: query [\(s), \(t)] is not on the grid t0 = \(t0), dt = \(dt)")
        let a = index(of: s), b = index(of: t)
        precondition(a >= 0 && b >= a, "BrownianGrid: query [\(s), \(t)] must satisfy t0 <= s <= t")
        if a == b { return BrownianIncrement(w: Tensor(repeating: 0, shape: shape), h: providesLevyArea ? Tensor(repeating: 0, shape: shape) : nil) }
        var w = stepIncrement(a)
        guard providesLevyArea else {
            for k in (a + 1)..<b { w = w + stepIncrement(k) }
            return BrownianIncrement(w: w)
        }
        // K = h·H accumulates as K = K₁ + K₂ + (h₂W₁ − h₁W₂)/2 (see the type's comment).
        var k = stepLevyArea(a) * Float(dt)
        var length = dt
        for j in (a + 1)..<b {
            let w2 = stepIncrement(j)
            let k2 = stepLevyArea(j) * Float(dt)
            k = k + k2 + (w * Float(dt / 2) - w2 * Float(length / 2))
            w = w + w2
            length += dt
        }
        return BrownianIncrement(w: w, h: k * Float(1 / length))
    }
}
