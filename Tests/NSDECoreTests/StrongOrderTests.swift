import Foundation
import XCTest
import NSDETensor
@testable import NSDECore

/// Strong convergence orders, measured on shared Brownian paths: coarse steps sum the fine
/// grid's increments (and combine its Lévy areas), so every step size sees the same path.
/// Slopes of log E|y_N − y(T)| against log Δt over Δt = 2⁻³ … 2⁻⁷ must be within ±0.1 of
/// theory (2000 paths: the slope's Monte Carlo scatter is about ±0.03).
final class StrongOrderTests: XCTestCase {
    static let paths = 2000
    static let levels = [3, 4, 5, 6, 7]

    /// Errors against the exact GBM solution on the same path.
    /// Defaults μ = 1, σ = 0.5 for the order-1 methods; Euler–Maruyama uses μ = 0.1, σ = 1 so
    /// that the noise term dominates its error and Δt = 2⁻³ is already in the O(√Δt) regime.
    func gbmSlope(solver: some SDESolver, calculus: StochasticCalculus, mu: Float = 1.0, sigma: Float = 0.5) throws -> Double {
        let sde = GBM(mu: mu, sigma: sigma, calculus: calculus)
        let grid = BrownianGrid(shape: [Self.paths], dt: 1.0 / 256, seed: 11)
        let exact = sde.exact(x0: 1, t: 1, w: grid.increment(from: 0, to: 1).w)
        var dts: [Double] = [], errors: [Double] = []
        for k in Self.levels {
            let dt = 1.0 / Double(1 << k)
            let sol = try sdeint(sde, y0: Tensor(repeating: 1, shape: [Self.paths]), times: [0, 1], solver: solver,
                                 dt: dt, brownian: .custom(grid))
            dts.append(dt)
            errors.append(meanAbsDifference(sol.final.scalars.map(Double.init), exact))
        }
        return logLogSlope(dts, errors)
    }

    /// Errors against SRA1 with Δt = 2⁻¹¹ on the same path (additive noise has no closed form here).
    /// `interval`: take W and H from a ``BrownianInterval`` instead of a fine ``BrownianGrid``.
    func additiveSlope(solver: some SDESolver, calculus: StochasticCalculus, interval: Bool = false) throws -> Double {
        let sde = RationalAdditive(sigma: 1.0, calculus: calculus)
        let grid: any BrownianMotion = interval
            ? BrownianInterval(shape: [Self.paths], t0: 0, t1: 1, seed: 5, levyArea: true)
            : BrownianGrid(shape: [Self.paths], dt: 1.0 / 2048, seed: 5, levyArea: true)
        let y0 = Tensor(repeating: 0.5, shape: [Self.paths])
        let reference = try sdeint(sde, y0: y0, times: [0, 1], solver: SRA1(), dt: 1.0 / 2048, brownian: .custom(grid))
            .final.scalars.map(Double.init)
        var dts: [Double] = [], errors: [Double] = []
        for k in Self.levels {
            let dt = 1.0 / Double(1 << k)
            let sol = try sdeint(sde, y0: y0, times: [0, 1], solver: solver, dt: dt, brownian: .custom(grid))
            dts.append(dt)
            errors.append(meanAbsDifference(sol.final.scalars.map(Double.init), reference))
        }
        return logLogSlope(dts, errors)
    }

    func check(_ name: String, _ slope: Double, _ theory: Double) {
        print("strong order \(name): measured \(String(format: "%.3f", slope)), theory \(theory)")
        XCTAssertEqual(slope, theory, accuracy: 0.1, "\(name): measured slope \(slope), theory \(theory)")
    }

    func testStrongOrderMatchesTheoryOnGBM() throws {
        check("Euler–Maruyama (GBM, Itô)", try gbmSlope(solver: EulerMaruyama(), calculus: .ito, mu: 0.1, sigma: 1.0), EulerMaruyama.strongOrder(for: .diagonal))
        check("Milstein (GBM, Itô)", try gbmSlope(solver: Milstein(calculus: .ito), calculus: .ito), Milstein.strongOrder(for: .diagonal))
        check("Milstein (GBM, Stratonovich)", try gbmSlope(solver: Milstein(calculus: .stratonovich), calculus: .stratonovich), Milstein.strongOrder(for: .diagonal))
        check("Euler–Heun (GBM, Stratonovich)", try gbmSlope(solver: EulerHeun(), calculus: .stratonovich), EulerHeun.strongOrder(for: .diagonal))
        check("Heun (GBM, Stratonovich)", try gbmSlope(solver: Heun(), calculus: .stratonovich), Heun.strongOrder(for: .diagonal))
    }

    func testStrongOrderMatchesTheoryWithAdditiveNoise() throws {
        check("Euler–Maruyama (additive)", try additiveSlope(solver: EulerMaruyama(), calculus: .ito), EulerMaruyama.strongOrder(for: .additive))
        check("Reversible Heun (additive)", try additiveSlope(solver: ReversibleHeun(), calculus: .stratonovich), ReversibleHeun.strongOrder(for: .additive))
        check("SRA1 (additive)", try additiveSlope(solver: SRA1(), calculus: .ito), SRA1.strongOrder(for: .additive))
        check("SRA1 (additive, Brownian interval)", try additiveSlope(solver: SRA1(), calculus: .ito, interval: true),
              SRA1.strongOrder(for: .additive))
    }

    /// Weak order of Euler–Maruyama on E[X_T] for GBM: E[X_N] − E[X_T] is estimated by
    /// mean(X_N − X_exact) on shared paths (E[X_exact] = E[X_T] = e^{μT} exactly), which removes
    /// most Monte Carlo noise. Slope over Δt = 2⁻³ … 2⁻⁷ within ±0.1 of 1.
    func testEulerMaruyamaWeakOrderIsOne() throws {
        let sde = GBM(mu: 1.0, sigma: 0.2)
        let n = 20000
        let grid = BrownianGrid(shape: [n], dt: 1.0 / 128, seed: 3)
        let exact = sde.exact(x0: 1, t: 1, w: grid.increment(from: 0, to: 1).w)
        var dts: [Double] = [], errors: [Double] = []
        for k in 3...7 {
            let dt = 1.0 / Double(1 << k)
            let sol = try sdeint(sde, y0: Tensor(repeating: 1, shape: [n]), times: [0, 1], solver: .eulerMaruyama,
                                 dt: dt, brownian: .custom(grid))
            let diff = zip(sol.final.scalars, exact).map { Double($0) - $1 }.reduce(0, +) / Double(n)
            dts.append(dt)
            errors.append(Swift.abs(diff))
        }
        let slope = logLogSlope(dts, errors)
        print("weak order Euler–Maruyama: measured \(String(format: "%.3f", slope)), theory 1.0")
        XCTAssertEqual(slope, EulerMaruyama.weakOrder, accuracy: 0.1)
    }
}
