import Foundation
import XCTest
import NSDETensor
@testable import NSDECore

/// Moments of solvers' samples against closed forms.
final class OrnsteinUhlenbeckTests: XCTestCase {
    /// OU dX = θ(m − X) dt + σ dW, X₀ = x₀: E X_T = m + (x₀ − m)e^{−θT},
    /// Var X_T = σ²(1 − e^{−2θT})/(2θ). Sample mean and variance of 20 000 paths within
    /// 3 standard errors (SE of the mean √(Var/n), of the variance Var·√(2/(n − 1))); the
    /// solvers' bias at Δt = 0.01 (EM: relative θΔt/2 = 0.5% on the variance) is below 1 SE.
    func testMeanAndVarianceMatchClosedForm() throws {
        let sde = OU(theta: 1, mean: 0.5, sigma: 0.8)
        let n = 20000, x0: Float = 2, T = 1.0
        let mean = 0.5 + (2 - 0.5) * Foundation.exp(-T)
        let variance = 0.64 * (1 - Foundation.exp(-2 * T)) / 2
        for kind in [SolverKind.eulerMaruyama, .sra1, .heun] {
            let sol = try sdeint(sde, y0: Tensor(repeating: x0, shape: [n]), times: [0, T], solver: kind, dt: 0.01,
                                 brownian: .grid(seed: 21))
            let (m, v) = meanAndVariance(sol.final.scalars.map(Double.init))
            let seMean = (variance / Double(n)).squareRoot(), seVar = variance * (2 / Double(n - 1)).squareRoot()
            XCTAssertEqual(m, mean, accuracy: 3 * seMean, "\(kind): mean \(m), closed form \(mean)")
            XCTAssertEqual(v, variance, accuracy: 3 * seVar, "\(kind): variance \(v), closed form \(variance)")
        }
    }

    /// GBM in Itô form (Milstein) and in Stratonovich form (Heun) is one process: on the same
    /// Brownian paths the two solutions agree to the solvers' strong error (mean |difference|
    /// below 0.01 at Δt = 2⁻⁸), and log X_T has mean (μ − σ²/2)T and variance σ²T within 3 SE.
    func testItoAndStratonovichFormsGiveTheSameLaw() throws {
        let n = 20000, T = 1.0
        let ito = GBM(mu: 0.3, sigma: 0.6, calculus: .ito)
        let strat = GBM(mu: 0.3, sigma: 0.6, calculus: .stratonovich)
        let y0 = Tensor(repeating: 1, shape: [n])
        let a = try sdeint(ito, y0: y0, times: [0, T], solver: .milstein, dt: 1.0 / 256, brownian: .grid(seed: 9))
        let b = try sdeint(strat, y0: y0, times: [0, T], solver: .heun, dt: 1.0 / 256, brownian: .grid(seed: 9))
        let xa = a.final.scalars.map(Double.init), xb = b.final.scalars.map(Double.init)
        XCTAssertLessThan(meanAbsDifference(xa, xb), 0.01)
        for xs in [xa, xb] {
            let (m, v) = meanAndVariance(xs.map { Foundation.log($0) })
            let theoryMean = (0.3 - 0.18) * T, theoryVar = 0.36 * T
            XCTAssertEqual(m, theoryMean, accuracy: 3 * (theoryVar / Double(n)).squareRoot())
            XCTAssertEqual(v, theoryVar, accuracy: 3 * theoryVar * (2 / Double(n - 1)).squareRoot())
        }
        // Euler–Maruyama on the Stratonovich drift solves a different (Itô) SDE: sdeint refuses.
        XCTAssertThrowsError(try sdeint(strat, y0: y0, times: [0, T], solver: .eulerMaruyama, dt: 0.1))
    }
}
