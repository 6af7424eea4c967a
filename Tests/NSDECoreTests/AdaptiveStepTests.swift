import Foundation
import XCTest
import NSDETensor
@testable import NSDECore

/// Adaptive step-size control: the PI controller's decisions, convergence to the exact solution
/// on a fixed Brownian path as the tolerance tightens, and the errors for bad settings.
final class AdaptiveStepTests: XCTestCase {
    func testPIControllerDecisions() {
        let pi = PIController(rtol: 1e-3, atol: 1e-4, pCoefficient: 0, iCoefficient: 1, safety: 0.9, factorMin: 0.2, factorMax: 10)
        let good = pi.decide(step: 0.1, errorNorm: 0.5, errorOrder: 1, previousErrorNorm: 1)
        XCTAssertTrue(good.accept)
        XCTAssertEqual(good.nextStep, 0.1 * 0.9 / 0.5, accuracy: 1e-12)
        let bad = pi.decide(step: 0.1, errorNorm: 4, errorOrder: 2, previousErrorNorm: 1)
        XCTAssertFalse(bad.accept)
        XCTAssertEqual(bad.nextStep, 0.1 * 0.9 / 2, accuracy: 1e-12)
        XCTAssertEqual(pi.decide(step: 0.1, errorNorm: 1e6, errorOrder: 1, previousErrorNorm: 1).nextStep, 0.02, accuracy: 1e-12)
        XCTAssertEqual(pi.decide(step: 0.1, errorNorm: 0, errorOrder: 1, previousErrorNorm: 1).nextStep, 1, accuracy: 1e-12)
        XCTAssertFalse(pi.decide(step: 0.1, errorNorm: .nan, errorOrder: 1, previousErrorNorm: 1).accept)
        let floor = PIController(dtMin: 0.05)
        XCTAssertTrue(floor.decide(step: 0.05, errorNorm: 100, errorOrder: 1, previousErrorNorm: 1).accept)
        // The proportional term damps growth after a large previous error.
        let damped = PIController(pCoefficient: 0.2, iCoefficient: 0.3)
        XCTAssertLessThan(damped.decide(step: 0.1, errorNorm: 0.5, errorOrder: 1, previousErrorNorm: 0.1).nextStep,
                          damped.decide(step: 0.1, errorNorm: 0.5, errorOrder: 1, previousErrorNorm: 1).nextStep)
    }

    /// On one Brownian path, the strong error against the exact GBM solution shrinks as the
    /// tolerance tightens, for an embedded estimate (Heun) and for step doubling (Milstein).
    func testErrorShrinksWithToleranceOnTheSamePath() throws {
        let paths = 200, T = 1.0
        for (solver, calculus) in [(SolverKind.heun, StochasticCalculus.stratonovich), (.milstein, .ito)] {
            let gbm = GBM(mu: 0.5, sigma: 0.8, calculus: calculus)
            let motion = BrownianInterval(shape: [paths], t0: 0, t1: T, seed: 31)
            let exact = gbm.exact(x0: 1, t: T, w: motion.increment(from: 0, to: T).w)
            var errors: [Double] = [], steps: [Int] = [], rejected = 0
            for rtol in [1e-1, 1e-2, 1e-3] {
                let sol = try sdeint(gbm, y0: Tensor(repeating: 1, shape: [paths]), times: [0, T], solver: solver, dt: 0.1,
                                     stepSize: PIController(rtol: rtol, atol: rtol), brownian: .custom(motion))
                errors.append(meanAbsDifference(sol.final.scalars.map(Double.init), exact))
                steps.append(sol.stats.acceptedSteps)
                rejected += sol.stats.rejectedSteps
            }
            print("\(solver): errors \(errors), accepted steps \(steps), rejected \(rejected)")
            XCTAssertGreaterThan(errors[0], 2 * errors[1], "\(solver)")
            XCTAssertGreaterThan(errors[1], 2 * errors[2], "\(solver)")
            XCTAssertLessThan(steps[0], steps[2])
            XCTAssertGreaterThan(rejected, 0, "\(solver): a PI controller on an SDE rejects some steps")
        }
    }

    /// Output times are hit exactly, the result does not depend on the initial step much, and the
    /// same seed gives bit-identical adaptive solves.
    func testOutputsAndReproducibility() throws {
        let gbm = GBM(mu: 0.5, sigma: 0.5, calculus: .stratonovich)
        let y0 = Tensor(repeating: 1, shape: [16])
        let a = try sdeint(gbm, y0: y0, times: [0, 0.25, 0.7, 1], solver: .heun, dt: 0.01, stepSize: PIController(),
                           brownian: .interval(seed: 3))
        let b = try sdeint(gbm, y0: y0, times: [0, 0.25, 0.7, 1], solver: .heun, dt: 0.01, stepSize: PIController(),
                           brownian: .interval(seed: 3))
        XCTAssertEqual(a.states.scalars.map(\.bitPattern), b.states.scalars.map(\.bitPattern))
        XCTAssertEqual(a.states.shape, [4, 16])
        let c = try sdeint(gbm, y0: y0, times: [0, 0.25, 0.7, 1], solver: .heun, dt: 0.3, stepSize: PIController(),
                           brownian: .interval(seed: 3))
        XCTAssertLessThan(meanAbsDifference(a.final.scalars.map(Double.init), c.final.scalars.map(Double.init)), 0.02)
    }

    func testBadSettingsThrow() {
        let gbm = GBM(mu: 0.5, sigma: 0.5)
        let y0 = Tensor(repeating: 1, shape: [4])
        XCTAssertThrowsError(try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.1, stepSize: PIController())) {
            XCTAssertEqual($0 as? SDEError, .adaptiveStepsNeedInterval)
            XCTAssertTrue("\($0)".contains(".interval"))
        }
        XCTAssertThrowsError(try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.1, stepSize: PIController(rtol: 0),
                                        brownian: .interval(seed: 1))) {
            XCTAssertEqual($0 as? SDEError, .invalidTolerance(rtol: 0, atol: 1e-4))
        }
        XCTAssertThrowsError(try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.1, stepSize: PIController(safety: 2),
                                        brownian: .interval(seed: 1))) {
            XCTAssertTrue("\($0)".contains("safety 2"), "\($0)")
        }
        XCTAssertThrowsError(try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.1,
                                        stepSize: PIController(rtol: 1e-7, atol: 1e-7, maxSteps: 20), brownian: .interval(seed: 1))) {
            guard case .tooManySteps(20, _)? = $0 as? SDEError else { return XCTFail("\($0)") }
        }
    }
}
