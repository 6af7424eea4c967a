/// Explicit midpoint tableau.
private let midpoint = ButcherTableau(c: [0, 0.5], a: [[], [0.5]], b: [0, 1])

/// Explicit midpoint: y₁ = y₀ + Δt·f(t₀ + Δt/2, y₀ + (Δt/2)·f(t₀, y₀)).
///
/// - Order: 2. Cost per step: 2 evaluations. Error estimate: none (fixed steps).
public struct Midpoint: ExplicitRungeKutta {
    public static let name = "Midpoint"
    public static let order = 2
    public static var tableau: ButcherTableau { midpoint }
    /// Creates the solver.
    public init() {}
}
