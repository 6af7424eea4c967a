import Foundation
import NSDETensor

/// A virtual Brownian tree on [t₀, t₁]: answers W(s, t), and optionally the space-time Lévy
/// area H(s, t), for arbitrary t₀ ≤ s < t ≤ t₁, consistently and without storing the path.
///
/// Each dyadic node [a, b] of length h carries its increment W and K = h·H (H the space-time
/// Lévy area, see ``BrownianIncrement``). The root has W ~ N(0, h·I), K ~ N(0, (h³/12)·I). A node
/// is split at a + h₁ (h₂ = h − h₁) by sampling the left half from its exact Gaussian law given
/// (W, K) (Brownian bridge with area), with two normal draws keyed by the node's heap index
/// (root 1, children 2n and 2n + 1) in the counter-based RNG:
///
/// - W₁ = (h₁/h)·W + (6h₁h₂/h³)·K + a·Z₁, a² = h₁h₂/h − 3h₁²h₂²/h³;
/// - K₁ = (h₁/h)³·K + b·Z₁ + c·Z₂, b = −h₁⁴h₂/(2h³a), c² = (h₁³/12)(1 − (h₁/h)³) − b²;
/// - W₂ = W − W₁, K₂ = K − K₁ − (h₂W₁ − h₁W₂)/2 (adjacent pieces combine as
///   K = K₁ + K₂ + (h₂W₁ − h₁W₂)/2).
///
/// A query at t descends from the root to depth ``maxDepth``, accumulating the pieces left of t,
/// stopping early when t is a node end; inside a leaf it splits the leaf at t with the leaf's own
/// draws. So W(t₀, t) and K(t₀, t) are deterministic functions of t, W(s, t) = W(t₀, t) − W(t₀, s),
/// W(s, u) = W(s, t) + W(t, u) up to float32 rounding, and the same query always returns the same
/// bits. The joint law is exact for points on the dyadic tree; two points inside one leaf (width
/// (t₁ − t₀)·2^−maxDepth) share the leaf's draws.
///
/// - Note: Cost: at most 2·`maxDepth` normal draws of the Brownian shape per new point; the last
///   few points are cached (thread-safe). Lévy area adds a few tensor operations per query.
public struct BrownianInterval: BrownianMotion {
    /// The shape of W(t).
    public let shape: [Int]
    /// Start of the domain (model time units).
    public let t0: Double
    /// End of the domain (model time units), > t₀.
    public let t1: Double
    /// The Philox key.
    public let seed: UInt64
    /// Selects an independent tree for the same seed (uses Philox streams 2·stream and 2·stream + 1).
    public let stream: UInt64
    /// Depth of the dyadic tree, 1...40 (default 24).
    public let maxDepth: Int
    /// Whether ``increment(from:to:)`` also returns the space-time Lévy area H(s, t).
    public let providesLevyArea: Bool
    /// When set, this path is rows `rows.range` (along axis 0) of the path of a whole batch of
    /// `rows.batch` samples (see ``BrownianGrid/rows``).
    public let rows: BatchRows?
    private let cache = PrefixCache()

    /// Creates a tree on [t0, t1]. Requires t0 < t1 and 1 ≤ maxDepth ≤ 40 (precondition). With
    /// `rows`, `shape[0]` must equal `rows.range.count`.
    public init(shape: [Int], t0: Double, t1: Double, seed: UInt64, stream: UInt64 = 0, maxDepth: Int = 24,
                levyArea: Bool = false, rows: BatchRows? = nil) {
        precondition(t0 < t1 && t0.isFinite && t1.isFinite, "BrownianInterval: need finite t0 < t1, got [\(t0), \(t1)]")
        precondition((1...40).contains(maxDepth), "BrownianInterval: maxDepth must be in 1...40, got \(maxDepth)")
        if let rows { precondition(shape.first == rows.range.count, "BrownianInterval: shape \(shape) does not hold \(rows)") }
        self.rows = rows
        self.shape = shape
        self.t0 = t0
        self.t1 = t1
        self.seed = seed
        self.stream = stream
        self.maxDepth = maxDepth
        self.providesLevyArea = levyArea
    }

    /// Whether t₀ ≤ t ≤ t₁.
    public func canQuery(at t: Double) -> Bool { t >= t0 && t <= t1 }

    /// W(t) − W(s) and, when ``providesLevyArea``, H(s, t), for t₀ ≤ s ≤ t ≤ t₁.
    public func increment(from s: Double, to t: Double) -> BrownianIncrement {
        precondition(canQuery(at: s) && canQuery(at: t) && s <= t,
                     "BrownianInterval: query [\(s), \(t)] outside [\(t0), \(t1)] or reversed")
        let ps = prefix(s), pt = prefix(t)
        let w = pt.w - ps.w
        guard providesLevyArea else { return BrownianIncrement(w: w) }
        if t == s { return BrownianIncrement(w: w, h: Tensor(repeating: 0, shape: shape)) }
        // K(t₀, t) = K(t₀, s) + K(s, t) + (h₂W(t₀, s) − h₁W(s, t))/2, solved for K(s, t).
        let h1 = s - t0, h2 = t - s
        let k = pt.k - ps.k - (ps.w * Float(h2 / 2) - w * Float(h1 / 2))
        return BrownianIncrement(w: w, h: k * Float(1 / h2))
    }

    /// W(t) − W(t₀), for t₀ ≤ t ≤ t₁.
    public func value(at t: Double) -> Tensor { prefix(t).w }

    // MARK: - Tree

    /// An increment W and area K = h·H over an interval of the given length.
    struct Piece {
        var w: Tensor
        var k: Tensor
        var length: Double
    }

    /// Standard normal draw number `index` of the tree (`leaf`: the leaf-split stream).
    private func normal(_ index: UInt64, leaf: Bool = false) -> Tensor {
        Tensor.randomNormal(shape, seed: seed, stream: 2 &* stream &+ (leaf ? 1 : 0), drawIndex: index, rows: rows)
    }

    /// Joins adjacent pieces: K = K₁ + K₂ + (h₂W₁ − h₁W₂)/2.
    static func combine(_ p: Piece, _ q: Piece) -> Piece {
        if p.length == 0 { return q }
        return Piece(w: p.w + q.w, k: p.k + q.k + (p.w * Float(q.length / 2) - q.w * Float(p.length / 2)),
                     length: p.length + q.length)
    }

    /// Splits `node` at `h1` from its start, given its (W, K), with draws `2·key`, `2·key + 1`.
    private func split(_ node: Piece, at h1: Double, key: UInt64, leaf: Bool = false) -> (Piece, Piece) {
        let h = node.length, h2 = h - h1, h3 = h * h * h
        let varW = max(h1 * h2 / h - 3 * h1 * h1 * h2 * h2 / h3, 0)
        let a = varW.squareRoot()
        let b = a > 0 ? -(h1 * h1 * h1 * h1 * h2) / (2 * h3 * a) : 0
        let c = max(h1 * h1 * h1 / 12 * (1 - (h1 * h1 * h1) / h3) - b * b, 0).squareRoot()
        let z1 = normal(2 &* key, leaf: leaf), z2 = normal(2 &* key &+ 1, leaf: leaf)
        let w1 = node.w * Float(h1 / h) + node.k * Float(6 * h1 * h2 / h3) + z1 * Float(a)
        let k1 = node.k * Float((h1 * h1 * h1) / h3) + z1 * Float(b) + z2 * Float(c)
        let w2 = node.w - w1
        let k2 = node.k - k1 - (w1 * Float(h2 / 2) - w2 * Float(h1 / 2))
        return (Piece(w: w1, k: k1, length: h1), Piece(w: w2, k: k2, length: h2))
    }

    /// (W, K) over [t₀, t].
    func prefix(_ t: Double) -> Piece {
        let zero = Tensor(repeating: 0, shape: shape)
        if t == t0 { return Piece(w: zero, k: zero, length: 0) }
        if let hit = cache.lookup(t) { return hit }
        let span = t1 - t0
        var node = Piece(w: normal(0) * Float(span.squareRoot()), k: normal(1) * Float((span * span * span / 12).squareRoot()),
                         length: span)
        var left = Piece(w: zero, k: zero, length: 0)
        var a = t0, b = t1
        var key: UInt64 = 1
        var result: Piece?
        for _ in 0..<maxDepth {
            if t == b { result = Self.combine(left, node); break }
            let m = a + (b - a) / 2
            let (l, r) = split(node, at: m - a, key: key)
            if t < m {
                node = l; b = m; key = 2 &* key
            } else {
                left = Self.combine(left, l)
                if t == m { result = left; break }
                node = r; a = m; key = 2 &* key &+ 1
            }
        }
        let piece: Piece
        if let result {
            piece = result
        } else if t == b {
            piece = Self.combine(left, node)
        } else {
            piece = Self.combine(left, split(node, at: t - a, key: key, leaf: true).0)
        }
        cache.store(t, piece)
        return piece
    }
}

/// A small thread-safe cache of the most recent prefix pieces.
private final class PrefixCache: @unchecked Sendable {
    private var entries: [(Double, BrownianInterval.Piece)] = []
    private let lock = NSLock()
    func lookup(_ t: Double) -> BrownianInterval.Piece? {
        lock.lock(); defer { lock.unlock() }
        return entries.first { $0.0 == t }?.1
    }
    func store(_ t: Double, _ p: BrownianInterval.Piece) {
        lock.lock(); defer { lock.unlock() }
        entries.append((t, p))
        if entries.count > 4 { entries.removeFirst() }
    }
}
