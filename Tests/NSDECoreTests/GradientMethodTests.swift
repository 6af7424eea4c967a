import Foundation
import XCTest
import NSDENN
import NSDETensor
import NSDETestSupport
@testable import NSDECore

/// Every gradient method against backpropagation on the same Brownian path, and against finite
/// differences of the pathwise loss; memory of the adjoint flat in the number of steps.
final class GradientMethodTests: XCTestCase {
    /// A small MLP drift 3 → 8 (tanh) → 3, reproducibly initialised.
    func mlp(seed: UInt64 = 3) -> Sequential {
        Initializer.manualSeed(seed)
        return Sequential([Linear(3, 8), Tanh(), Linear(8, 3)])
    }

    /// The gradients of a nonlinear loss of all output states, with respect to y₀ and every
    /// parameter of `sde`, for one gradient method.
    func gradients<S: SDE>(_ sde: S, solver: SolverKind, method: GradientMethod, dt: Double = 0.01,
                           times: [Double] = [0, 0.3, 1], brownian: BrownianSource = .grid(seed: 11),
                           stepSize: any StepSizeController = ConstantStepSize()) throws -> (loss: Float, grads: [Tensor], solution: Solution) {
        for p in sde.parameters { p.zeroGrad() }
        var y0 = TestData.uniform([4, 3], low: 0.5, high: 1.5, seed: 5)
        y0.requiresGrad = true
        let sol = try sdeint(sde, y0: y0, times: times, solver: solver, dt: dt, stepSize: stepSize, brownian: brownian, gradient: method)
        let weights = TestData.uniform(sol.states.shape, low: -1, high: 1, seed: 9)
        let loss = (sol.states.squared() * weights).sum() + (sol.final * weights.slice(axis: 0, 0..<1).reshaped([4, 3])).sum()
        loss.backward()
        let grads = [y0.grad!] + sde.parameters.map { $0.grad ?? Tensor(repeating: 0, shape: $0.shape) }
        return (loss.scalars[0], grads, sol)
    }

    // MARK: - Stochastic adjoint

    /// The adjoint matches backprop within 10⁻³ for each of the paper's noises (Itô, Euler–Maruyama)
    /// and for a learnable diffusion network; the reconstruction converged at every step.
    func testAdjointMatchesBackpropForEachNoise() throws {
        let net = mlp()
        Initializer.manualSeed(8)
        let diffusionNet = Sequential([Linear(3, 3), Tanh()])
        let cases: [(String, any SDE)] = [
            ("additive", NeuralDriftSDE(drift: net, diffusion: AdditiveDiffusion(sigma: 0.3))),
            ("multiplicative", NeuralDriftSDE(drift: net, diffusion: MultiplicativeDiffusion(sigma: 0.3))),
            ("dropout", NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.3))),
            ("neural", NeuralDriftSDE(drift: net, diffusion: NeuralDiffusion(network: diffusionNet, sigma: 0.3))),
            ("ode", NeuralDriftSDE(drift: net, diffusion: NoDiffusion())),
        ]
        for (name, sde) in cases {
            func check<S: SDE>(_ sde: S) throws {
                let reference = try gradients(sde, solver: .eulerMaruyama, method: .backprop, dt: 0.002)
                let adjoint = try gradients(sde, solver: .eulerMaruyama, method: .adjoint, dt: 0.002)
                XCTAssertEqual(adjoint.loss, reference.loss, "\(name): forward values must not depend on the method")
                assertClose(adjoint.grads, reference.grads, tolerance: 1e-3, "adjoint vs backprop, \(name) noise")
                XCTAssertEqual(adjoint.solution.backwardStats.unconvergedSteps, 0, name)
                XCTAssertEqual(adjoint.solution.backwardStats.steps, 500, name)
                XCTAssertEqual(reference.grads.count, 1 + sde.parameters.count)
            }
            try check(sde)
        }
    }

    /// The reconstruction stops on the a-posteriori error estimate ρ/(1 − ρ)·r of the accepted
    /// state: on an MLP drift like the peer benchmark's (Δt = 0.01) that is one iteration after the
    /// guess, i.e. two iterations per step (one network evaluation, the guess reusing the later
    /// step's drift), and the gradients still match backprop closely;
    /// tighter tolerances take more iterations and match more closely still.
    func testAdjointStopsOnTheErrorEstimate() throws {
        Initializer.manualSeed(21)
        let net = Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])
        let sde = NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.1))
        func run(_ method: GradientMethod) throws -> (grads: [Tensor], stats: BackwardStats) {
            for p in sde.parameters { p.zeroGrad() }
            var y0 = TestData.uniform([8, 16], low: -1, high: 1, seed: 22)
            y0.requiresGrad = true
            let sol = try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.01, brownian: .grid(seed: 23),
                                 gradient: method)
            sol.final.squared().mean().backward()
            return ([y0.grad!] + sde.parameters.map { $0.grad! }, sol.backwardStats)
        }
        let reference = try run(.backprop)
        let adjoint = try run(.adjoint)
        let tight = try run(.adjoint(rtol: 1e-7, atol: 1e-8))
        XCTAssertEqual(adjoint.stats.steps, 100)
        XCTAssertEqual(adjoint.stats.unconvergedSteps, 0)
        XCTAssertEqual(adjoint.stats.reconstructionIterations, 200, "one iteration after the guess at every step")
        // The tape-free drift's guesses after the first reuse the later step's drift.
        XCTAssertEqual(adjoint.stats.stepEvaluations, 101, "one evaluation per step, and the first step's guess")
        XCTAssertLessThanOrEqual(adjoint.stats.maxReconstructionResidual, 1)
        XCTAssertGreaterThan(tight.stats.reconstructionIterations, 200)
        XCTAssertGreaterThan(tight.stats.stepEvaluations, 101)
        let loose = zip(adjoint.grads, reference.grads).map { relativeError($0, $1) }.max()!
        let close = zip(tight.grads, reference.grads).map { relativeError($0, $1) }.max()!
        print("adjoint vs backprop, largest relative error: default tolerances \(loose), rtol 1e-7 \(close)")
        XCTAssertLessThan(loose, 3e-5)
        XCTAssertLessThan(close, 2e-6)
    }

    /// Stratonovich SDEs with a Stratonovich solver (Heun), general noise, intermediate outputs
    /// off the step grid and adaptive steps all go through the adjoint.
    func testAdjointWithStratonovichGeneralNoiseAndAdaptiveSteps() throws {
        let net = mlp(seed: 4)
        let strat = NeuralDriftSDE(calculus: .stratonovich, drift: net, diffusion: MultiplicativeDiffusion(sigma: 0.4))
        let b1 = try gradients(strat, solver: .heun, method: .backprop, times: [0, 0.33, 1], brownian: .interval(seed: 2))
        let a1 = try gradients(strat, solver: .heun, method: .adjoint, times: [0, 0.33, 1], brownian: .interval(seed: 2))
        assertClose(a1.grads, b1.grads, tolerance: 1e-3, "Stratonovich Heun")

        struct Mixing: SDE {       // general noise: g(y) = tanh(y) ⊗ c, 2 Brownian components
            let drift: Sequential
            let scale: Parameter
            var calculus: StochasticCalculus { .ito }
            var noise: NoiseType { .general }
            var noiseDimension: Int { 2 }
            var parameters: [Parameter] { drift.parameters + [scale] }
            func drift(_ t: Double, _ y: Tensor) -> Tensor { drift(y) }
            func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor {
                y.tanh().reshaped([y.shape[0], 3, 1]).matmul(scale.value.reshaped([1, 1, 2]).broadcast(to: [y.shape[0], 1, 2]))
            }
        }
        let general = Mixing(drift: net, scale: Parameter(Tensor([0.3, -0.2])))
        let b2 = try gradients(general, solver: .eulerMaruyama, method: .backprop, dt: 0.002)
        let a2 = try gradients(general, solver: .eulerMaruyama, method: .adjoint, dt: 0.002)
        assertClose(a2.grads, b2.grads, tolerance: 1e-3, "general noise")

        let sde = NeuralDriftSDE(drift: net, diffusion: MultiplicativeDiffusion(sigma: 0.3))
        let pi = PIController(rtol: 1e-3, atol: 1e-4)
        let b3 = try gradients(sde, solver: .milstein, method: .backprop, dt: 0.05, brownian: .interval(seed: 4), stepSize: pi)
        let a3 = try gradients(sde, solver: .milstein, method: .adjoint, dt: 0.05, brownian: .interval(seed: 4), stepSize: pi)
        XCTAssertEqual(a3.solution.stats, b3.solution.stats)
        XCTAssertGreaterThan(a3.solution.stats.acceptedSteps, 10)
        assertClose(a3.grads, b3.grads, tolerance: 1e-3, "adaptive Milstein")
    }

    /// The adjoint's gradient matches central finite differences of the pathwise loss.
    func testAdjointMatchesFiniteDifferences() throws {
        let a = Parameter(Tensor([0.7, -0.4, 0.2]))
        let sde = NeuralDriftSDE(drift: { _, y in (y * a.value).tanh() - y * 0.5 }, diffusion: MultiplicativeDiffusion(sigma: 0.5),
                                 parameters: [a])
        func loss() throws -> Double {
            let sol = try noGrad { try sdeint(sde, y0: Tensor(shape: [2, 3], scalars: [1, 0.5, -1, 0.2, 2, 1]), times: [0, 1], solver: .eulerMaruyama, dt: 0.001,
                                              brownian: .grid(seed: 3)) }
            return Double(sol.final.squared().sum().scalars[0])
        }
        a.zeroGrad()
        let sol = try sdeint(sde, y0: Tensor(shape: [2, 3], scalars: [1, 0.5, -1, 0.2, 2, 1]), times: [0, 1], solver: .eulerMaruyama, dt: 0.001,
                             brownian: .grid(seed: 3), gradient: .adjoint)
        sol.final.squared().sum().backward()
        let analytic = a.grad!.scalars
        let base = a.value.scalars
        for i in 0..<3 {
            let eps: Float = 1e-2
            var plus = base; plus[i] += eps
            var minus = base; minus[i] -= eps
            a.assign(Tensor(plus)); let lp = try loss()
            a.assign(Tensor(minus)); let lm = try loss()
            a.assign(Tensor(base))
            let fd = (lp - lm) / Double(2 * eps)
            XCTAssertEqual(Double(analytic[i]), fd, accuracy: 2e-3 * max(1, Swift.abs(fd)), "d loss / d a[\(i)]")
        }
    }

    /// Peak tensor memory of forward + backward with the adjoint does not grow with the number of
    /// steps (10 vs 1000), while backprop's does.
    func testAdjointMemoryIsFlatInTheNumberOfSteps() throws {
        Initializer.manualSeed(21)
        let net = Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])
        let sde = NeuralDriftSDE(drift: net, diffusion: MultiplicativeDiffusion(sigma: 0.1))
        func peakBytes(steps: Int, method: GradientMethod) throws -> Int {
            let y0 = TestData.uniform([32, 16], seed: 2)
            let pool = BufferPool.shared
            let before = pool.liveBytes
            pool.resetPeak()
            let sol = try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 1 / Double(steps), gradient: method)
            sol.final.squared().mean().backward()
            for p in sde.parameters { p.zeroGrad() }
            return pool.peakLiveBytes - before
        }
        let adjoint10 = try peakBytes(steps: 10, method: .adjoint), adjoint1000 = try peakBytes(steps: 1000, method: .adjoint)
        let backprop10 = try peakBytes(steps: 10, method: .backprop), backprop1000 = try peakBytes(steps: 1000, method: .backprop)
        print("peak bytes: adjoint \(adjoint10) -> \(adjoint1000), backprop \(backprop10) -> \(backprop1000)")
        XCTAssertLessThanOrEqual(adjoint1000, adjoint10 + adjoint10 / 10, "adjoint memory must not grow with the number of steps")
        XCTAssertGreaterThan(backprop1000, 20 * backprop10, "backprop keeps every step (sanity check of the measurement)")
        let reversible = NeuralDriftSDE(calculus: .stratonovich, drift: net, diffusion: MultiplicativeDiffusion(sigma: 0.1))
        func peakReversible(steps: Int) throws -> Int {
            let pool = BufferPool.shared
            let before = pool.liveBytes
            pool.resetPeak()
            let sol = try sdeint(reversible, y0: TestData.uniform([32, 16], seed: 2), times: [0, 1], solver: .reversibleHeun,
                                 dt: 1 / Double(steps), gradient: .reversibleAdjoint)
            sol.final.squared().mean().backward()
            for p in reversible.parameters { p.zeroGrad() }
            return pool.peakLiveBytes - before
        }
        let r10 = try peakReversible(steps: 10), r1000 = try peakReversible(steps: 1000)
        XCTAssertLessThanOrEqual(r1000, r10 + r10 / 10, "reversible adjoint memory must not grow with the number of steps")
    }

    // MARK: - Reversible Heun, checkpointing, forward sensitivity

    /// Reversible Heun's algebraic adjoint equals backprop through the same solve within 10⁻⁵.
    func testReversibleAdjointEqualsBackprop() throws {
        let net = mlp(seed: 6)
        for diffusion in [MultiplicativeDiffusion(sigma: 0.3)] as [MultiplicativeDiffusion] {
            let sde = NeuralDriftSDE(calculus: .stratonovich, drift: net, diffusion: diffusion)
            let b = try gradients(sde, solver: .reversibleHeun, method: .backprop)
            let r = try gradients(sde, solver: .reversibleHeun, method: .reversibleAdjoint)
            XCTAssertEqual(r.loss, b.loss)
            assertClose(r.grads, b.grads, tolerance: 1e-5, "reversible adjoint vs backprop")
        }
        let dropout = NeuralDriftSDE(calculus: .stratonovich, drift: net, diffusion: DropoutDiffusion(sigma: 0.3))
        let b = try gradients(dropout, solver: .reversibleHeun, method: .backprop, times: [0, 0.37, 1], brownian: .interval(seed: 8))
        let r = try gradients(dropout, solver: .reversibleHeun, method: .reversibleAdjoint, times: [0, 0.37, 1], brownian: .interval(seed: 8))
        assertClose(r.grads, b.grads, tolerance: 1e-5, "reversible adjoint, dropout noise, off-grid output")
    }

    /// Checkpointing is backprop recomputed: equal within float rounding, for several k.
    func testCheckpointedEqualsBackprop() throws {
        let net = mlp(seed: 7)
        let sde = NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.3))
        let b = try gradients(sde, solver: .eulerMaruyama, method: .backprop)
        for k in [1, 7, 30, 1000] {
            let c = try gradients(sde, solver: .eulerMaruyama, method: .checkpointed(every: k))
            assertClose(c.grads, b.grads, tolerance: 1e-6, "checkpointed(every: \(k))")
        }
        let rsde = NeuralDriftSDE(calculus: .stratonovich, drift: net, diffusion: MultiplicativeDiffusion(sigma: 0.3))
        let rb = try gradients(rsde, solver: .reversibleHeun, method: .backprop)
        let rc = try gradients(rsde, solver: .reversibleHeun, method: .checkpointed(every: 9))
        assertClose(rc.grads, rb.grads, tolerance: 1e-6, "checkpointed reversible Heun (solver state at checkpoints)")
    }

    /// The paper's forward sensitivity (eq. 10) gives backprop's gradient on the same noise.
    func testForwardSensitivityEqualsBackprop() throws {
        let a = Parameter(Tensor([0.7, -0.4, 0.2]))
        let c = Parameter(Tensor([0.3]))
        let sde = NeuralDriftSDE(drift: { _, y in (y * a.value).tanh() - y * c.value }, diffusion: MultiplicativeDiffusion(sigma: 0.4),
                                 parameters: [a, c])
        let b = try gradients(sde, solver: .eulerMaruyama, method: .backprop)
        let f = try gradients(sde, solver: .eulerMaruyama, method: .forwardSensitivity)
        assertClose(f.grads, b.grads, tolerance: 1e-4, "forward sensitivity vs backprop")
        XCTAssertEqual(f.solution.backwardStats.forwardSolves, 12 + 4)
    }

    // MARK: - Errors

    func testUnsupportedGradientCombinationsThrow() {
        let sde = NeuralDriftSDE(calculus: .stratonovich, drift: mlp(), diffusion: AdditiveDiffusion(sigma: 0.1))
        let y0 = Tensor(repeating: 1, shape: [2, 3])
        XCTAssertThrowsError(try sdeint(sde, y0: y0, times: [0, 1], solver: .reversibleHeun, dt: 0.1, gradient: .adjoint)) {
            XCTAssertTrue("\($0)".contains("reversibleAdjoint"), "\($0)")
        }
        XCTAssertThrowsError(try sdeint(sde, y0: y0, times: [0, 1], solver: .heun, dt: 0.1, gradient: .reversibleAdjoint)) {
            XCTAssertTrue("\($0)".contains("Reversible Heun"), "\($0)")
        }
    }
}
