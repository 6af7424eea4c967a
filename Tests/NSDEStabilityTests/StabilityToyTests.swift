import Foundation
import NSDETestSupport
import XCTest
import NSDECore
@testable import NSDEStability

/// The paper's Figure 1 toy, dx = x dt + σ x dB (Itô), from the library.
final class StabilityToyTests: XCTestCase {
    /// E log|x_T| by Euler–Maruyama is within 3 standard errors of the exact solution on the same
    /// Brownian paths, and the exact mean within 3 of its standard errors of the Itô theory
    /// (1 − σ²/2)T. Steps are chosen so Euler–Maruyama's bias, about (3/4)σ⁴TΔt, stays below 0.2
    /// standard errors: σ = 0.5, 1 and 2.8 with 100, 200 and 2000 steps on [0, 1].
    func testMeanLogAbsMatchesExactSolution() throws {
        for (sigma, paths, steps) in [(Float(0.5), 1000, 100), (1, 1000, 200), (2.8, 500, 2000)] {
            let toy = StabilityToy(sigma: sigma, tEnd: 1, paths: paths, steps: steps, seed: 11)
            let r = try toy.run()
            let s = Double(sigma)
            XCTAssertEqual(r.theory, (1 - s * s / 2) * 1, accuracy: 1e-12)
            XCTAssertEqual(r.meanLogAbs, r.exactMeanLogAbs, accuracy: 3 * r.standardError, "σ = \(sigma)")
            XCTAssertEqual(r.exactMeanLogAbs, r.theory, accuracy: 3 * r.exactStandardError, "σ = \(sigma)")
            XCTAssertEqual(r.standardError, s / Double(paths).squareRoot(), accuracy: 0.2 * s / Double(paths).squareRoot())
            XCTAssertEqual(r.driftEvaluations, steps)
            XCTAssertEqual(r.configuration, toy)
        }
        // With strong noise, log|x_T| is negative on average although the drift is positive.
        XCTAssertLessThan(try StabilityToy(sigma: 2.8, tEnd: 1, paths: 200, steps: 500, seed: 2).run().meanLogAbs, 0)
    }

    /// σ = 0 is the ODE dx = x dt: every path is (1 + Δt)ⁿ (float32), with zero standard error
    /// (up to rounding);
    /// the exact value and theory are T.
    func testODECaseMatchesClosedForm() throws {
        let r = try StabilityToy(sigma: 0, tEnd: 2, paths: 10, steps: 400, seed: 5).run()
        XCTAssertEqual(r.standardError, 0, accuracy: 1e-12)        // identical paths; only rounding in the variance
        XCTAssertEqual(r.exactMeanLogAbs, 2, accuracy: 1e-12)
        XCTAssertEqual(r.theory, 2)
        XCTAssertEqual(r.meanLogAbs, 400 * log1p(2.0 / 400), accuracy: 1e-4)   // float32 products: ~n·6e-8 relative
    }

    /// The same seed gives bit-identical results; different seeds give different paths.
    func testSeedDeterminesTheResult() throws {
        let toy = StabilityToy(sigma: 1.5, tEnd: 1, paths: 100, steps: 50, seed: 7)
        let a = try toy.run(), b = try toy.run()
        XCTAssertEqual(a, b)
        var other = toy
        other.seed = 8
        let c = try other.run()
        XCTAssertNotEqual(a.meanLogAbs, c.meanLogAbs)
        XCTAssertNotEqual(a.exactMeanLogAbs, c.exactMeanLogAbs)
        XCTAssertEqual(try toy.trajectories(outputPoints: 10, samplePaths: 3), try toy.trajectories(outputPoints: 10, samplePaths: 3))
    }

    /// Trajectories take the same steps as `run()`: the last point's mean log|x_T| is identical,
    /// times run from 0 to T on the grid, and sample paths start at x₀ = 1.
    func testTrajectoriesEndWhereRunEnds() throws {
        let toy = StabilityToy(sigma: 2, tEnd: 1.5, paths: 64, steps: 90, seed: 3)
        let run = try toy.run()
        let tr = try toy.trajectories(outputPoints: 40, samplePaths: 5)
        XCTAssertEqual(tr.times.first, 0)
        XCTAssertEqual(tr.times.last, 1.5)
        XCTAssertEqual(tr.times.count, 30 + 1)     // every ⌈90/40⌉ = 3 steps: 0, 3, …, 87, then 90
        XCTAssertEqual(tr.samplePaths.count, 5)
        XCTAssertTrue(tr.samplePaths.allSatisfy { $0.count == tr.times.count && $0[0] == 1 })
        for series in [tr.meanValue, tr.meanLogAbs, tr.exactMeanLogAbs, tr.theoryLogAbs] {
            XCTAssertEqual(series.count, tr.times.count)
        }
        XCTAssertEqual(tr.meanLogAbs.last, run.meanLogAbs)
        XCTAssertEqual(tr.exactMeanLogAbs.last!, run.exactMeanLogAbs, accuracy: 1e-4)  // float32 sums in another order
        XCTAssertEqual(tr.meanValue[0], 1)
        XCTAssertEqual(tr.meanLogAbs[0], 0)
        XCTAssertEqual(tr.theoryLogAbs.last!, run.theory, accuracy: 1e-12)
        XCTAssertEqual(tr.driftEvaluations, run.driftEvaluations)
    }

    /// Invalid settings throw an error naming the setting, the value and the valid range.
    func testInvalidSettingsAreNamed() {
        let cases: [(StabilityToy, String)] = [
            (StabilityToy(paths: 1), "invalid paths: expected at least 2, got 1"),
            (StabilityToy(steps: 0), "invalid steps: expected at least 1, got 0"),
            (StabilityToy(sigma: -1), "invalid sigma: expected a finite value ≥ 0, got -1.0"),
            (StabilityToy(tEnd: .infinity), "invalid t-end: expected a finite value > 0, got inf"),
        ]
        for (toy, message) in cases {
            XCTAssertThrowsError(try toy.run()) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertThrowsError(try StabilityToy(paths: 4).trajectories(samplePaths: 5)) {
            XCTAssertEqual("\($0)", "invalid sample paths: expected 0...4, got 5")
        }
        XCTAssertThrowsError(try StabilityToyFigure(sigmas: []).simulate(StabilityToy())) {
            XCTAssertEqual("\($0)", "invalid sigmas: expected at least one σ, got []")
        }
    }

    /// The figure has one panel per σ (the paper's 0 and 2.8 by default), each with its sample
    /// paths and the mean as lines, and the legend names them; log|x_t| adds the theory line.
    func testFigureDrawsSamplePathsAndMeanPerSigma() throws {
        XCTAssertEqual(StabilityToy.paperSigmas, [0, 2.8])
        let base = StabilityToy(tEnd: 1, paths: 50, steps: 100, seed: 1)
        for quantity in StabilityToyFigure.Quantity.allCases {
            let figure = StabilityToyFigure(quantity: quantity, samplePaths: 6, outputPoints: 25)
            let runs = try figure.simulate(base)
            XCTAssertEqual(runs.map(\.configuration.sigma), [0, 2.8])
            let svg = figure.plot(runs).svgString()
            let xml = XMLCheck.parse(svg)
            XCTAssertNil(xml.error, svg)
            XCTAssertTrue(xml.texts.contains("σ = 0 (ODE)") && xml.texts.contains("σ = 2.8"), "\(xml.texts)")
            XCTAssertTrue(xml.texts.contains("6 sample paths") && xml.texts.contains("mean of 50 paths"))
            XCTAssertTrue(xml.texts.contains(quantity == .value ? "xₜ" : "log|xₜ|"))
            let lines = 6 + 1 + (quantity == .logAbs ? 1 : 0)
            XCTAssertEqual(xml.pathData.count, 2 * lines)
            XCTAssertEqual(xml.texts.contains("theory (1 − σ²/2)t"), quantity == .logAbs)
            XCTAssertFalse(svg.lowercased().contains("nan") || svg.contains("inf"))
        }
        // σ = 0: every path is the ODE's, growing to about e^T.
        let ode = try StabilityToyFigure(sigmas: [0], samplePaths: 2, outputPoints: 10).simulate(base)[0]
        XCTAssertEqual(ode.samplePaths[0], ode.samplePaths[1])
        XCTAssertEqual(ode.meanValue.last!, M_E, accuracy: 0.02)
    }
}
