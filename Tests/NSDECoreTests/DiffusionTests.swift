import Foundation
import XCTest
import NSDENN
import NSDETensor
@testable import NSDECore

/// The ready-made diffusions: values, products, and no second drift evaluation.
final class DiffusionTests: XCTestCase {
    final class Counter { var calls = 0 }

    func testValuesAndProducts() {
        let y = Tensor([1, -2, 3]), f = Tensor([0.5, 1, -1]), dW = Tensor([0.1, 0.2, 0.3])
        XCTAssertEqual(NoDiffusion().product(0, y, dW, drift: f).scalars, [0, 0, 0])
        XCTAssertEqual(AdditiveDiffusion(sigma: 2).product(0, y, dW, drift: f).scalars, [0.2, 0.4, 0.6])
        XCTAssertEqual(MultiplicativeDiffusion(sigma: 2).value(0, y, drift: f).scalars, [2, -4, 6])
        XCTAssertEqual(DropoutDiffusion(sigma: 2).value(0, y, drift: f).scalars, [1, 2, -2])
        XCTAssertEqual(DropoutDiffusion(sigma: 2).product(0, y, dW, drift: f).scalars, [0.1, 0.4, -0.6])
        XCTAssertEqual(DropoutDiffusion(sigma: 1).noise, .diagonal)
        XCTAssertEqual(AdditiveDiffusion(sigma: 1).noise, .additive)
    }

    /// Dropout noise σ·diag(f) reuses the step's drift: Euler–Maruyama makes one drift call per
    /// step (the shapes are checked on those calls, not by an extra one).
    func testDropoutDiffusionEvaluatesTheDriftOncePerStep() throws {
        let counter = Counter()
        let sde = NeuralDriftSDE(drift: { _, y in counter.calls += 1; return y.tanh() }, diffusion: DropoutDiffusion(sigma: 0.5))
        let sol = try sdeint(sde, y0: Tensor(repeating: 0.3, shape: [8, 4]), times: [0, 1], solver: .eulerMaruyama, dt: 0.1)
        XCTAssertEqual(sol.stats.acceptedSteps, 10)
        XCTAssertEqual(counter.calls, 10)
        counter.calls = 0
        _ = try sdeint(sde, y0: Tensor(repeating: 0.3, shape: [8, 4]), times: [0, 1], solver: HeunAsIto(), dt: 0.1)
        XCTAssertEqual(counter.calls, 2 * 10)   // Heun: two stages, each drift once
    }

    /// With no diffusion the SDE is an ODE: Heun on it equals the explicit trapezoidal rule.
    func testNoDiffusionGivesTheODESolution() throws {
        let layer = Linear(3, 3)
        let sde = NeuralDriftSDE(calculus: .stratonovich, drift: layer, diffusion: NoDiffusion())
        let y0 = Tensor.randomUniform([5, 3], seed: 4)
        let a = try sdeint(sde, y0: y0, times: [0, 1], solver: .heun, dt: 0.05).final.scalars
        let b = try odeint({ _, y in layer(y) }, y0: y0, times: [0, 1], solver: .rk4, dt: 0.05).final.scalars
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-3) }
    }
}

/// Heun, for the drift-count test (Stratonovich; the SDE there is Itô, so wrap it).
private struct HeunAsIto: SDESolver {
    static let name = "Heun (as Itô, for counting)"
    var calculus: StochasticCalculus { .ito }
    static let supportedNoise: Set<NoiseType> = Heun.supportedNoise
    static let weakOrder = 1.0
    static func strongOrder(for noise: NoiseType) -> Double { 1 }
    func step(_ sde: some SDE, from t0: Double, to t1: Double, state y0: Tensor, increment dW: BrownianIncrement,
              solverState: [Tensor]?) -> StepResult {
        Heun().step(sde, from: t0, to: t1, state: y0, increment: dW, solverState: solverState)
    }
}
