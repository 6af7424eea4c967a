/// Theorem 3.2 of Liu et al. (2019) applied with V(ε) = ‖ε‖² to the perturbation equation of a
/// neural SDE, and Corollary 3.2.1's sufficient condition σ² > 2L, given an (empirical)
/// Lipschitz constant L of the drift.
///
/// **The theorem.** If LV ≤ c₂V, |V_ε G_Δ|² ≥ c₃V² and c₁‖ε‖ᵖ ≤ V, then
/// lim sup (1/t) log‖ε_t‖ ≤ −(c₃ − 2c₂)/(2p) almost surely. With V = ‖ε‖² (p = 2, c₁ = 1),
/// LV = 2εᵀf_Δ + ‖G_Δ‖²_F and ‖f_Δ(ε)‖ ≤ L‖ε‖, so c₂ = 2L + (noise term), and:
///
/// | ``PerturbationNoise`` | c₂ | c₃ | bound on λ |
/// |---|---|---|---|
/// | none, additive | 2L | 0 | L |
/// | multiplicative, scalar (m = 1) | 2L + σ² | 4σ² | L − σ²/2 (Corollary 3.2.1) |
/// | multiplicative, diagonal | 2L + σ² | 4σ²/n (Σεᵢ⁴ ≥ ‖ε‖⁴/n) | L + σ²(½ − 1/n) |
/// | dropout | 2L + σ²L² | 0 | L + σ²L²/2 |
/// | learned | — | — | none computed |
///
/// n is the state's size per sample. Replacing L by the one-sided constant μ (εᵀf_Δ ≤ μ‖ε‖²)
/// gives the same table with μ for L in the drift term, a sharper bound (μ ≤ L).
///
/// **Corollary 3.2.1** covers exactly G = σh with m = 1 (``PerturbationNoise/multiplicativeScalar``):
/// σ² > 2L ⇒ almost-sure exponential stability. It is a *sufficient* condition: λ < 0 may hold
/// while it fails (the bound ignores that the drift may contract), and for the paper's diagonal
/// noise it does not apply at all, although the measured λ may still decrease with σ (each element
/// of a diagonal-noise perturbation gets its own −σ²/2, which V = ‖ε‖² cannot see).
///
/// **Empirical L.** ``LipschitzEstimate/lipschitz`` is a lower bound of the true L, so a bound
/// computed from it is optimistic (too low) and "condition holds" is not a certificate: the true
/// L may be larger.
public struct StabilityBound: Equatable, Sendable {
    /// How noise enters the perturbation equation.
    public let noise: PerturbationNoise
    /// σ (per √time).
    public let sigma: Double
    /// The Lipschitz constant used (per unit time).
    public let lipschitz: Double
    /// The one-sided Lipschitz constant used, if any.
    public let oneSidedLipschitz: Double?
    /// Elements per sample n (diagonal noise's c₃ = 4σ²/n).
    public let stateSize: Int

    /// Creates the bound's inputs.
    public init(noise: PerturbationNoise, sigma: Double, lipschitz: Double, oneSidedLipschitz: Double? = nil, stateSize: Int) {
        self.noise = noise
        self.sigma = sigma
        self.lipschitz = lipschitz
        self.oneSidedLipschitz = oneSidedLipschitz
        self.stateSize = stateSize
    }

    /// Whether Corollary 3.2.1's hypotheses hold: G = σh with one Brownian motion (m = 1) and
    /// σ > 0. (Its Lipschitz hypothesis is assumed.)
    public var corollaryApplies: Bool { noise == .multiplicativeScalar && sigma > 0 }

    /// σ² > 2L, the corollary's sufficient condition, evaluated with ``lipschitz`` whatever the
    /// noise (meaningful only where ``corollaryApplies``).
    public var corollaryConditionHolds: Bool { sigma * sigma > 2 * lipschitz }

    /// Theorem 3.2's upper bound on λ with V = ‖ε‖² and constant `l` (see the table), or `nil`
    /// for learned noise.
    public func theoremBound(drift l: Double) -> Double? {
        let s2 = sigma * sigma
        switch noise {
        case .none, .additive: return l
        case .multiplicativeScalar: return l - s2 / 2
        case .multiplicativeDiagonal: return l + s2 * (0.5 - 1 / Double(Swift.max(stateSize, 1)))
        case .dropout: return l + s2 * lipschitz * lipschitz / 2
        case .learned: return nil
        }
    }

    /// The bound with L (``lipschitz``).
    public var bound: Double? { theoremBound(drift: lipschitz) }
    /// The sharper bound with μ (``oneSidedLipschitz``), if given.
    public var oneSidedBound: Double? { oneSidedLipschitz.flatMap { theoremBound(drift: $0) } }

    /// A short sentence on what applies, for reports.
    public var note: String {
        switch noise {
        case .none:
            return "no noise: Theorem 3.2 gives only λ ≤ L"
        case .additive:
            return "additive noise cancels in the perturbation (shared Brownian path): σ enters only through the trajectory; Theorem 3.2 gives λ ≤ L"
        case .multiplicativeScalar:
            return "G = σh with one Brownian motion per sample (m = 1): Corollary 3.2.1 applies, λ ≤ L − σ²/2, stable if σ² > 2L"
        case .multiplicativeDiagonal:
            return "G = σ diag(h) with a Brownian motion per element (the paper's experiments): Corollary 3.2.1 (m = 1) does not apply; "
                + "Theorem 3.2 with V = ‖ε‖² gives λ ≤ L + σ²(1/2 − 1/n), which noise cannot make negative"
        case .dropout:
            return "dropout noise G = σ diag f(h): G_Δ = σ diag(f(h + ε) − f(h)); Theorem 3.2 with V = ‖ε‖² gives λ ≤ L + σ²L²/2"
        case .learned:
            return "learned diffusion: no bound computed"
        }
    }
}
