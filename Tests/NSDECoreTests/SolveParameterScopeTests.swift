import NSDECore
@testable import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

/// `sdeint` runs its solve, and the solve's backward pass, with the parameters' values fixed
/// (`Parameter.withValuesFixed`), and so does `odeint`: every drift evaluation reuses one
/// transpose per weight matrix, outside batch shards too.
final class SolveParameterScopeTests: XCTestCase {
    /// Records, at each call, whether a fixed-parameter scope is active; passes x through.
    private final class ScopeProbe: Module, Layer {
        var seen: [Bool] = []
        override init() { super.init() }
        func callAsFunction(_ x: Tensor) -> Tensor {
            seen.append(Parameter.fixedTransposes != nil)
            return x
        }
    }

    func testDriftEvaluationsRunInTheScope() throws {
        // Backprop through the tape-free steps (whose backward re-runs the parameter-free probe),
        // the stochastic adjoint (whose backward re-evaluates the drift) and checkpointing (whose backward re-runs stretches of steps).
        for gradient in [GradientMethod.backprop, .adjoint, .checkpointed(every: 2)] {
            Initializer.manualSeed(3)
            let probe = ScopeProbe()
            let net = Sequential([Linear(4, 8), Tanh(), probe, Linear(8, 4)])
            let sde = NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.2))
            var y0 = TestData.uniform([5, 4], seed: 1)
            y0.requiresGrad = true
            let loss = try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.25, gradient: gradient)
                .final.squared().sum()
            let forward = probe.seen.count
            XCTAssertGreaterThanOrEqual(forward, 4, "\(gradient): one evaluation per step")
            loss.backward()
            XCTAssertGreaterThan(probe.seen.count, forward, "\(gradient): the backward pass runs the probe again")
            XCTAssertEqual(probe.seen, Array(repeating: true, count: probe.seen.count), "\(gradient): \(probe.seen)")
            XCTAssertNotNil(y0.grad)
            XCTAssertNil(Parameter.fixedTransposes, "no scope left behind")
        }
        XCTAssertNil(Linear(2, 2).weight.cachedTransposedValue)
    }

    func testODERightHandSideRunsInTheScope() throws {
        Initializer.manualSeed(4)
        let probe = ScopeProbe()
        let net = Sequential([Linear(4, 8), Tanh(), probe, Linear(8, 4)])
        for solver in [ODESolverKind.dopri5, .rk4] {
            probe.seen = []
            let sol = try odeint({ _, y in net(y) }, y0: TestData.uniform([3, 4], seed: 2), times: [0, 0.5, 1], solver: solver, dt: 0.25)
            XCTAssertEqual(sol.final.shape, [3, 4])
            XCTAssertGreaterThan(probe.seen.count, 2, "\(solver)")
            XCTAssertEqual(probe.seen, Array(repeating: true, count: probe.seen.count), "\(solver): \(probe.seen)")
        }
        XCTAssertNil(Parameter.fixedTransposes)
    }
}
