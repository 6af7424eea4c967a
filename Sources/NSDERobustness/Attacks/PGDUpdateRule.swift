/// How ``PGD`` moves the perturbation δ between projections.
public enum PGDUpdateRule: Equatable, Sendable {
    /// The authors' released L2 attack (Liu et al. 2019): Adam (β₁ = 0.9, β₂ = 0.999, ε̂ = 10⁻⁸)
    /// minimising −cross-entropy over δ, starting from δ = 0, with learning rate `learningRate`
    /// (pixel units per step; the paper's 0.005).
    case adam(learningRate: Float)
    /// Standard PGD (Madry et al. 2018): δ ← δ + α·d, with d the gradient divided by its L2 norm
    /// per image (L2) or its sign (L∞). `stepSize` α in pixel units; `nil` uses 2.5·ε / steps.
    /// With `randomStart`, δ starts uniform in the ε-ball (L2: a uniform direction and radius
    /// ε·u^(1/d); L∞: every element uniform in [−ε, ε]); otherwise at 0.
    case madry(stepSize: Float?, randomStart: Bool)

    /// The paper's rule: Adam with learning rate 0.005.
    public static let paper = PGDUpdateRule.adam(learningRate: 0.005)

    /// `"adam"` or `"madry"`.
    public var name: String {
        switch self {
        case .adam: return "adam"
        case .madry: return "madry"
        }
    }
}
