/// Explicit Euler tableau.
private let euler = ButcherTableau(c: [0], a: [[]], b: [1])

/// Explicit Euler: y₁ = y₀ + Δt·f(t₀, y₀).
///
/// - Order: 1. Cost per step: 1 evaluation. Error estimate: none (fixed steps).
public struct Euler: ExplicitRungeKutta {
    public static let name = "Euler"
    public static let order = 1
    public static var tableau: ButcherTableau { euler }
    /// Creates the solver.
    public init() {}
}
