import NSDETensor

/// The norm of an attack's threat model: the perturbation δ = x_adv − x of each image must satisfy
/// ‖δ‖ ≤ ε.
///
/// Norms are taken over all `channels · height · width` pixels of one image, in pixel units
/// (pixels in [0, 1]).
public enum AttackNorm: String, CaseIterable, Codable, Sendable {
    /// ‖δ‖₂ = √(Σᵢ δᵢ²), the paper's Figure 3 threat model.
    case l2
    /// ‖δ‖∞ = maxᵢ |δᵢ|.
    case linf

    /// The norm of `values` (one image's perturbation), computed in `Double`.
    public func norm<C: Collection>(of values: C) -> Double where C.Element == Float {
        switch self {
        case .l2: return values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        case .linf: return values.reduce(0.0) { Swift.max($0, Double(Swift.abs($1))) }
        }
    }

    /// The mean over images of ‖a − b‖ for two image batches `[batch, channels, height, width]`
    /// of the same shape (0 for an empty batch), in pixel units.
    public func meanDistance(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "AttackNorm.meanDistance: shapes \(a.shape) and \(b.shape) differ")
        let n = a.shape.first ?? 0, per = a.count / Swift.max(n, 1)
        guard n > 0 else { return 0 }
        let x = a.scalars, y = b.scalars
        var sum = 0.0
        for i in 0..<n { sum += norm(of: (i * per..<(i + 1) * per).map { x[$0] - y[$0] }) }
        return sum / Double(n)
    }

    /// Projects one image's perturbation `delta[range]` onto the ball ‖δ‖ ≤ `epsilon` in place:
    /// L2 rescales δ by ε/‖δ‖₂ when ‖δ‖₂ > ε; L∞ clips every element to [−ε, ε].
    func project(_ delta: inout [Float], _ range: Range<Int>, epsilon: Float) {
        switch self {
        case .l2:
            let n = norm(of: delta[range])
            guard n > Double(epsilon) else { return }
            let scale = Float(Double(epsilon) / n)
            for i in range { delta[i] *= scale }
        case .linf:
            for i in range { delta[i] = Swift.min(Swift.max(delta[i], -epsilon), epsilon) }
        }
    }

    /// The steepest-ascent direction for `gradient[range]` under this norm (Madry et al. 2018):
    /// L2 the gradient divided by its L2 norm (0 for a zero gradient); L∞ its sign.
    func ascentDirection(_ gradient: [Float], _ range: Range<Int>) -> [Float] {
        switch self {
        case .l2:
            let n = norm(of: gradient[range])
            guard n > 0 else { return [Float](repeating: 0, count: range.count) }
            return gradient[range].map { Float(Double($0) / n) }
        case .linf:
            return gradient[range].map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        }
    }
}
