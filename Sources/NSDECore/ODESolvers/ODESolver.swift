import NSDETensor

/// The result of one ODE step.
public struct ODEStepResult {
    /// y(t₁), of y₀'s shape.
    public let state: Tensor
    /// The local error estimate (embedded pair difference), or `nil` for fixed-step methods.
    public let error: Tensor?
    /// f(t₁, y₁) when the method computed it (first-same-as-last), for reuse by the next step.
    public let finalDerivative: Tensor?
    /// Right-hand-side evaluations made by this step.
    public let evaluations: Int
}

/// A one-step method for ODEs dy/dt = f(t, y).
public protocol ODESolver {
    /// Human-readable name used in errors.
    static var name: String { get }
    /// Global order of accuracy: error O(Δt^order).
    static var order: Int { get }
    /// Whether the method gives an error estimate and is used with adaptive steps.
    static var isAdaptive: Bool { get }
    /// Advances `y0` from `t0` to `t1`; `firstDerivative` is f(t₀, y₀) when already known.
    func step(_ f: (Double, Tensor) -> Tensor, from t0: Double, to t1: Double, state y0: Tensor,
              firstDerivative: Tensor?) -> ODEStepResult
}

/// An explicit Runge–Kutta tableau: stages kᵢ = f(t₀ + cᵢΔt, y₀ + Δt Σⱼ aᵢⱼkⱼ),
/// y₁ = y₀ + Δt Σ bᵢkᵢ, error Δt Σ (bᵢ − b̂ᵢ)kᵢ.
///
/// Validates itself when built (precondition): rows of `a` sum to `c`, `b` sums to 1, `bError`
/// (when given) sums to 0.
public struct ButcherTableau: Sendable {
    /// Stage times as fractions of Δt.
    public let c: [Double]
    /// Lower-triangular stage coefficients; row i has i entries.
    public let a: [[Double]]
    /// Solution weights.
    public let b: [Double]
    /// b − b̂ (solution weights minus embedded weights), or `nil`.
    public let bError: [Double]?
    /// Whether the last stage is evaluated at (t₁, y₁) (first-same-as-last).
    public let fsal: Bool

    /// Creates and checks a tableau.
    public init(c: [Double], a: [[Double]], b: [Double], bError: [Double]? = nil, fsal: Bool = false) {
        precondition(a.count == c.count && b.count == c.count, "ButcherTableau: stage counts differ")
        for (i, row) in a.enumerated() {
            precondition(row.count == i, "ButcherTableau: row \(i) must have \(i) entries")
            precondition(Swift.abs(row.reduce(0, +) - c[i]) < 1e-12, "ButcherTableau: row \(i) does not sum to c[\(i)]")
        }
        precondition(Swift.abs(b.reduce(0, +) - 1) < 1e-12, "ButcherTableau: weights do not sum to 1")
        if let e = bError { precondition(e.count == b.count && Swift.abs(e.reduce(0, +)) < 1e-12, "ButcherTableau: error weights must sum to 0") }
        self.c = c; self.a = a; self.b = b; self.bError = bError; self.fsal = fsal
    }
}

/// Explicit Runge–Kutta methods: a ``ButcherTableau`` supplies ``ODESolver/step(_:from:to:state:firstDerivative:)``.
public protocol ExplicitRungeKutta: ODESolver {
    /// The method's coefficients.
    static var tableau: ButcherTableau { get }
}

extension ExplicitRungeKutta {
    /// Adaptive exactly when the tableau has error weights.
    public static var isAdaptive: Bool { tableau.bError != nil }

    /// One explicit Runge–Kutta step from the tableau.
    public func step(_ f: (Double, Tensor) -> Tensor, from t0: Double, to t1: Double, state y0: Tensor,
                     firstDerivative: Tensor?) -> ODEStepResult {
        let tab = Self.tableau
        let h = t1 - t0
        var k: [Tensor] = []
        var evaluations = 0
        for i in 0..<tab.c.count {
            if i == 0, let d = firstDerivative { k.append(d); continue }
            var yi = y0
            for (j, aij) in tab.a[i].enumerated() where aij != 0 { yi = yi + k[j] * Float(aij * h) }
            k.append(f(t0 + tab.c[i] * h, yi))
            evaluations += 1
        }
        var y1 = y0
        for (i, bi) in tab.b.enumerated() where bi != 0 { y1 = y1 + k[i] * Float(bi * h) }
        var error: Tensor?
        if let e = tab.bError {
            var err = Tensor(repeating: 0, shape: y0.shape)
            for (i, ei) in e.enumerated() where ei != 0 { err = err + k[i].detached() * Float(ei * h) }
            error = err
        }
        return ODEStepResult(state: y1, error: error, finalDerivative: tab.fsal ? k.last : nil, evaluations: evaluations)
    }
}
