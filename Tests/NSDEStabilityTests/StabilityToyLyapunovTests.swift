import Foundation
import NSDETestSupport
import XCTest
import NSDECore
@testable import NSDEStability

/// The top Lyapunov exponent of dx = x dt + σx dB (``ToyLyapunov``): theory 1 − σ²/2.
final class StabilityToyLyapunovTests: XCTestCase {
    /// The exact scheme is within 0.05 of 1 − σ²/2 for σ = 0, 1 and 2.8, and within 4 standard
    /// errors. Settings: 4000 paths × T = 25 gives SE = σ/√(10⁵) ≤ 0.009 (0.05 is 5.6 SE at σ = 2.8);
    /// 50 steps suffice because the exact factor has no step bias.
    func testExactSchemeMatchesTheory() throws {
        for sigma: Float in [0, 1, 2.8] {
            let r = try ToyLyapunov(sigma: sigma, tEnd: 25, paths: 4000, steps: 50, seed: 1, scheme: .exact).run()
            let s = Double("\(sigma)")!
            XCTAssertEqual(r.theory, 1 - s * s / 2, accuracy: 1e-12)
            XCTAssertEqual(r.discreteTheory, r.theory)
            XCTAssertEqual(r.bias, 0)
            XCTAssertEqual(r.lyapunov, r.theory, accuracy: 0.05, "σ = \(sigma)")
            XCTAssertEqual(r.lyapunov, r.theory, accuracy: 4 * r.standardError + 1e-9, "σ = \(sigma)")
            // The sampling error is σ/√(paths·T) (±10 %).
            XCTAssertEqual(r.standardError, s / (4000.0 * 25).squareRoot(), accuracy: 0.1 * s / (4000.0 * 25).squareRoot() + 1e-12)
        }
    }

    /// Euler–Maruyama in log space is within 0.05 of 1 − σ²/2 for σ = 0, 1 and 2.8 when Δt makes
    /// its bias small: Δt = 2.5·10⁻⁴ gives −(3/4)σ⁴Δt ≈ −0.0097 at σ = 2.8. σ = 0 and 1 use
    /// Δt = 10⁻³ (bias −5·10⁻⁴ and −2.5·10⁻⁴). SE ≤ 2.8/√(2000·20) = 0.014.
    func testEulerMaruyamaMatchesTheoryAtSmallSteps() throws {
        for (sigma, paths, tEnd, steps) in [(Float(0), 10, 20.0, 20_000), (1, 1000, 20, 20_000), (2.8, 2000, 20, 80_000)] {
            let r = try ToyLyapunov(sigma: sigma, tEnd: tEnd, paths: paths, steps: steps, seed: 2, scheme: .eulerMaruyama).run()
            XCTAssertEqual(r.lyapunov, r.theory, accuracy: 0.05, "σ = \(sigma)")
            XCTAssertEqual(r.lyapunov, r.discreteTheory, accuracy: 4 * r.standardError + 1e-6, "σ = \(sigma)")
            XCTAssertLessThan(Swift.abs(r.bias), 0.011, "σ = \(sigma)")
        }
    }

    /// On the same Brownian paths, Euler–Maruyama minus exact equals the discrete map's bias: the
    /// sampling noise cancels, leaving the O(Δt) bias the docs explain (here Δt = 10⁻², σ = 2, bias
    /// −0.1006, and Δt = 10⁻³, bias −0.0086; difference noise ≈ σ²√(Δt/T)/√paths ≈ 0.005).
    func testEulerMaruyamaBiasIsTheDiscreteMapsExponent() throws {
        for steps in [1000, 10_000] {
            let exact = try ToyLyapunov(sigma: 2, tEnd: 10, paths: 500, steps: steps, seed: 3, scheme: .exact).run()
            let em = try ToyLyapunov(sigma: 2, tEnd: 10, paths: 500, steps: steps, seed: 3, scheme: .eulerMaruyama).run()
            XCTAssertEqual(em.lyapunov - exact.lyapunov, em.bias, accuracy: 0.015, "steps = \(steps)")
        }
        let coarse = ToyLyapunov(sigma: 2, tEnd: 10, steps: 1000, scheme: .eulerMaruyama)
        XCTAssertEqual(coarse.discreteTheory - coarse.theory, -0.100574, accuracy: 1e-5)
    }

    /// ``ToyLyapunov/eulerMaruyamaExponent(drift:sigma:dt:)`` against its small-Δt expansion
    /// a − σ²/2 + Δt(aσ² − a²/2 − ¾σ⁴) (error O(Δt²)), the σ = 0 closed form log(1 + aΔt)/Δt, and
    /// independently computed values (numpy quadrature, 10⁻¹⁰) where the expansion fails.
    func testDiscreteExponentMatchesExpansionAndQuadrature() {
        for (a, s, dt) in [(1.0, 1.0, 1e-3), (1, 2.8, 2e-4), (0.3, 0.5, 1e-2), (-1, 1.5, 1e-3)] {
            let expansion = a - s * s / 2 + dt * (a * s * s - a * a / 2 - 0.75 * s * s * s * s)
            XCTAssertEqual(ToyLyapunov.eulerMaruyamaExponent(drift: a, sigma: s, dt: dt), expansion, accuracy: 2e3 * dt * dt,
                           "a = \(a), σ = \(s), Δt = \(dt)")
        }
        XCTAssertEqual(ToyLyapunov.eulerMaruyamaExponent(drift: 1, sigma: 0, dt: 0.1), log(1.1) / 0.1, accuracy: 1e-14)
        // Reference values E log|1 + Δt + σ√Δt Z|/Δt − (1 − σ²/2) by numpy quadrature.
        for (s, dt, bias) in [(1.0, 0.1, -0.03837141495), (2.8, 0.1, 1.432518872), (2.8, 0.01, -0.5826475269), (2.8, 1e-3, -0.0398363781)] {
            XCTAssertEqual(ToyLyapunov.eulerMaruyamaExponent(drift: 1, sigma: s, dt: dt) - (1 - s * s / 2), bias, accuracy: 1e-8,
                           "σ = \(s), Δt = \(dt)")
        }
    }

    /// The exact scheme reads the Brownian paths of `nsde toy` (``StabilityToy``) with the same
    /// seed, T and steps: λ̂·T equals that toy's exact mean log|x_T| (float32 sums there).
    func testExactSchemeUsesTheToysBrownianPaths() throws {
        let lyapunov = try ToyLyapunov(sigma: 1.3, tEnd: 2, paths: 64, steps: 40, seed: 9, scheme: .exact).run()
        let toy = try StabilityToy(sigma: 1.3, tEnd: 2, paths: 64, steps: 40, seed: 9).run()
        XCTAssertEqual(lyapunov.lyapunov * 2, toy.exactMeanLogAbs, accuracy: 1e-5)
    }

    /// Seeded runs are bit-identical; another seed gives another estimate.
    func testSeedDeterminesTheResult() throws {
        for scheme in ToyLyapunov.Scheme.allCases {
            let toy = ToyLyapunov(sigma: 1.5, tEnd: 3, paths: 50, steps: 300, seed: 7, scheme: scheme)
            XCTAssertEqual(try toy.run(), try toy.run())
            var other = toy
            other.seed = 8
            XCTAssertNotEqual(try toy.run().lyapunov, try other.run().lyapunov)
        }
    }

    /// Renormalising every step or every 50 gives the same λ̂ (up to rounding), and log-space
    /// accumulation survives T = 2000 where |ε_T| = 1.1²⁰⁰⁰⁰ would overflow a Double.
    func testLogSpaceAccumulationIsExactAndNeverOverflows() throws {
        let a = try ToyLyapunov(sigma: 1, tEnd: 5, paths: 20, steps: 500, seed: 4, scheme: .eulerMaruyama, renormalizeEvery: 1).run()
        let b = try ToyLyapunov(sigma: 1, tEnd: 5, paths: 20, steps: 500, seed: 4, scheme: .eulerMaruyama, renormalizeEvery: 50).run()
        XCTAssertEqual(a.lyapunov, b.lyapunov, accuracy: 1e-12)
        let long = try ToyLyapunov(sigma: 0, tEnd: 2000, paths: 2, steps: 20_000, seed: 0, scheme: .eulerMaruyama, renormalizeEvery: 1000).run()
        XCTAssertEqual(long.lyapunov, log(1.1) / 0.1, accuracy: 1e-9)
        XCTAssertTrue(long.isStable == false)
        XCTAssertEqual(long.discreteTheory, log(1.1) / 0.1, accuracy: 1e-12)
    }

    /// Invalid settings throw ``StabilityError/invalidParameter(name:value:expected:)`` naming the setting.
    func testInvalidSettingsNameTheParameter() {
        func message(_ toy: ToyLyapunov) -> String {
            do { _ = try toy.run(); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(ToyLyapunov(sigma: -1)), "invalid sigma: expected a finite value ≥ 0, got -1.0")
        XCTAssertEqual(message(ToyLyapunov(paths: 1)), "invalid paths: expected at least 2, got 1")
        XCTAssertEqual(message(ToyLyapunov(renormalizeEvery: 0)), "invalid renormalize-every: expected 1...1000 steps, got 0")
        XCTAssertEqual(message(ToyLyapunov(tEnd: 0)), "invalid t-end: expected a finite value > 0, got 0.0")
    }

    /// The λ-versus-σ figure: one estimate per σ, theory and λ = 0 lines, ±2 SE bars; the
    /// Euler–Maruyama curve only for that scheme; valid SVG.
    func testFigureDrawsEstimatesTheoryAndBars() throws {
        let base = ToyLyapunov(tEnd: 2, paths: 20, steps: 20, seed: 1)
        let figure = ToyLyapunovFigure(sigmas: [0, 1, 2])
        let results = try figure.sweep(base)
        XCTAssertEqual(results.map(\.configuration.sigma), [0, 1, 2])
        let plot = figure.plot(results)
        XCTAssertTrue(plot.series.contains { $0.name == "theory 1 − σ²/2" })
        XCTAssertFalse(plot.series.contains { $0.name.hasPrefix("Euler–Maruyama map") })
        XCTAssertEqual(plot.series.filter { $0.points.count == 2 && $0.points[0].x == $0.points[1].x }.count, 3)   // error bars
        XCTAssertNil(XMLCheck.parse(plot.svgString()).error)
        var em = base
        em.scheme = .eulerMaruyama
        XCTAssertTrue(try figure.render(em).series.contains { $0.name.hasPrefix("Euler–Maruyama map") })
        XCTAssertThrowsError(try ToyLyapunovFigure(sigmas: []).sweep(base))
    }
}
