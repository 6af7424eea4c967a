import XCTest
import NSDENN
import NSDETensor
import NSDETestSupport
@testable import NSDECore

/// The Euler–Maruyama steps of a tanh MLP drift run as whole kernels (`TanhMLPSteps`: one C call
/// per step forward, one for the whole pullback) against the same solve through the layers one
/// kernel at a time (`TanhMLPSteps.isEnabled = false`) and on the tape (the network behind a
/// closure): states, loss, y₀ and parameter gradients bit for bit.
final class TanhMLPStepsTests: XCTestCase {
    override func tearDown() {
        TanhMLPSteps.isEnabled = true
        super.tearDown()
    }

    private struct Run: Equatable {
        var states: [[Float]], loss: Float, gradients: [[Float]]
    }

    private enum Drift { case layers, closure }

    /// A solve of `batch` rows in `shards` shards (each on one thread), loss on every output state.
    private func run(_ net: Sequential, _ diffusion: some Diffusion, drift: Drift, fused: Bool, shards: Int, batch: Int,
                     gradient: GradientMethod = .backprop, times: [Double] = [0, 0.3, 1]) throws -> Run {
        TanhMLPSteps.isEnabled = fused
        defer { TanhMLPSteps.isEnabled = true }
        let dim = net.parameters[0].shape[1]
        let sde = drift == .layers ? NeuralDriftSDE(drift: net, diffusion: diffusion)
            : NeuralDriftSDE(drift: { _, y in net(y) }, diffusion: diffusion, parameters: net.parameters)
        for p in net.parameters { p.zeroGrad() }
        var y0 = TestData.uniform([batch, dim], low: -1, high: 1, seed: 5)
        y0.requiresGrad = true
        let parts = try BatchParallel.run(batch: batch, shards: shards) { shard -> ([Float], Float) in
            let sol = try sdeint(sde, y0: shard.slice(y0), times: times, solver: .eulerMaruyama, dt: 0.05,
                                 brownian: .grid(seed: 7), gradient: gradient)
            let weights = TestData.uniform(sol.states.shape, low: -1, high: 1, seed: 9)
            let loss = (sol.states.squared() * weights).sum()
            loss.backward()
            return (sol.states.scalars, loss.item)
        }
        return Run(states: parts.map(\.0), loss: parts.map(\.1).reduce(0, +),
                   gradients: [y0.grad!.scalars] + net.parameters.map { ($0.grad ?? Tensor(repeating: 0, shape: $0.shape)).scalars })
    }

    /// Whether the solve of `net` on `rows` rows in a shard takes the fused steps.
    private func takesFusedSteps(_ net: Sequential, _ diffusion: some Diffusion, rows: Int) -> Bool {
        let dim = net.parameters[0].shape[1]
        let motion = BrownianInterval(shape: [rows, dim], t0: 0, t1: 1, seed: 1, stream: 0, levyArea: false, rows: nil)
        let integrator = Integrator(sde: ShapeCheckedSDE(base: NeuralDriftSDE(drift: net, diffusion: diffusion), check: ShapeCheck()),
                                    solver: EulerMaruyama(), motion: motion, controller: ConstantStepSize(), dt: 0.1, times: [0, 1])
        return Parallel.withThreadLimit(1) {
            Parameter.withValuesFixed { TapeFreeStepper(integrator, rows: rows)?.fused != nil }
        }
    }

    func testFusedStepsMatchTheLayersAndTheTapeBitForBit() throws {
        try XCTSkipUnless(RegisterTiledGEMM.isFast, "the fused steps run where the register-tiled kernel does (AVX-512)")
        Initializer.manualSeed(11)
        let networks = [("16-32-16", Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])),
                        ("32-48-32 without biases", Sequential([Linear(32, 48, bias: false), Tanh(), Linear(48, 32, bias: false)])),
                        ("16-64-16, first bias only", Sequential([Linear(16, 64), Tanh(), Linear(64, 16, bias: false)]))]
        let diffusions: [(String, any Diffusion)] = [("dropout", DropoutDiffusion(sigma: 0.3)), ("additive", AdditiveDiffusion(sigma: 0.2))]
        for (netName, net) in networks {
            for (name, diffusion) in diffusions {
                func check<D: Diffusion>(_ d: D) throws {
                    XCTAssertTrue(takesFusedSteps(net, d, rows: 12), "\(netName), \(name): the fused steps apply")
                    for (shards, batch) in [(2, 24), (3, 29)] {
                        let what = "\(netName), \(name), \(shards) shards of \(batch) rows"
                        let fused = try run(net, d, drift: .layers, fused: true, shards: shards, batch: batch)
                        let layers = try run(net, d, drift: .layers, fused: false, shards: shards, batch: batch)
                        let tape = try run(net, d, drift: .closure, fused: true, shards: shards, batch: batch)
                        XCTAssertEqual(fused, layers, "\(what): fused against the layers' kernels")
                        XCTAssertEqual(fused, tape, "\(what): fused against the tape")
                        XCTAssertTrue(fused.gradients.allSatisfy { $0.contains { $0 != 0 } }, "\(what): every gradient is used")
                    }
                }
                try check(diffusion)
            }
        }
    }

    /// The forward-only solve and the forward passes of the stochastic adjoint (its steps'
    /// reconstructions too) and of checkpointing step through the fused forward: the same values
    /// and gradients as through the layers.
    func testForwardOnlyAdjointAndCheckpointingMatchTheLayers() throws {
        try XCTSkipUnless(RegisterTiledGEMM.isFast, "the fused steps run where the register-tiled kernel does (AVX-512)")
        Initializer.manualSeed(12)
        let net = Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])
        for (name, method) in [("adjoint", GradientMethod.adjoint), ("checkpointed every 4", .checkpointed(every: 4))] {
            let fused = try run(net, DropoutDiffusion(sigma: 0.3), drift: .layers, fused: true, shards: 2, batch: 24, gradient: method)
            let layers = try run(net, DropoutDiffusion(sigma: 0.3), drift: .layers, fused: false, shards: 2, batch: 24, gradient: method)
            XCTAssertEqual(fused, layers, name)
        }
        func forward(_ enabled: Bool) throws -> [[Float]] {
            TanhMLPSteps.isEnabled = enabled
            defer { TanhMLPSteps.isEnabled = true }
            let sde = NeuralDriftSDE(drift: net, diffusion: AdditiveDiffusion(sigma: 0.2))
            let y0 = TestData.uniform([24, 16], low: -1, high: 1, seed: 4)
            return try noGrad {
                try BatchParallel.run(batch: 24, shards: 2) { shard in
                    try sdeint(sde, y0: shard.slice(y0), times: [0, 0.5, 1], solver: .eulerMaruyama, dt: 0.05,
                               brownian: .grid(seed: 3)).states.scalars
                }
            }
        }
        XCTAssertEqual(try forward(true), try forward(false), "forward-only")
    }

    /// Checkpointing re-runs and pulls back its stretches without the tape where backprop's
    /// one-node solve applies: its gradients are backprop's bit for bit, for every checkpoint
    /// spacing (one step, stretches that end inside and on output times, one stretch longer than
    /// the solve), fused steps on and off, and for a drift the fused steps do not take (ReLU,
    /// multiplicative noise: the layers' tape-free pullbacks).
    func testCheckpointingEqualsBackpropBitForBit() throws {
        Initializer.manualSeed(14)
        let tanhNet = Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])
        let reluNet = Sequential([Linear(16, 32), ReLU(), Linear(32, 16)])
        func check<D: Diffusion>(_ net: Sequential, _ diffusion: D, _ name: String, fused: Bool) throws {
            let reference = try run(net, diffusion, drift: .layers, fused: fused, shards: 2, batch: 24)
            XCTAssertTrue(reference.gradients.allSatisfy { $0.contains { $0 != 0 } }, "\(name): every gradient is used")
            for every in [1, 4, 6, 7, 40] {
                let checkpointed = try run(net, diffusion, drift: .layers, fused: fused, shards: 2, batch: 24,
                                           gradient: .checkpointed(every: every))
                XCTAssertEqual(checkpointed, reference, "\(name), fused \(fused), checkpointed every \(every)")
            }
        }
        for fused in [true, false] {
            try check(tanhNet, DropoutDiffusion(sigma: 0.3), "tanh MLP, dropout", fused: fused)
            try check(tanhNet, AdditiveDiffusion(sigma: 0.2), "tanh MLP, additive", fused: fused)
        }
        try check(reluNet, MultiplicativeDiffusion(sigma: 0.2), "ReLU MLP, multiplicative", fused: true)
        // The tape's checkpointing (a closure drift) agrees to rounding.
        let tape = try run(tanhNet, DropoutDiffusion(sigma: 0.3), drift: .closure, fused: true, shards: 2, batch: 24,
                           gradient: .checkpointed(every: 4))
        let tapeFree = try run(tanhNet, DropoutDiffusion(sigma: 0.3), drift: .layers, fused: true, shards: 2, batch: 24,
                               gradient: .checkpointed(every: 4))
        XCTAssertEqual(tape.states, tapeFree.states)
        for (a, b) in zip(tape.gradients, tapeFree.gradients) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5 * max(1, abs(y))) }
        }
    }

    /// Where the fused steps do not apply the layers run (the same results): more than one thread,
    /// shapes the register-tiled kernel does not take, other networks and diffusions, and the
    /// switch off.
    func testAppliesOnlyWhereTheKernelsRun() throws {
        Initializer.manualSeed(13)
        let net = Sequential([Linear(16, 32), Tanh(), Linear(32, 16)])
        let dropout = DropoutDiffusion(sigma: 0.1)
        XCTAssertEqual(takesFusedSteps(net, dropout, rows: 12), RegisterTiledGEMM.isFast)
        XCTAssertFalse(takesFusedSteps(net, dropout, rows: 4), "below Linear.transposeMinimumRows rows")
        XCTAssertFalse(takesFusedSteps(net, dropout, rows: 400), "a weight gradient's depth beyond the kernel's")
        XCTAssertFalse(takesFusedSteps(Sequential([Linear(3, 8), Tanh(), Linear(8, 3)]), dropout, rows: 12), "widths that are not multiples of 16")
        XCTAssertFalse(takesFusedSteps(Sequential([Linear(16, 32), ReLU(), Linear(32, 16)]), dropout, rows: 12), "another activation")
        XCTAssertFalse(takesFusedSteps(Sequential([Linear(16, 32), Tanh(), Linear(32, 16), Tanh()]), dropout, rows: 12), "another layer")
        XCTAssertFalse(takesFusedSteps(net, MultiplicativeDiffusion(sigma: 0.1), rows: 12), "multiplicative noise")
        TanhMLPSteps.isEnabled = false
        XCTAssertFalse(takesFusedSteps(net, dropout, rows: 12), "switched off")
        TanhMLPSteps.isEnabled = true
        XCTAssertFalse(TanhMLPSteps.runsFused(rows: 12, features: 16, hidden: 32) && Parallel.threadCount > 1)
        XCTAssertFalse(Parallel.withThreadLimit(1) { net.tanhMLPSteps(rows: 12) } != nil, "no cached transposes outside a solve's scope")
    }
}
