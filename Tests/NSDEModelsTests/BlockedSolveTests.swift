import NSDECore
import NSDENN
import NSDETestSupport
import XCTest
@testable import NSDEModels
@testable import NSDETensor

/// ``PaperClassifier`` solves its block with the state in `nChw16c` (``BlockedPaperBlockSDE``)
/// where the processor's convolutions allow: the logits, the input's and every parameter's
/// gradients agree with the NCHW solve of ``PaperBlockSDE`` written out (the same Brownian path:
/// a wrongly ordered increment would move them by O(σ)), for each parameter-free noise.
final class BlockedSolveTests: XCTestCase {
    func model(_ noise: BlockNoise, sigma: Float) -> PaperClassifier {
        Initializer.manualSeed(21)
        return PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 4, width: 16, noise: noise, sigma: sigma, steps: 3,
                               noiseSeed: 9, groupNormGroups: 8)
    }

    /// The NCHW solve of the same model on Brownian stream `stream`.
    func nchwLogits(_ model: PaperClassifier, _ x: Tensor, stream: UInt64) throws -> Tensor {
        let dt = Double(model.horizon) / Double(model.steps)
        let solution = try sdeint(model.blockSDE, y0: model.embed(x), times: [0, Double(model.horizon)], solver: .eulerMaruyama,
                                  dt: dt, brownian: .grid(seed: model.noiseSeed, stream: stream))
        return model.head(solution.final)
    }

    func testBlockedSolveMatchesTheNCHWSolve() throws {
        let x = TestData.uniform([3, 1, 12, 12], low: 0, high: 1, seed: 5)
        let labels = [0, 3, 1]
        var ran = 0
        for (noise, sigma) in [(BlockNoise.ode, Float(0)), (.additive, 0.7), (.multiplicative, 0.5), (.dropout, 0.5)] {
            let m = model(noise, sigma: sigma)
            guard m.blockedSDE(stateShape: [3, 16, 10, 10]) != nil else { continue }
            ran += 1
            func gradients(_ logits: (Tensor) throws -> Tensor) rethrows -> (Tensor, [Tensor]) {
                m.zeroGrad()
                var input = x.copy()
                input.requiresGrad = true
                let out = try logits(input)
                crossEntropy(logits: out, labels: labels).backward()
                return (out.detached(), [input.grad!] + m.parameters.map { $0.grad ?? Tensor(repeating: 0, shape: $0.value.shape) })
            }
            let (logits, grads) = try gradients { try m.forward($0, noiseStream: 2) }
            let (logitsRef, gradsRef) = try gradients { try self.nchwLogits(m, $0, stream: 2) }
            assertClose(logits, logitsRef, "logits, \(noise)", bound: 1e-5)
            assertGradientsClose(grads, gradsRef, "gradients, \(noise)")
            // Another Brownian stream gives other logits (the noise is drawn, not dropped).
            if noise != .ode {
                let other = try noGrad { try m.forward(x, noiseStream: 3) }
                XCTAssertGreaterThan(relativeError(other, logits), 1e-3, "\(noise): streams 2 and 3 give the same logits")
            }
            // Evaluation mode: test σ.
            m.eval()
            m.testSigma = sigma / 2
            assertClose(try noGrad { try m.forward(x, noiseStream: 4) }, try noGrad { try self.nchwLogits(m, x, stream: 4) },
                        "evaluation logits, \(noise)", bound: 1e-5)
            // The recorded states (Figure 4) come from the NCHW solve; its last is the blocked solve's final state.
            let states = try noGrad { try m.solveBlock(m.embed(x), recordStates: true, noiseStream: 4) }
            let final = try noGrad { try m.solveBlock(m.embed(x), noiseStream: 4) }
            XCTAssertEqual(states.count, 4)
            assertClose(final[0], states[3], "final state against the recorded states, \(noise)", bound: 1e-5)
        }
        if ran == 0 { throw XCTSkip("oneDNN keeps no nChw16c activations for the width-16 drift on this processor") }
    }

    /// The state's gradient from the drift's first GroupNorm is added into the update's inside the
    /// GroupNorm's backward pass: the same bits as a separate addition.
    func testInPlaceAccumulationGivesTheBitsOfSeparateAdditions() throws {
        let x = TestData.uniform([2, 1, 12, 12], low: 0, high: 1, seed: 6)
        let m = model(.dropout, sigma: 0.5)
        guard m.blockedSDE(stateShape: [2, 16, 10, 10]) != nil else { throw XCTSkip("no nChw16c drift on this processor") }
        func gradients() throws -> [[UInt32]] {
            m.zeroGrad()
            var input = x.copy()
            input.requiresGrad = true
            crossEntropy(logits: try m.forward(input, noiseStream: 1), labels: [2, 1]).backward()
            return ([input.grad!] + m.parameters.map { $0.grad! }).map { $0.scalars.map(\.bitPattern) }
        }
        let inPlace = try gradients()
        let separate = try Tape.$accumulatesInPlace.withValue(false) { try gradients() }
        XCTAssertEqual(inPlace.count, separate.count)
        for (k, (a, b)) in zip(inPlace, separate).enumerated() { XCTAssertTrue(a == b, "gradient \(k)") }
    }

    /// Learned noise, other solvers and other gradient methods keep the NCHW solve.
    func testBlockedSolveAppliesOnlyWhereItShould() {
        XCTAssertNil(model(.learned, sigma: 0.5).blockedSDE(stateShape: [3, 16, 10, 10]))
        let m = model(.dropout, sigma: 0.5)
        m.solver = .milstein
        XCTAssertNil(m.blockedSDE(stateShape: [3, 16, 10, 10]))
        m.solver = .eulerMaruyama
        m.gradient = .adjoint
        XCTAssertNil(m.blockedSDE(stateShape: [3, 16, 10, 10]))
        m.gradient = .backprop
        // 12 channels: no 16-channel blocks.
        Initializer.manualSeed(1)
        let narrow = PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 4, width: 12, noise: .dropout, sigma: 0.5,
                                     groupNormGroups: 4)
        XCTAssertNil(narrow.blockedSDE(stateShape: [3, 12, 10, 10]))
    }

    /// The drift with the solve's precomputed time maps is the drift computing its own, bit for bit.
    func testPrecomputedTimeMapsGiveTheSameDrift() throws {
        Initializer.manualSeed(4)
        let drift = ConvDrift(channels: 16, groups: 8)
        let shape = [2, 16, 6, 5]
        guard drift.supportsBlockedState(shape) else { throw XCTSkip("no nChw16c drift on this processor") }
        let h = TestData.uniform(shape, low: -2, high: 2, seed: 3).blockedNChw16c()
        let maps = drift.unitTimeMaps(shape: shape)
        for t: Float in [0, 0.37, 1] {
            let a = drift.blockedState(t, h, shape: shape), b = drift.blockedState(t, h, shape: shape, timeMaps: maps)
            XCTAssertEqual(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), true, "t = \(t)")
            assertClose(a.unblockedNChw16c(), drift(t, h.unblockedNChw16c()), "blocked drift against the NCHW drift, t = \(t)",
                        bound: 1e-5)
        }
    }
}
