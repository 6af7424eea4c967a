import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

/// `TapeFreeLayer`: the forward pass is the layer's own (bit for bit), the pullback gives the
/// tape's input and parameter gradients, sums over repeated applications as the tape does, and
/// adds into an accumulator in place.
final class TapeFreeLayerTests: XCTestCase {
    override func setUp() { Initializer.manualSeed(4) }

    /// The tape's gradients of `weightedSum(layer(x))` with respect to x and each parameter.
    private func tapeGradients(_ layer: some TapeFreeLayer, _ x: Tensor) -> [Tensor] {
        layer.zeroGrad()
        var leaf = x.detached()
        leaf.requiresGrad = true
        weightedSum(layer(leaf)).backward()
        return [leaf.grad!] + layer.tapeFreeParameters.map { $0.grad ?? Tensor(repeating: 0, shape: $0.shape) }
    }

    /// The tape-free gradients of the same loss.
    private func tapeFreeGradients(_ layer: some TapeFreeLayer, _ x: Tensor) -> (output: Tensor, gradients: [Tensor]) {
        let (y, saved) = layer.tapeFreeForward(x)
        XCTAssertEqual(saved.count, layer.tapeFreeSavedCount)
        let g = TestData.uniform(y.shape, seed: 4242)   // the cotangent of weightedSum
        var sums = [Tensor?](repeating: nil, count: layer.tapeFreeParameters.count)
        let dx = layer.tapeFreePullback(g, saved: saved, inputGradient: true, addingInto: nil, sums: &sums, offset: 0)!
        return (y, [dx] + zip(sums, layer.tapeFreeParameters).map { $0 ?? Tensor(repeating: 0, shape: $1.shape) })
    }

    private func layers() -> [(String, any TapeFreeLayer)] {
        [("linear", Linear(5, 4)), ("linear, no bias", Linear(5, 4, bias: false)), ("tanh", Tanh()),
         ("mlp", Sequential([Linear(5, 8), Tanh(), Linear(8, 4)])),
         ("relu and sigmoid", Sequential([Linear(5, 6), ReLU(), Linear(6, 6), Sigmoid(), Linear(6, 4)])),
         ("nested", Sequential([Sequential([Linear(5, 3), Tanh()]), Softplus(), Linear(3, 2)]))]
    }

    func testForwardAndPullbackMatchTheTape() {
        let x = TestData.uniform([6, 5], seed: 2)
        for (name, layer) in layers() {
            XCTAssertTrue(layer.supportsTapeFree, name)
            func check<L: TapeFreeLayer>(_ layer: L) {
                let (y, fast) = tapeFreeGradients(layer, x)
                XCTAssertEqual(y.scalars, layer(x).scalars, "\(name): output")
                assertGradientsClose(fast, tapeGradients(layer, x), name)
            }
            check(layer)
        }
    }

    /// The MLP drift's layers (Linear–Tanh fused, then Linear): the same bits as the tape.
    func testMLPGradientsAreTheTapesBits() {
        let net = Sequential([Linear(5, 8), Tanh(), Linear(8, 5)])
        let x = TestData.uniform([7, 5], seed: 3)
        let fast = tapeFreeGradients(net, x).gradients, tape = tapeGradients(net, x)
        for (i, (a, b)) in zip(fast, tape).enumerated() { XCTAssertEqual(a.scalars, b.scalars, "gradient \(i)") }
    }

    /// The same at widths the register-tiled kernel runs (16 → 32 → 32 → 16: the gradient through
    /// each tanh fused into the next layer's input-gradient product), and the forward pass with an
    /// Euler–Maruyama update fused into the last layer equals the output followed by the update.
    func testRegisterTiledWidthsAreTheTapesBits() {
        let net = Sequential([Linear(16, 32), Tanh(), Linear(32, 32), Tanh(), Linear(32, 16)])
        let x = TestData.uniform([9, 16], seed: 3)
        let fast = tapeFreeGradients(net, x).gradients, tape = tapeGradients(net, x)
        for (i, (a, b)) in zip(fast, tape).enumerated() { XCTAssertEqual(a.scalars, b.scalars, "gradient \(i)") }
        let state = TestData.uniform([9, 16], seed: 4), noise = TestData.uniform([9, 16], seed: 5)
        let update = ElementwiseUpdate.addingProductAffine(state: state, noise: noise, scale: 0.3, shift: 0.01)
        for layer in [net as any TapeFreeLayer, Linear(16, 16), Tanh()] {
            let (updated, saved) = layer.tapeFreeForward(x, then: update)
            let (output, plainSaved) = layer.tapeFreeForward(x)
            XCTAssertEqual(updated.scalars, update.apply(to: output).scalars, "\(type(of: layer)): fused update")
            XCTAssertEqual(saved.map(\.scalars), plainSaved.map(\.scalars), "\(type(of: layer)): saved tensors")
        }
    }

    /// Two pullbacks into the same sums equal the sum of two separate ones; an accumulator gets
    /// ∂L/∂x added in place; `inputGradient: false` returns nil but still sums the parameters'.
    func testSumsAndAccumulators() {
        let net = Sequential([Linear(4, 6), Tanh(), Linear(6, 3)])
        let x1 = TestData.uniform([3, 4], seed: 1), x2 = TestData.uniform([3, 4], seed: 2)
        let g = TestData.uniform([3, 3], seed: 3)
        func pullback(_ x: Tensor, into sums: inout [Tensor?], accumulator: Tensor? = nil, input: Bool = true) -> Tensor? {
            let (_, saved) = net.tapeFreeForward(x)
            return net.tapeFreePullback(g, saved: saved, inputGradient: input, addingInto: accumulator, sums: &sums, offset: 1)
        }
        let slots = net.tapeFreeParameters.count
        var both = [Tensor?](repeating: nil, count: slots + 1)
        let base = Tensor(repeating: 0.5, shape: [3, 4])
        let accumulator = base.copy()
        let dx1 = pullback(x1, into: &both, accumulator: accumulator)!
        XCTAssertNil(pullback(x2, into: &both, input: false))
        XCTAssertNil(both[0], "slots before the offset are left alone")
        XCTAssertTrue(dx1.storage === accumulator.storage, "the input gradient is added into the accumulator")
        var first = [Tensor?](repeating: nil, count: slots + 1), second = first
        let alone = pullback(x1, into: &first)!
        _ = pullback(x2, into: &second)
        XCTAssertEqual(dx1.scalars, (alone + base).scalars, accuracy: 1e-6)
        for i in 1...slots {
            XCTAssertEqual(both[i]!.scalars, (first[i]! + second[i]!).scalars, accuracy: 1e-5, "slot \(i)")
        }
    }

    /// A layer with parameters that is not a TapeFreeLayer makes a Sequential unsupported.
    func testUnsupportedLayers() {
        final class Scale: Module, Layer {
            let factor = Parameter(Tensor(repeating: 2, shape: [1]))
            func callAsFunction(_ x: Tensor) -> Tensor { x * factor.value }
        }
        XCTAssertFalse(Sequential([Linear(3, 3), Scale()]).supportsTapeFree)
        XCTAssertEqual(Sequential([Linear(3, 3), Scale()]).tapeFreeParameters.count, 0)
        XCTAssertTrue(Sequential([Linear(3, 3), ReLU()]).supportsTapeFree)
    }
}
