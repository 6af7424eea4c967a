import Foundation
import XCTest
import NSDENN
import NSDETensor
import NSDETestSupport
@testable import NSDECore

/// Backpropagation through Euler–Maruyama steps without the tape (`TapeFreeEulerMaruyama`, taken
/// by `.backprop` for a `NeuralDriftSDE` with a tape-free drift network) against the same solve
/// recorded op by op on the tape (the same network behind a closure, which the tape-free path
/// cannot see into): values, y₀ and parameter gradients, bit for bit where the tape sums in the
/// same order.
final class TapeFreeBackpropTests: XCTestCase {
    private func standardNetwork(seed: UInt64 = 3) -> Sequential {
        Initializer.manualSeed(seed)
        return Sequential([Linear(3, 8), Tanh(), Linear(8, 3)])
    }

    private struct Run {
        let states: Tensor
        let loss: Float
        let gradients: [Tensor]
    }

    /// Loss and gradients (y₀, then the network's parameters) of a solve with `net` as the drift,
    /// tape-free (`tapeFree`) or recorded on the tape (the network behind a closure).
    private func run(_ net: Sequential, _ diffusion: some Diffusion, tapeFree: Bool, times: [Double] = [0, 0.3, 1],
                     dt: Double = 0.05, brownian: BrownianSource = .grid(seed: 7), lossOnAllStates: Bool = true,
                     shards: Int = 1, gradient: GradientMethod = .backprop, dim: Int = 3, batch: Int = 5) throws -> Run {
        let sde = tapeFree ? NeuralDriftSDE(drift: net, diffusion: diffusion)
            : NeuralDriftSDE(drift: { _, y in net(y) }, diffusion: diffusion, parameters: net.parameters)
        XCTAssertEqual(sde.tapeFreeDrift != nil, tapeFree, "the SDE offers the tape-free path exactly when built from the layer")
        for p in net.parameters { p.zeroGrad() }
        var y0 = TestData.uniform([batch, dim], low: -1, high: 1, seed: 5)
        y0.requiresGrad = true
        var states: [Tensor] = []
        let losses = try BatchParallel.run(batch: batch, shards: shards) { shard -> Float in
            let sol = try sdeint(sde, y0: shard.slice(y0), times: times, solver: .eulerMaruyama, dt: dt,
                                 brownian: brownian, gradient: gradient)
            let weights = TestData.uniform(sol.states.shape, low: -1, high: 1, seed: 9)
            let loss = lossOnAllStates ? (sol.states.squared() * weights).sum() : (sol.final * sol.final).sum()
            loss.backward()
            if shards == 1 { states.append(sol.states.detached()) }
            return loss.item
        }
        return Run(states: states.first ?? Tensor(0), loss: losses.reduce(0, +),
                   gradients: [y0.grad!] + net.parameters.map { $0.grad ?? Tensor(repeating: 0, shape: $0.shape) })
    }

    private func assertIdentical(_ a: Run, _ b: Run, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.states.scalars, b.states.scalars, "\(what): states", file: file, line: line)
        XCTAssertEqual(a.loss, b.loss, "\(what): loss", file: file, line: line)
        for (i, (x, y)) in zip(a.gradients, b.gradients).enumerated() {
            XCTAssertEqual(x.scalars, y.scalars, "\(what): gradient \(i)", file: file, line: line)
        }
    }

    /// Additive, dropout and no noise: the tape-free gradients are the tape's, bit for bit, with
    /// a loss on every output state (cotangents joining mid-solve) and on the final state alone.
    func testMatchesTheTapeBitForBit() throws {
        let net = standardNetwork()
        let diffusions: [(String, any Diffusion)] = [("additive", AdditiveDiffusion(sigma: 0.3)),
                                                     ("dropout", DropoutDiffusion(sigma: 0.3)), ("ode", NoDiffusion())]
        for (name, diffusion) in diffusions {
            for allStates in [true, false] {
                func both<D: Diffusion>(_ d: D) throws -> (Run, Run) {
                    (try run(net, d, tapeFree: true, lossOnAllStates: allStates),
                     try run(net, d, tapeFree: false, lossOnAllStates: allStates))
                }
                let (fast, tape) = try both(diffusion)
                assertIdentical(fast, tape, "\(name), loss on \(allStates ? "all states" : "the final state")")
            }
        }
    }

    /// The stochastic adjoint evaluates and pulls back its steps tape-free too, and starts each
    /// step's reconstruction from the drift of the later step's last evaluation (the network
    /// ignores time): the gradients agree with its steps on the tape to the reconstruction
    /// tolerance and with backprop, with one network evaluation fewer per step.
    func testAdjointStepsMatchTheTape() throws {
        let net = standardNetwork()
        for (name, diffusion) in [("additive", AdditiveDiffusion(sigma: 0.3) as any Diffusion), ("dropout", DropoutDiffusion(sigma: 0.3))] {
            func runs<D: Diffusion>(_ d: D) throws -> [Run] {
                [try run(net, d, tapeFree: true, gradient: .adjoint), try run(net, d, tapeFree: false, gradient: .adjoint),
                 try run(net, d, tapeFree: true)]
            }
            let all = try runs(diffusion)
            XCTAssertEqual(all[0].states.scalars, all[1].states.scalars, "\(name): the forward solve is the same")
            assertGradientsClose(all[0].gradients, all[1].gradients, "adjoint, \(name): tape-free against the tape")
            assertClose(all[0].gradients, all[2].gradients, tolerance: 1e-3, "adjoint, \(name): against backprop")
        }
        // One network evaluation per step besides the pullback, against two on the tape.
        func evaluations(tapeFree: Bool) throws -> Double {
            let sde = tapeFree ? NeuralDriftSDE(drift: net, diffusion: AdditiveDiffusion(sigma: 0.3))
                : NeuralDriftSDE(drift: { _, y in net(y) }, diffusion: AdditiveDiffusion(sigma: 0.3), parameters: net.parameters)
            var y0 = TestData.uniform([4, 3], seed: 5)
            y0.requiresGrad = true
            let sol = try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.05, gradient: .adjoint)
            sol.final.squared().sum().backward()
            let stats = sol.backwardStats
            XCTAssertEqual(stats.unconvergedSteps, 0)
            return Double(stats.stepEvaluations) / Double(stats.steps)
        }
        XCTAssertLessThan(try evaluations(tapeFree: true), try evaluations(tapeFree: false))
    }

    /// Multiplicative noise: the tape sums the state's gradient in another order, so the values
    /// agree to rounding.
    func testMultiplicativeNoiseMatchesTheTape() throws {
        let net = standardNetwork()
        let fast = try run(net, MultiplicativeDiffusion(sigma: 0.4), tapeFree: true)
        let tape = try run(net, MultiplicativeDiffusion(sigma: 0.4), tapeFree: false)
        XCTAssertEqual(fast.states.scalars, tape.states.scalars, "the forward pass is the same")
        assertGradientsClose(fast.gradients, tape.gradients, "multiplicative")
    }

    /// Networks beyond Linear–Tanh–Linear: a parameter-free activation between layers (its
    /// pullback re-applied on a one-op tape), a Linear without bias, a Tanh first, a nested
    /// Sequential; steps that do not divide the output times.
    func testOtherNetworksMatchTheTape() throws {
        Initializer.manualSeed(21)
        let networks: [(String, Sequential)] = [
            ("relu", Sequential([Linear(3, 6), ReLU(), Linear(6, 3)])),
            ("sigmoid, no bias", Sequential([Linear(3, 6, bias: false), Sigmoid(), Linear(6, 3)])),
            ("tanh first", Sequential([Tanh(), Linear(3, 3)])),
            ("nested", Sequential([Sequential([Linear(3, 4), Tanh()]), Linear(4, 3)])),
        ]
        for (name, net) in networks {
            XCTAssertTrue(net.supportsTapeFree, name)
            let fast = try run(net, DropoutDiffusion(sigma: 0.2), tapeFree: true, times: [0, 0.13, 0.5], dt: 0.04,
                               brownian: .interval(seed: 7))
            let tape = try run(net, DropoutDiffusion(sigma: 0.2), tapeFree: false, times: [0, 0.13, 0.5], dt: 0.04,
                               brownian: .interval(seed: 7))
            XCTAssertEqual(fast.states.scalars, tape.states.scalars, "\(name): states")
            assertGradientsClose(fast.gradients, tape.gradients, name)
        }
    }

    /// Inside batch shards (each shard's parameters are its own leaves): the same gradients as
    /// the tape in the same shards.
    func testBatchShardsMatchTheTape() throws {
        let net = standardNetwork()
        let fast = try run(net, DropoutDiffusion(sigma: 0.3), tapeFree: true, shards: 2)
        let tape = try run(net, DropoutDiffusion(sigma: 0.3), tapeFree: false, shards: 2)
        XCTAssertEqual(fast.loss, tape.loss)
        for (i, (a, b)) in zip(fast.gradients, tape.gradients).enumerated() { XCTAssertEqual(a.scalars, b.scalars, "gradient \(i)") }
    }

    /// A drift whose products the register-tiled kernel runs (16 → 32 → 16 features; on AVX-512
    /// processors): its epilogues (bias and tanh, the Euler–Maruyama update fused into the last
    /// layer, the gradient through tanh fused into the next layer's input gradient) give the
    /// tape's values and gradients bit for bit, in one shard and in two (where the forward reads
    /// the transposed weights).
    func testRegisterTiledDriftMatchesTheTape() throws {
        Initializer.manualSeed(8)
        let net = Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])
        let diffusions: [(String, any Diffusion)] = [("additive", AdditiveDiffusion(sigma: 0.3)),
                                                     ("dropout", DropoutDiffusion(sigma: 0.3)), ("ode", NoDiffusion())]
        for (name, diffusion) in diffusions {
            for shards in [1, 2] {
                func both<D: Diffusion>(_ d: D) throws -> (Run, Run) {
                    (try run(net, d, tapeFree: true, shards: shards, dim: 16, batch: 10),
                     try run(net, d, tapeFree: false, shards: shards, dim: 16, batch: 10))
                }
                let (fast, tape) = try both(diffusion)
                if shards == 1 { assertIdentical(fast, tape, "\(name), one shard") }
                XCTAssertEqual(fast.loss, tape.loss, "\(name), \(shards) shards: loss")
                for (i, (a, b)) in zip(fast.gradients, tape.gradients).enumerated() {
                    XCTAssertEqual(a.scalars, b.scalars, "\(name), \(shards) shards: gradient \(i)")
                }
            }
        }
    }

    /// Finite differences of the pathwise loss through the tape-free path.
    func testGradientMatchesFiniteDifferences() throws {
        let net = standardNetwork(seed: 4)
        let sde = NeuralDriftSDE(drift: net, diffusion: AdditiveDiffusion(sigma: 0.2))
        let y0 = TestData.uniform([2, 3], low: -1, high: 1, seed: 8)
        assertGradientsMatchFiniteDifferences([y0]) { xs in
            let sol = try! sdeint(sde, y0: xs[0], times: [0, 0.5], solver: .eulerMaruyama, dt: 0.1, brownian: .grid(seed: 3))
            return weightedSum(sol.final)
        }
    }

    /// Where the path does not apply, `sdeint` takes the tape: another solver, adaptive steps, a
    /// closure drift, a diffusion with parameters, forward-mode tangents, nothing to
    /// differentiate, or gradients off.
    func testFallsBackWhereItDoesNotApply() throws {
        let net = standardNetwork()
        Initializer.manualSeed(2)
        let y0 = { () -> Tensor in var y = TestData.uniform([2, 3], seed: 1); y.requiresGrad = true; return y }()
        func taken<S: SDE, Solver: SDESolver>(_ sde: S, _ solver: Solver, y0: Tensor,
                                                stepSize: any StepSizeController = ConstantStepSize()) throws -> Bool {
            let motion = BrownianInterval(shape: [2, 3], t0: 0, t1: 1, seed: 1, stream: 0, levyArea: false, rows: nil)
            let integrator = Integrator(sde: ShapeCheckedSDE(base: sde, check: ShapeCheck()), solver: solver, motion: motion,
                                        controller: stepSize, dt: 0.1, times: [0, 1])
            return try TapeFreeEulerMaruyama.solve(integrator, y0: y0, name: "test") != nil
        }
        let sde = NeuralDriftSDE(drift: net, diffusion: AdditiveDiffusion(sigma: 0.1))
        XCTAssertTrue(try taken(sde, EulerMaruyama(), y0: y0))
        XCTAssertFalse(try taken(sde, SRA1(), y0: y0), "another solver")
        XCTAssertFalse(try taken(sde, EulerMaruyama(), y0: y0, stepSize: PIController(rtol: 1e-3, atol: 1e-3)), "adaptive steps")
        XCTAssertFalse(try taken(NeuralDriftSDE(drift: { _, y in net(y) }, diffusion: AdditiveDiffusion(sigma: 0.1),
                                                parameters: net.parameters), EulerMaruyama(), y0: y0), "closure drift")
        let noisy = NeuralDriftSDE(drift: net, diffusion: NeuralDiffusion(network: Sequential([Linear(3, 3), Tanh()]), sigma: 0.1))
        XCTAssertFalse(try taken(noisy, EulerMaruyama(), y0: y0), "a diffusion with parameters")
        XCTAssertFalse(try taken(sde, EulerMaruyama(), y0: y0.detached().withTangent(Tensor(repeating: 1, shape: [2, 3]))),
                       "a forward-mode tangent")
        let parameterFree = NeuralDriftSDE(drift: Sequential([Tanh()]), diffusion: AdditiveDiffusion(sigma: 0.1))
        XCTAssertTrue(try taken(parameterFree, EulerMaruyama(), y0: y0))
        XCTAssertFalse(try taken(parameterFree, EulerMaruyama(), y0: y0.detached()), "nothing requires a gradient")
        XCTAssertFalse(try noGrad { try taken(sde, EulerMaruyama(), y0: y0) }, "gradients off")
    }

    /// A solve with nothing recorded (`noGrad`: a forward-only solve, the memory-saving methods'
    /// forward pass) steps through the tape-free stepper, fusing each update into the network's
    /// last product: the same states at every output time, the same counts and the same step
    /// records as the solver's own steps (the network behind a closure), for every diffusion that
    /// offers the path, with one shard and two; and the same errors.
    func testForwardOnlySolveMatchesTheSolversSteps() throws {
        Initializer.manualSeed(6)
        // Widths that the register-tiled kernel fuses on AVX-512 processors, and small ones.
        for net in [standardNetwork(), Sequential([Linear(3, 32), Tanh(), Linear(32, 16), Tanh(), Linear(16, 3)])] {
            let diffusions: [(String, any Diffusion)] = [("additive", AdditiveDiffusion(sigma: 0.3)), ("dropout", DropoutDiffusion(sigma: 0.3)),
                                                         ("multiplicative", MultiplicativeDiffusion(sigma: 0.3)), ("ode", NoDiffusion())]
            for (name, diffusion) in diffusions {
                func solve<D: Diffusion>(_ d: D, tapeFree: Bool, shards: Int) throws -> ([Float], SolverStats) {
                    let sde = tapeFree ? NeuralDriftSDE(drift: net, diffusion: d)
                        : NeuralDriftSDE(drift: { _, y in net(y) }, diffusion: d, parameters: net.parameters)
                    let y0 = TestData.uniform([16, 3], low: -1, high: 1, seed: 5)
                    var stats: [SolverStats] = []
                    let states = try noGrad {
                        try BatchParallel.run(batch: 16, shards: shards) { shard -> [Float] in
                            let sol = try sdeint(sde, y0: shard.slice(y0), times: [0, 0.3, 1], solver: .eulerMaruyama, dt: 0.05,
                                                 brownian: .grid(seed: 7))
                            stats.append(sol.stats)
                            return sol.states.scalars
                        }
                    }
                    return (states.flatMap { $0 }, stats[0])
                }
                for shards in [1, 2] {
                    let (fast, fastStats) = try solve(diffusion, tapeFree: true, shards: shards)
                    let (steps, stepStats) = try solve(diffusion, tapeFree: false, shards: shards)
                    XCTAssertEqual(fast, steps, "\(name), \(shards) shard(s): states")
                    XCTAssertEqual(fastStats, stepStats, "\(name), \(shards) shard(s): counts")
                }
            }
        }
        // The integrator's records (what the memory-saving methods walk back) are the solver's.
        let net = standardNetwork()
        func records(_ sde: some SDE) throws -> ForwardRun {
            let motion = BrownianInterval(shape: [2, 3], t0: 0, t1: 1, seed: 1, stream: 0, levyArea: false, rows: nil)
            let integrator = Integrator(sde: ShapeCheckedSDE(base: sde, check: ShapeCheck()), solver: EulerMaruyama(), motion: motion,
                                        controller: ConstantStepSize(), dt: 0.15, times: [0, 0.5, 1])
            var accepted: [(Int, StepRecord)] = []
            let run = try noGrad {
                try integrator.run(y0: TestData.uniform([2, 3], seed: 1)) { i, record, _, solverState in
                    XCTAssertNil(solverState)
                    accepted.append((i, record))
                }
            }
            XCTAssertEqual(accepted.map(\.0), Array(run.steps.indices))
            XCTAssertEqual(accepted.map(\.1), run.steps)
            return run
        }
        let fast = try records(NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.2)))
        let steps = try records(NeuralDriftSDE(drift: { _, y in net(y) }, diffusion: DropoutDiffusion(sigma: 0.2), parameters: net.parameters))
        XCTAssertEqual(fast.steps, steps.steps)
        XCTAssertEqual(fast.outputs.map(\.scalars), steps.outputs.map(\.scalars))
        XCTAssertEqual(fast.stats, steps.stats)
        // Errors: a wrong shape is the solver's error; a state that blows up stops at the same step.
        let wrong = NeuralDriftSDE(drift: Sequential([Linear(3, 4), Tanh(), Linear(4, 2)]), diffusion: AdditiveDiffusion(sigma: 0.1))
        XCTAssertThrowsError(try noGrad { try sdeint(wrong, y0: TestData.uniform([2, 3], seed: 1), times: [0, 1], solver: .eulerMaruyama, dt: 0.1) }) { error in
            guard case SDEError.shapeMismatch = error else { return XCTFail("expected a shape mismatch, got \(error)") }
        }
        let linear = Linear(3, 3)
        linear.weight.assign(Tensor(repeating: 1_000, shape: [3, 3]))
        var errors: [String] = []
        for sde in [NeuralDriftSDE(drift: Sequential([linear]), diffusion: NoDiffusion()),
                    NeuralDriftSDE(drift: { _, y in linear(y) }, diffusion: NoDiffusion(), parameters: linear.parameters)] as [any SDE] {
            XCTAssertThrowsError(try noGrad { try sdeint(sde, y0: TestData.uniform([2, 3], seed: 1), times: [0, 10], solver: .eulerMaruyama, dt: 0.5) }) {
                errors.append("\($0)")
            }
        }
        XCTAssertEqual(errors.count, 2)
        XCTAssertEqual(errors.first, errors.last)
    }

    /// A drift of the wrong shape is reported by the tape path's check, and a state that blows
    /// up stops the solve with the step and time, as on the tape.
    func testErrorsAreTheTapePaths() throws {
        Initializer.manualSeed(5)
        let wrong = NeuralDriftSDE(drift: Sequential([Linear(3, 4), Tanh(), Linear(4, 2)]), diffusion: AdditiveDiffusion(sigma: 0.1))
        var y0 = TestData.uniform([2, 3], seed: 1)
        y0.requiresGrad = true
        XCTAssertThrowsError(try sdeint(wrong, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.1)) { error in
            guard case SDEError.shapeMismatch = error else { return XCTFail("expected a shape mismatch, got \(error)") }
        }
        let linear = Linear(3, 3)
        linear.weight.assign(Tensor(repeating: 1_000, shape: [3, 3]))
        let explosive = NeuralDriftSDE(drift: Sequential([linear]), diffusion: NoDiffusion())
        let tape = NeuralDriftSDE(drift: { _, y in linear(y) }, diffusion: NoDiffusion(), parameters: linear.parameters)
        var errors: [SDEError] = []
        for sde in [explosive, tape] as [any SDE] {
            do {
                _ = try sdeint(sde, y0: y0, times: [0, 10], solver: .eulerMaruyama, dt: 0.5)
                XCTFail("expected a non-finite state")
            } catch let error as SDEError {
                errors.append(error)
            }
        }
        guard errors.count == 2, case let .nonFiniteState(step, time) = errors[0], case let .nonFiniteState(tapeStep, tapeTime) = errors[1] else {
            return XCTFail("expected two non-finite states, got \(errors)")
        }
        XCTAssertEqual(step, tapeStep)
        XCTAssertEqual(time, tapeTime)
    }

    /// The SDE lists a tape-free network's parameters as reflection does, once each even when
    /// two layers share one.
    func testParametersAreTheNetworks() {
        let shared = Linear(3, 3)
        for net in [standardNetwork(), Sequential([shared, Tanh(), shared]), Sequential([Sequential([Linear(3, 2)]), Linear(2, 3, bias: false)])] {
            let sde = NeuralDriftSDE(drift: net, diffusion: AdditiveDiffusion(sigma: 0.1))
            XCTAssertEqual(sde.parameters.map(ObjectIdentifier.init), net.parameters.map(ObjectIdentifier.init))
        }
    }

    /// Calling backward twice with a retained graph gives the same gradients twice.
    func testRetainedGraphRunsTwice() throws {
        let net = standardNetwork()
        let sde = NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.3))
        var y0 = TestData.uniform([3, 3], seed: 2)
        y0.requiresGrad = true
        let loss = try sdeint(sde, y0: y0, times: [0, 1], solver: .eulerMaruyama, dt: 0.1).final.squared().sum()
        loss.backward(retainGraph: true)
        let first = y0.grad!.scalars
        y0.zeroGrad()
        loss.backward()
        XCTAssertEqual(y0.grad!.scalars, first)
    }
}
