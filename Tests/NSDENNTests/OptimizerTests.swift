import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    /// A parameter with a fixed gradient g, so updates can be compared with closed forms.
    func parameter(_ values: [Float], grad: [Float]) -> Parameter {
        let p = Parameter(Tensor(values))
        p.value.grad = Tensor(grad)
        return p
    }

    func testSGDMatchesPyTorchRule() {
        // Reference: PyTorch's SGD with momentum μ, weight decay λ, dampening 0.
        for nesterov in [false, true] {
            let p = parameter([1, -2], grad: [0.5, 0.25])
            let opt = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, nesterov: nesterov, weightDecay: 0.01)
            var w: [Double] = [1, -2], buf: [Double] = [0, 0]
            for step in 0..<3 {
                opt.step()
                for i in 0..<2 {
                    let d = [0.5, 0.25][i] + 0.01 * w[i]
                    buf[i] = step == 0 ? d : 0.9 * buf[i] + d
                    w[i] -= 0.1 * (nesterov ? d + 0.9 * buf[i] : buf[i])
                }
                XCTAssertEqual(Double(p.value[0]), w[0], accuracy: 1e-6)
                XCTAssertEqual(Double(p.value[1]), w[1], accuracy: 1e-6)
            }
        }
    }

    func testPlainSGD() {
        let p = parameter([1, 2], grad: [1, -1])
        SGD(parameters: [p], learningRate: 0.5).step()
        XCTAssertEqual(p.value.scalars, [0.5, 2.5])
    }

    func testAdamAndAdamWMatchReference() {
        for decoupled in [false, true] {
            let p = parameter([0.5, -1.5], grad: [0.2, -0.7])
            let opt = Adam(parameters: [p], learningRate: 0.01, weightDecay: 0.1, decoupledWeightDecay: decoupled)
            var w: [Double] = [0.5, -1.5], m: [Double] = [0, 0], v: [Double] = [0, 0]
            for t in 1...4 {
                opt.step()
                for i in 0..<2 {
                    var g = [0.2, -0.7][i]
                    if decoupled { w[i] -= 0.01 * 0.1 * w[i] } else { g += 0.1 * w[i] }
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.999 * v[i] + 0.001 * g * g
                    let mh = m[i] / (1 - pow(0.9, Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                    w[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
                }
                XCTAssertEqual(Double(p.value[0]), w[0], accuracy: 1e-5)
                XCTAssertEqual(Double(p.value[1]), w[1], accuracy: 1e-5)
            }
        }
    }

    func testOptimizerStateRoundTrip() throws {
        let p = parameter([1, 2], grad: [0.1, 0.2])
        let opt = Adam(parameters: [p])
        opt.step()
        let state = opt.stateDict()
        XCTAssertEqual(Set(state.keys), ["step", "0.exp_avg", "0.exp_avg_sq"])
        let q = parameter([1, 2], grad: [0.1, 0.2])
        let restored = Adam(parameters: [q])
        try restored.loadStateDict(state)
        XCTAssertEqual(restored.stepCount, 1)
        XCTAssertThrowsError(try restored.loadStateDict(["0.exp_avg": Tensor([1, 2, 3])]))
        XCTAssertThrowsError(try restored.loadStateDict(["5.exp_avg": Tensor([1, 2])]))
    }

    func testSchedules() {
        let staged = MultiStepSchedule.staged(base: 0.1, stages: [40, 40, 20, 20])
        XCTAssertEqual(staged.milestones, [40, 80, 100])
        XCTAssertEqual(staged.learningRate(atEpoch: 0), 0.1, accuracy: 1e-9)
        XCTAssertEqual(staged.learningRate(atEpoch: 39), 0.1, accuracy: 1e-9)
        XCTAssertEqual(staged.learningRate(atEpoch: 40), 0.01, accuracy: 1e-9)
        XCTAssertEqual(staged.learningRate(atEpoch: 80), 0.001, accuracy: 1e-9)
        XCTAssertEqual(staged.learningRate(atEpoch: 119), 0.0001, accuracy: 1e-9)
        // Exactly the Float nearest the decimal (Float arithmetic would give 0.010000001).
        XCTAssertEqual(staged.learningRate(atEpoch: 40), Float(0.01))
        XCTAssertEqual(staged.learningRate(atEpoch: 80).description, "0.001")
        XCTAssertEqual(StepSchedule(base: 1, stepSize: 2, gamma: 0.5).learningRate(atEpoch: 5), 0.25)
        let cosine = CosineSchedule(base: 1, totalEpochs: 10)
        XCTAssertEqual(cosine.learningRate(atEpoch: 0), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(atEpoch: 5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(atEpoch: 10), 0, accuracy: 1e-6)
    }

    /// A 2-layer MLP learns a separable synthetic problem (two interleaved half-moons-like
    /// clusters separated by a non-linear boundary) to > 97 % accuracy.
    func testTwoLayerNetLearnsSeparableProblem() {
        Initializer.manualSeed(3)
        var g = PhiloxGenerator(seed: 11)
        var xs: [Float] = [], ys: [Int] = []
        for _ in 0..<512 {
            let a = g.nextUniform() * 2 - 1, b = g.nextUniform() * 2 - 1
            // Label by a circle boundary with a margin: not linearly separable.
            let r = a * a + b * b
            if abs(r - 0.5) < 0.08 { continue }
            xs += [a, b]; ys.append(r < 0.5 ? 0 : 1)
        }
        let x = Tensor(shape: [ys.count, 2], scalars: xs)
        let model = Sequential(Linear(2, 32), Tanh(), Linear(32, 2))
        let opt = Adam(parameters: model.parameters, learningRate: 0.03)
        for _ in 0..<300 {
            opt.zeroGrad()
            crossEntropy(logits: model(x), labels: ys).backward()
            opt.step()
        }
        let acc = accuracy(logits: noGrad { model(x) }, labels: ys)
        XCTAssertGreaterThan(acc, 0.97)
    }
}
