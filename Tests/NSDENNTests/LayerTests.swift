import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

final class LayerTests: XCTestCase {
    override func setUp() { Initializer.manualSeed(1) }

    /// Checks the gradient of a layer's output w.r.t. its input (and the JVP), then w.r.t. every
    /// parameter by perturbing the parameter's buffer in place.
    func checkLayer(_ layer: some Layer, input: Tensor, eps: Float = 1e-2, file: StaticString = #filePath, line: UInt = #line) {
        assertGradientsMatchFiniteDifferences([input], eps: eps, checkJVP: false, file: file, line: line) { weightedSum(layer($0[0])) }
        layer.zeroGrad()
        weightedSum(layer(input)).backward()
        for (name, p) in layer.namedParameters() {
            let grad = p.grad!.copy()
            var maxError = 0.0, worst = ""
            for i in 0..<p.value.count {
                let original = p.value.storage.pointer[i]
                p.value.storage.pointer[i] = original + eps
                let up = Double(noGrad { weightedSum(layer(input)) }.item)
                p.value.storage.pointer[i] = original - eps
                let down = Double(noGrad { weightedSum(layer(input)) }.item)
                p.value.storage.pointer[i] = original
                let fd = (up - down) / Double(2 * eps), ad = Double(grad.storage.pointer[i])
                let err = abs(fd - ad) / (2e-3 + 2e-2 * max(abs(fd), abs(ad)))
                if err > maxError { maxError = err; worst = "\(name)[\(i)]: finite difference \(fd), autodiff \(ad)" }
            }
            XCTAssertLessThanOrEqual(maxError, 1, "parameter gradient mismatch at \(worst)", file: file, line: line)
        }
        layer.zeroGrad()
    }

    func testLinear() {
        checkLayer(Linear(4, 3), input: TestData.uniform([5, 4], seed: 1))
        checkLayer(Linear(4, 2, bias: false), input: TestData.uniform([3, 4], seed: 2))
    }

    func testConv2dWithStrideAndPadding() {
        checkLayer(Conv2d(2, 3, kernelSize: 3, stride: 1, padding: 1), input: TestData.uniform([2, 2, 5, 5], seed: 3))
        checkLayer(Conv2d(2, 2, kernelSize: 3, stride: 2, padding: 0), input: TestData.uniform([1, 2, 7, 7], seed: 4))
    }

    func testGroupNormLayer() {
        checkLayer(GroupNorm(groups: 2, channels: 4), input: TestData.uniform([2, 4, 3, 3], low: -2, high: 2, seed: 5), eps: 5e-3)
    }

    func testConcatConvAppendsTimeChannelFirst() {
        let layer = ConcatConv2d(2, 3, kernelSize: 3)
        XCTAssertEqual(layer.conv.weight.shape, [3, 3, 3, 3])
        // Only the time channel is non-zero: the output is t times the weight's time slice summed
        // over the (padded) window, plus bias.
        let x = Tensor(repeating: 0, shape: [1, 2, 4, 4])
        let y1 = layer(1, x), y2 = layer(2, x)
        let b = layer.conv.bias!.value
        for o in 0..<3 {
            // Interior pixel: the whole 3x3 window sees the time channel.
            let (i, j) = (1, 2)
            let slope = y2[0, o, i, j] - y1[0, o, i, j]
            var expected: Float = 0
            for a in 0..<3 { for c in 0..<3 { expected += layer.conv.weight.value[o, 0, a, c] } }
            XCTAssertEqual(slope, expected, accuracy: 1e-5)
            XCTAssertEqual(y1[0, o, i, j] - slope, b[o], accuracy: 1e-5)
        }
        checkLayerTime(layer)
    }

    private func checkLayerTime(_ layer: ConcatConv2d) {
        let x = TestData.uniform([2, 2, 4, 5], seed: 6)
        assertGradientsMatchFiniteDifferences([x], checkJVP: true) { weightedSum(layer(0.3, $0[0])) }
        // The split computation equals the concatenation it replaces, values and gradients.
        XCTAssertEqual(layer(0.7, x).scalars, layer.concatenatingForward(0.7, x).scalars, accuracy: 1e-5)
        layer.zeroGrad()
        weightedSum(layer(0.7, x)).backward()
        let fast = layer.conv.weight.grad!.copy(), fastBias = layer.conv.bias!.grad!.copy()
        layer.zeroGrad()
        weightedSum(layer.concatenatingForward(0.7, x)).backward()
        XCTAssertEqual(fast.scalars, layer.conv.weight.grad!.scalars, accuracy: 1e-5)
        XCTAssertEqual(fastBias.scalars, layer.conv.bias!.grad!.scalars, accuracy: 1e-5)
        layer.zeroGrad()
    }

    /// A `Linear` followed by a `Tanh` in a `Sequential` runs fused: the same output and
    /// parameter gradients, bit for bit, as the layers applied one by one.
    func testSequentialFusesLinearTanh() {
        let model = Sequential(Linear(4, 6), Tanh(), Linear(6, 4), Tanh())
        let x = TestData.uniform([5, 4], seed: 8)
        weightedSum(model(x)).backward()
        let fusedOutput = model(x), fusedGrads = model.parameters.map { $0.grad!.copy() }
        model.zeroGrad()
        let unfused = model.layers.reduce(x) { $1($0) }
        weightedSum(unfused).backward()
        XCTAssertEqual(fusedOutput.scalars.map(\.bitPattern), unfused.scalars.map(\.bitPattern))
        for (fused, parameter) in zip(fusedGrads, model.parameters) {
            XCTAssertEqual(fused.scalars.map(\.bitPattern), parameter.grad!.scalars.map(\.bitPattern))
        }
        checkLayer(model, input: x)
    }

    func testSequentialStateDictNamesFollowPyTorch() throws {
        let model = Sequential(Conv2d(3, 4, kernelSize: 3, padding: 1), GroupNorm(groups: 2, channels: 4), ReLU(),
                               GlobalAvgPool(), Linear(4, 10))
        let names = model.namedParameters().map(\.name)
        XCTAssertEqual(names, ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"])
        XCTAssertEqual(model.parameterCount, 3 * 4 * 9 + 4 + 4 + 4 + 40 + 10)
        let state = model.stateDict()
        let other = Sequential(Conv2d(3, 4, kernelSize: 3, padding: 1), GroupNorm(groups: 2, channels: 4), ReLU(),
                               GlobalAvgPool(), Linear(4, 10))
        try other.loadStateDict(state)
        let x = TestData.uniform([2, 3, 5, 5], seed: 7)
        XCTAssertEqual(model(x).scalars, other(x).scalars)
    }

    func testLoadStateDictReportsProblems() {
        let model = Sequential(Linear(2, 3))
        XCTAssertThrowsError(try model.loadStateDict(["0.weight": Tensor(repeating: 0, shape: [3, 2])])) { error in
            XCTAssertEqual((error as? StateDictError)?.missing, ["0.bias"])
        }
        XCTAssertThrowsError(try model.loadStateDict(["0.weight": Tensor(repeating: 0, shape: [2, 2]),
                                                      "0.bias": Tensor(repeating: 0, shape: [3])])) { error in
            XCTAssertTrue("\(error)".contains("0.weight: expected shape [3, 2], found [2, 2]"), "\(error)")
        }
        XCTAssertThrowsError(try model.loadStateDict(["0.weight": Tensor(repeating: 0, shape: [3, 2]),
                                                      "0.bias": Tensor(repeating: 0, shape: [3]),
                                                      "extra": Tensor(0)])) { error in
            XCTAssertEqual((error as? StateDictError)?.unexpected, ["extra"])
        }
    }

    func testInitialisationIsSeededAndHasPyTorchBounds() {
        Initializer.manualSeed(42)
        let a = Linear(100, 50)
        Initializer.manualSeed(42)
        let b = Linear(100, 50)
        XCTAssertEqual(a.weight.value.scalars, b.weight.value.scalars)
        let bound: Float = 1 / 10
        XCTAssertLessThanOrEqual(a.weight.value.abs().maxValue, bound)
        XCTAssertGreaterThan(a.weight.value.abs().maxValue, 0.95 * bound)
        let c = Linear(100, 50)
        XCTAssertNotEqual(a.weight.value.scalars, c.weight.value.scalars)
    }

    func testTrainEvalModePropagates() {
        let model = Sequential(Linear(2, 2), Sequential(ReLU()))
        model.eval()
        XCTAssertTrue(model.modules.allSatisfy { !$0.isTraining })
        model.train()
        XCTAssertTrue(model.modules.allSatisfy { $0.isTraining })
    }

    func testCrossEntropyGradientAndValue() {
        let logits = TestData.uniform([4, 5], low: -2, high: 2, seed: 8)
        let labels = [0, 3, 4, 1]
        assertGradientsMatchFiniteDifferences([logits]) { crossEntropy(logits: $0[0], labels: labels) }
        // Against the definition, in Double.
        var expected = 0.0
        for (i, y) in labels.enumerated() {
            let row = (0..<5).map { Double(logits[i, $0]) }
            let lse = log(row.map(exp).reduce(0, +))
            expected += lse - row[y]
        }
        XCTAssertEqual(Double(crossEntropy(logits: logits, labels: labels).item), expected / 4, accuracy: 1e-5)
    }
}

