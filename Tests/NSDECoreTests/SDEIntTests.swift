import Foundation
import XCTest
import NSDENN
import NSDETensor
import NSDETestSupport
@testable import NSDECore

/// The `sdeint` entry point: outputs, counts, determinism, gradients and every error message.
final class SDEIntTests: XCTestCase {
    let gbm = GBM(mu: 0.5, sigma: 0.3)

    func testReturnsStatesAtRequestedTimesWithCounts() throws {
        let y0 = Tensor(repeating: 1, shape: [4, 3])
        let sol = try sdeint(gbm, y0: y0, times: [0, 0.25, 1], solver: .eulerMaruyama, dt: 0.05)
        XCTAssertEqual(sol.states.shape, [3, 4, 3])
        XCTAssertEqual(sol.state(at: 0).scalars, y0.scalars)
        XCTAssertEqual(sol.stats.acceptedSteps, 20)
        XCTAssertEqual(sol.stats.driftEvaluations, 20)
        XCTAssertEqual(sol.stats.diffusionEvaluations, 20)
        XCTAssertEqual(sol.stats.rejectedSteps, 0)
        // Output times off the step grid shorten the step before them (interval Brownian motion).
        let strat = GBM(mu: 0.5, sigma: 0.3, calculus: .stratonovich)
        let off = try sdeint(strat, y0: y0, times: [0, 0.33, 1], solver: .heun, dt: 0.1, brownian: .interval(seed: 1))
        XCTAssertEqual(off.stats.acceptedSteps, 11)
    }

    /// The shapes are checked on the solve's own evaluations: the drift runs once per step, not
    /// once more for a check (10 steps, 10 calls, for every gradient method).
    func testNoExtraDriftEvaluationForTheShapeCheck() throws {
        final class Counter: @unchecked Sendable { var calls = 0 }
        for gradient in [GradientMethod.backprop, .adjoint, .checkpointed(every: 3), .forwardSensitivity] {
            let counter = Counter()
            let sde = NeuralDriftSDE(drift: { _, y in counter.calls += 1; return -y }, diffusion: AdditiveDiffusion(sigma: 0.1))
            let sol = try sdeint(sde, y0: Tensor(repeating: 1, shape: [3, 2]), times: [0, 1], solver: .eulerMaruyama, dt: 0.1,
                                 gradient: gradient)
            XCTAssertEqual(counter.calls, 10, "\(gradient)")
            XCTAssertEqual(sol.stats.driftEvaluations, 10, "\(gradient)")
        }
    }

    /// A diffusion whose product has the wrong shape is an error, not a crash, with every gradient
    /// method of Euler–Maruyama (the solver that forms g·ΔW through the product); so is a wrong
    /// drift.
    func testWrongShapesAreErrorsForEverySolverAndGradient() {
        struct WrongProduct: SDE {
            var calculus: StochasticCalculus
            var noise: NoiseType { .diagonal }
            func drift(_ t: Double, _ y: Tensor) -> Tensor { -y }
            func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y * 0.1 }
            func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor { y.sum() }
        }
        let y0 = Tensor(repeating: 1, shape: [2])
        let sde = WrongProduct(calculus: .ito)
        for gradient in [GradientMethod.backprop, .adjoint, .checkpointed(every: 2), .forwardSensitivity] {
            XCTAssertThrowsError(try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.1, gradient: gradient)) {
                XCTAssertEqual($0 as? SDEError, .shapeMismatch(what: "The diffusion product g(t, y)·ΔW", expected: [2], found: []),
                               "\(gradient)")
            }
        }
        let wrongDrift = NeuralDriftSDE(drift: { _, y in y.sum() }, diffusion: MultiplicativeDiffusion(sigma: 0.1))
        for gradient in [GradientMethod.backprop, .adjoint] {
            XCTAssertThrowsError(try sdeint(wrongDrift, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.1, gradient: gradient)) {
                XCTAssertEqual($0 as? SDEError, .shapeMismatch(what: "The drift f(t, y)", expected: [2], found: []))
            }
        }
    }

    /// The shape check evaluates the diffusion product on its own once per solve before the first
    /// fused update, unless the SDE declares that update elementwise.
    func testElementwiseUpdatesSkipTheSeparateProduct() throws {
        final class Counter: @unchecked Sendable { var products = 0 }
        struct Counted: SDE {
            let counter: Counter
            let eulerMaruyamaUpdateIsElementwise: Bool
            var calculus: StochasticCalculus { .ito }
            var noise: NoiseType { .diagonal }
            func drift(_ t: Double, _ y: Tensor) -> Tensor { -y }
            func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y * 0.1 }
            func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
                counter.products += 1
                return (y * dW) * 0.1
            }
            func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
                y.addingScaled(f, h, y * dW, 0.1)
            }
        }
        for elementwise in [false, true] {
            let counter = Counter()
            let sol = try sdeint(Counted(counter: counter, eulerMaruyamaUpdateIsElementwise: elementwise),
                                 y0: Tensor(repeating: 1, shape: [3]), times: [0, 1], solver: .eulerMaruyama, dt: 0.25)
            XCTAssertEqual(counter.products, elementwise ? 0 : 1, "elementwise \(elementwise)")
            XCTAssertEqual(sol.stats.acceptedSteps, 4)
        }
    }

    func testSameSeedIsBitIdenticalAndSeedsDiffer() throws {
        let y0 = Tensor(repeating: 1, shape: [64])
        for source in [BrownianSource.grid(seed: 5), .interval(seed: 5)] {
            let a = try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.01, brownian: source).final
            let b = try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.01, brownian: source).final
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern))
        }
        let c = try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.01, brownian: .grid(seed: 6)).final
        let a = try sdeint(gbm, y0: y0, times: [0, 1], solver: .milstein, dt: 0.01, brownian: .grid(seed: 5)).final
        XCTAssertNotEqual(a.scalars, c.scalars)
    }

    /// Backpropagation through the solver matches central finite differences in y₀ and a drift
    /// parameter (same Brownian path for every evaluation).
    func testBackpropagationMatchesFiniteDifferences() {
        assertGradientsMatchFiniteDifferences([Tensor([0.8, 1.2, 1.0]), Tensor([0.4])], checkJVP: false) { inputs in
            let a = inputs[1]
            let sde = NeuralDriftSDE(drift: { _, y in y * a - y.squared() * 0.1 }, diffusion: MultiplicativeDiffusion(sigma: 0.3))
            let sol = try! sdeint(sde, y0: inputs[0], times: [0, 0.5], solver: .eulerMaruyama, dt: 0.05)
            return sol.final.squared().sum()
        }
    }

    /// A backprop solve keeps its states separate: each state is the solver's own tensor (no
    /// stacking copy), the stacked `states` hold the same values, and the gradients through
    /// `final`, through several states and through `states` match.
    func testBackpropStatesAreTheSolversOwnAndStackToTheSameValues() throws {
        let y0 = Tensor([0.8, 1.2, 1.0, 0.5, -0.3, 2.0]).reshaped([2, 3])
        let a = Tensor([0.4])
        func solve(_ p: [Tensor]) -> Solution {
            let sde = NeuralDriftSDE(drift: { _, y in y * p[1] - y.squared() * 0.1 }, diffusion: AdditiveDiffusion(sigma: 0.2))
            return try! sdeint(sde, y0: p[0], times: [0, 0.25, 0.5], solver: .eulerMaruyama, dt: 0.05)
        }
        let sol = solve([y0, a])
        XCTAssertEqual(sol.states.shape, [3, 2, 3])
        for i in 0..<3 {
            XCTAssertEqual(sol.state(at: i).scalars, sol.states.slice(axis: 0, i..<(i + 1)).reshaped([2, 3]).scalars)
        }
        XCTAssertTrue(sol.state(at: 0).storage === y0.storage, "y₀ is returned as given")
        let throughStates = valueAndGradient(of: { p in
            let s = solve(p).states
            return (s.slice(axis: 0, 1..<2) * 2 + s.slice(axis: 0, 2..<3)).sum()
        }, at: [y0, a])
        let throughEach = valueAndGradient(of: { p in
            let sol = solve(p)
            return (sol.state(at: 1) * 2 + sol.final).sum()
        }, at: [y0, a])
        XCTAssertEqual(throughEach.value.scalars, throughStates.value.scalars)
        for (g, h) in zip(throughEach.gradients, throughStates.gradients) { XCTAssertEqual(g.scalars, h.scalars, accuracy: 1e-6) }
    }

    /// General noise: g is [batch, state, noise] and acts as a matrix on a [batch, noise] increment.
    func testGeneralNoiseAppliesTheDiffusionMatrix() throws {
        struct Linear2x3: SDE {
            var calculus: StochasticCalculus { .ito }
            var noise: NoiseType { .general }
            var noiseDimension: Int { 3 }
            func drift(_ t: Double, _ y: Tensor) -> Tensor { Tensor(repeating: 0, shape: y.shape) }
            func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor {
                Tensor(shape: [1, 2, 3], scalars: [1, 2, 3, 4, 5, 6]).broadcast(to: [y.shape[0], 2, 3])
            }
        }
        let grid = BrownianGrid(shape: [2, 3], dt: 0.5, seed: 3)
        let sol = try sdeint(Linear2x3(), y0: Tensor(repeating: 0, shape: [2, 2]), times: [0, 0.5], solver: .eulerMaruyama,
                             dt: 0.5, brownian: .custom(grid))
        let w = grid.stepIncrement(0)
        for b in 0..<2 {
            XCTAssertEqual(sol.final[b, 0], w[b, 0] + 2 * w[b, 1] + 3 * w[b, 2], accuracy: 1e-5)
            XCTAssertEqual(sol.final[b, 1], 4 * w[b, 0] + 5 * w[b, 1] + 6 * w[b, 2], accuracy: 1e-5)
        }
    }

    /// Reversible Heun's backward step recovers the initial state to float32 rounding.
    func testReversibleHeunStepsBackExactly() {
        let sde = GBM(mu: 0.5, sigma: 0.4, calculus: .stratonovich)
        let grid = BrownianGrid(shape: [50], dt: 0.02, seed: 12)
        let solver = ReversibleHeun()
        let y0 = Tensor.randomUniform([50], low: 0.5, high: 1.5, seed: 1)
        var y = y0, state: [Tensor]? = nil
        for k in 0..<50 {
            let r = solver.step(sde, from: Double(k) * 0.02, to: Double(k + 1) * 0.02, state: y,
                                increment: grid.increment(from: Double(k) * 0.02, to: Double(k + 1) * 0.02), solverState: state)
            y = r.state; state = r.solverState
        }
        for k in (0..<50).reversed() {
            let r = solver.backwardStep(sde, from: Double(k + 1) * 0.02, to: Double(k) * 0.02, state: y,
                                        increment: grid.increment(from: Double(k) * 0.02, to: Double(k + 1) * 0.02), solverState: state!)
            y = r.state; state = r.solverState
        }
        for (a, b) in zip(y.scalars, y0.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        for (a, b) in zip(state![0].scalars, y0.scalars) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }

    // MARK: - Errors

    func assertThrows(_ expected: SDEError, message: String, _ body: () throws -> Solution,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? SDEError, expected, file: file, line: line)
            XCTAssertEqual((error as? SDEError)?.description, message, file: file, line: line)
        }
    }

    func testErrorsNameWhatWhereExpectedAndFound() {
        let y0 = Tensor(repeating: 1, shape: [2])
        assertThrows(.emptyTimes, message: "The time grid is empty: give at least one time") {
            try sdeint(gbm, y0: y0, times: [], solver: .eulerMaruyama, dt: 0.1)
        }
        assertThrows(.nonIncreasingTimes(index: 2, previous: 1, next: 1),
                     message: "Times must be strictly increasing: times[2] = 1.0 does not exceed times[1] = 1.0") {
            try sdeint(gbm, y0: y0, times: [0, 1, 1], solver: .eulerMaruyama, dt: 0.1)
        }
        assertThrows(.invalidStepSize(0), message: "Step size must be positive and finite, got 0.0") {
            try sdeint(gbm, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0)
        }
        struct General: SDE {
            var calculus: StochasticCalculus { .ito }
            var noise: NoiseType { .general }
            func drift(_ t: Double, _ y: Tensor) -> Tensor { y }
            func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y.reshaped([y.shape[0], y.shape[1], 1]) }
        }
        assertThrows(.unsupportedNoise(solver: "Milstein", noise: .general, supported: [.diagonal, .additive, .scalar]),
                     message: "Milstein does not support general noise (supported: diagonal, additive, scalar)") {
            try sdeint(General(), y0: Tensor(repeating: 1, shape: [2, 2]), times: [0, 1], solver: .milstein, dt: 0.1)
        }
        assertThrows(.calculusMismatch(solver: "Heun", solverCalculus: .stratonovich, sdeCalculus: .ito),
                     message: "Heun solves Stratonovich SDEs, but the SDE is Itô") {
            try sdeint(gbm, y0: y0, times: [0, 1], solver: .heun, dt: 0.1)
        }
        let ou = OU(theta: 1, mean: 0, sigma: 1)
        assertThrows(.levyAreaUnavailable(solver: "SRA1"),
                     message: "SRA1 needs the space-time Lévy area, which this Brownian motion does not provide (build it with levyArea: true)") {
            try sdeint(ou, y0: y0, times: [0, 1], solver: .sra1, dt: 0.1,
                       brownian: .custom(BrownianInterval(shape: [2], t0: 0, t1: 1, seed: 0)))
        }
        let wrong = NeuralDriftSDE(drift: { _, y in y.sum() }, diffusion: NoDiffusion())
        assertThrows(.shapeMismatch(what: "The drift f(t, y)", expected: [2], found: []),
                     message: "The drift f(t, y) has shape [], expected [2]") {
            try sdeint(wrong, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.1)
        }
        let blowUp = NeuralDriftSDE(drift: { _, y in y.squared() * y.squared() }, diffusion: NoDiffusion())
        assertThrows(.nonFiniteState(step: 3, time: 0.30000000000000004),
                     message: "The state became non-finite (NaN or infinity) at step 3, time 0.30000000000000004") {
            try sdeint(blowUp, y0: Tensor(repeating: 100, shape: [2]), times: [0, 1], solver: .eulerMaruyama, dt: 0.1)
        }
        assertThrows(.brownianQueryUnavailable(time: 0.15),
                     message: "The Brownian motion cannot be queried at time 0.15 (off its grid or outside its interval)") {
            try sdeint(gbm, y0: y0, times: [0, 0.15], solver: .eulerMaruyama, dt: 0.1)
        }
        assertThrows(.invalidTolerance(rtol: -1, atol: 1e-6), message: "Tolerances must be positive and finite, got rtol -1.0, atol 1e-06") {
            try odeint({ _, y in y }, y0: y0, times: [0, 1], rtol: -1)
        }
        assertThrows(.missingStepSize(solver: "RK4"), message: "RK4 takes fixed steps: give dt") {
            try odeint({ _, y in -y }, y0: y0, times: [0, 1], solver: .rk4)
        }
        XCTAssertThrowsError(try odeint({ _, y in -y }, y0: y0, times: [0, 10], dt: 0.1, maxSteps: 3)) { error in
            guard case let .tooManySteps(maxSteps, time) = error as? SDEError else { return XCTFail("\(error)") }
            XCTAssertEqual(maxSteps, 3)
            XCTAssertEqual((error as! SDEError).description, "Exceeded 3 steps, stopped at time \(time)")
        }
    }
}
