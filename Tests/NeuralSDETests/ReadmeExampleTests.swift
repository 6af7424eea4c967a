import NeuralSDE
import XCTest

/// The README's neural-SDE example, kept compiling and checked to learn.
final class ReadmeExampleTests: XCTestCase {
    func testReadmeNeuralSDEExampleTrains() throws {
        // --- README example begins ---
        Initializer.manualSeed(0)
        let drift = Sequential(Linear(2, 32), Tanh(), Linear(32, 2))          // f(h; w)
        let sde = NeuralDriftSDE(drift: drift, diffusion: DropoutDiffusion(sigma: 0.3))
        let head = Linear(2, 2)
        let optimizer = Adam(parameters: drift.parameters + head.parameters, learningRate: 0.02)
        let x = Tensor.randomUniform([256, 2], low: -1, high: 1, seed: 1)
        let labels = x.scalars.enumerated().filter { $0.offset % 2 == 0 }.map { $0.element > 0 ? 1 : 0 }
        for step in 0..<150 {
            optimizer.zeroGrad()
            let h = try sdeint(sde, y0: x, times: [0, 1], solver: .eulerMaruyama, dt: 0.1,
                               brownian: .grid(seed: UInt64(step))).final
            let loss = crossEntropy(logits: head(h), labels: labels)
            loss.backward()                                                 // backprop through the solver
            optimizer.step()
        }
        // --- README example ends ---
        let h = try sdeint(sde, y0: x, times: [0, 1], solver: .eulerMaruyama, dt: 0.1, brownian: .grid(seed: 999)).final
        XCTAssertGreaterThan(accuracy(logits: noGrad { head(h) }, labels: labels), 0.9)
    }
}
