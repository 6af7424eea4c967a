/// Dormand–Prince 5(4) tableau (Dormand & Prince 1980); `bError` = b₅ − b₄.
private let dopri5 = ButcherTableau(
    c: [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1],
    a: [[],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84]],
    b: [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0],
    bError: [35.0 / 384 - 5179.0 / 57600, 0, 500.0 / 1113 - 7571.0 / 16695, 125.0 / 192 - 393.0 / 640,
             -2187.0 / 6784 + 92097.0 / 339200, 11.0 / 84 - 187.0 / 2100, -1.0 / 40],
    fsal: true)

/// Dormand–Prince 5(4): fifth-order solution with an embedded fourth-order error estimate, for
/// adaptive steps with `rtol`/`atol` in ``odeint(_:y0:times:solver:dt:rtol:atol:maxSteps:)``.
///
/// - Order: 5 (error estimate order 4). Cost per step: 6 evaluations (7 stages, the last reused
///   by the next step, first-same-as-last).
///
/// Dormand & Prince (1980), J. Comput. Appl. Math. 6(1); Hairer, Nørsett & Wanner, §II.5.
public struct DormandPrince5: ExplicitRungeKutta {
    public static let name = "Dormand–Prince 5(4)"
    public static let order = 5
    public static var tableau: ButcherTableau { dopri5 }
    /// Creates the solver.
    public init() {}
}
