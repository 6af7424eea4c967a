/// The classical fourth-order Runge–Kutta tableau.
private let rk4 = ButcherTableau(c: [0, 0.5, 0.5, 1], a: [[], [0.5], [0, 0.5], [0, 0, 1]],
                                 b: [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6])

/// Classical Runge–Kutta: y₁ = y₀ + Δt(k₁ + 2k₂ + 2k₃ + k₄)/6.
///
/// - Order: 4. Cost per step: 4 evaluations. Error estimate: none (fixed steps).
public struct RK4: ExplicitRungeKutta {
    public static let name = "RK4"
    public static let order = 4
    public static var tableau: ButcherTableau { rk4 }
    /// Creates the solver.
    public init() {}
}
