import XCTest
import NSDETestSupport
@testable import NSDETensor

/// Chains of ``Tensor/groupNormReLUConv2d(blockedInputShape:groups:gamma:beta:eps:weight:bias:stride:padding:adding:inputAddend:blockedOutput:)``
/// that keep their activations in `nChw16c` between layers (the paper's drift: three such layers,
/// each passing its time map on as the next one's input addend) against the NCHW composition of
/// ``Tensor/groupNormReLU(groups:gamma:beta:eps:)``, ``Tensor/conv2d(weight:bias:stride:padding:)``
/// and broadcast additions: values, every gradient (the input addends' included) and tangents
/// within rounding (the blocked statistics sum in another order), and gradients against finite
/// differences. Shapes oneDNN does not run in `nChw16c` on this processor are skipped (counted).
final class BlockedNormalizedConvolutionTests: XCTestCase {
    /// (N, C, H, W, groups): 2 channels per group (the demo's 16 / 8), the paper's 64 / 32 (Winograd
    /// on AVX-512), 8 and 1 channels per group, fewer than 16 pixels, an odd pixel count.
    let cases: [(Int, Int, Int, Int, Int)] = [(2, 16, 6, 7, 8), (2, 64, 8, 8, 32), (2, 32, 5, 5, 4), (3, 16, 3, 3, 16), (1, 16, 5, 3, 8)]

    /// x, then (γ, β, weight, bias, time map) for each of three layers.
    func inputs(_ c: (Int, Int, Int, Int, Int), seed: UInt64) -> [Tensor] {
        let (n, ch, h, w, _) = c
        var xs = [TestData.uniform([n, ch, h, w], low: -2, high: 2, seed: seed)]
        for layer in 0..<3 {
            let s = seed + 10 * UInt64(layer + 1)
            xs += [TestData.uniform([ch], low: 0.5, high: 1.5, seed: s), TestData.uniform([ch], low: -0.3, high: 0.3, seed: s + 1),
                   TestData.uniform([ch, ch, 3, 3], low: -0.25, high: 0.25, seed: s + 2),
                   TestData.uniform([ch], low: -0.3, high: 0.3, seed: s + 3),
                   TestData.uniform([1, ch, h, w], low: -0.5, high: 0.5, seed: s + 4)]
        }
        return xs
    }

    func supported(_ c: (Int, Int, Int, Int, Int)) -> Bool {
        Tensor.supportsBlockedGroupNormReLUConv2d(inputShape: [c.0, c.1, c.2, c.3], groups: c.4,
                                                  weightShape: [c.1, c.1, 3, 3], padding: 1)
    }

    /// The three layers chained in nChw16c (NCHW in and out).
    func chain(_ v: [Tensor], groups: Int) -> Tensor {
        let shape = v[0].shape
        func layer(_ x: Tensor, _ k: Int, inputAddend: Tensor?, blockedOutput: Bool) -> Tensor {
            let p = Array(v[(1 + 5 * k)..<(6 + 5 * k)])
            return x.groupNormReLUConv2d(blockedInputShape: shape, groups: groups, gamma: p[0], beta: p[1], eps: 1e-5, weight: p[2],
                                         bias: p[3], padding: 1, adding: blockedOutput ? nil : p[4], inputAddend: inputAddend,
                                         blockedOutput: blockedOutput)
        }
        let y1 = layer(v[0], 0, inputAddend: nil, blockedOutput: true)
        let y2 = layer(y1, 1, inputAddend: v[5], blockedOutput: true)
        return layer(y2, 2, inputAddend: v[10], blockedOutput: false)
    }

    /// The same three layers as NCHW ops.
    func composition(_ v: [Tensor], groups: Int) -> Tensor {
        var x = v[0]
        for k in 0..<3 {
            let p = Array(v[(1 + 5 * k)..<(6 + 5 * k)])
            x = x.groupNormReLU(groups: groups, gamma: p[0], beta: p[1], eps: 1e-5).conv2d(weight: p[2], bias: p[3], padding: 1) + p[4]
        }
        return x
    }

    func testChainMatchesTheNCHWComposition() {
        var ran = 0
        for (i, c) in cases.enumerated() where supported(c) {
            ran += 1
            let xs = inputs(c, seed: UInt64(100 * i + 1))
            let u = TestData.uniform([c.0, c.1, c.2, c.3], seed: UInt64(100 * i + 99))
            let (value, grads) = valueAndGradient(of: { (self.chain($0, groups: c.4) * u).sum() }, at: xs)
            let (valueRef, gradsRef) = valueAndGradient(of: { (self.composition($0, groups: c.4) * u).sum() }, at: xs)
            XCTAssertEqual(Double(value.item), Double(valueRef.item), accuracy: 1e-5 * max(1, abs(Double(valueRef.item))), "value, case \(i)")
            assertClose(noGrad { chain(xs, groups: c.4) }, noGrad { composition(xs, groups: c.4) }, "output, case \(i)", bound: 1e-5)
            XCTAssertEqual(grads.count, 16)
            assertGradientsClose(grads, gradsRef, "chain gradients, case \(i)")
            // Only some inputs differentiated: a middle layer's weight and the first time map.
            let (_, partial) = valueAndGradient(of: { v in
                var w = xs; w[8] = v[0]; w[5] = v[1]
                return (self.chain(w, groups: c.4) * u).sum()
            }, at: [xs[8], xs[5]])
            assertClose(partial, [gradsRef[8], gradsRef[5]], tolerance: 1e-4, "partial gradients, case \(i)")
            // Tangents along every input.
            let ts = inputs(c, seed: UInt64(100 * i + 50))
            let (_, jvp) = valueAndJVP(of: { self.chain($0, groups: c.4) }, at: xs, tangents: ts)
            let (_, jvpRef) = valueAndJVP(of: { self.composition($0, groups: c.4) }, at: xs, tangents: ts)
            assertClose(jvp, jvpRef, "tangent, case \(i)", bound: 1e-5)
        }
        print("blocked groupNormReLUConv2d chains: \(ran) of \(cases.count) shapes ran in nChw16c on this processor")
    }

    /// A blocked output is the NCHW output rearranged: element for element after conversion, and a
    /// gradient handed back in the same layout.
    func testBlockedOutputIsTheNCHWOutputInNChw16c() {
        for (i, c) in cases.enumerated() where supported(c) {
            let xs = inputs(c, seed: UInt64(100 * i + 7))
            let shape = [c.0, c.1, c.2, c.3]
            let y = xs[0].groupNormReLUConv2d(blockedInputShape: shape, groups: c.4, gamma: xs[1], beta: xs[2], eps: 1e-5,
                                              weight: xs[3], bias: xs[4], padding: 1, blockedOutput: true)
            XCTAssertEqual(y.shape, [c.0, c.1 / 16, c.2, c.3, 16])
            let ref = xs[0].groupNormReLUConv2d(groups: c.4, gamma: xs[1], beta: xs[2], eps: 1e-5, weight: xs[3], bias: xs[4], padding: 1)
            // An NCHW input and no input addend: the values of the NCHW op, bit for bit.
            XCTAssertEqual(BlockedLayout.unblocked(y).scalars.map(\.bitPattern), ref.scalars.map(\.bitPattern), "case \(i)")
            let u = TestData.uniform(shape, seed: UInt64(100 * i + 8))
            let ub = BlockedLayout.blocked(u)
            let (_, grads) = valueAndGradient(of: { v in
                (v[0].groupNormReLUConv2d(blockedInputShape: shape, groups: c.4, gamma: v[1], beta: v[2], eps: 1e-5, weight: v[3],
                                          bias: v[4], padding: 1, blockedOutput: true) * ub).sum()
            }, at: Array(xs[0..<5]))
            let (_, gradsRef) = valueAndGradient(of: { v in
                (v[0].groupNormReLUConv2d(groups: c.4, gamma: v[1], beta: v[2], eps: 1e-5, weight: v[3], bias: v[4], padding: 1) * u).sum()
            }, at: Array(xs[0..<5]))
            assertClose(grads, gradsRef, tolerance: 1e-5, "blocked-output gradients, case \(i)")
            // The bias gradient alone (oneDNN's weight-gradient pass computes it for a blocked output).
            let (_, bias) = valueAndGradient(of: { v in
                (xs[0].groupNormReLUConv2d(blockedInputShape: shape, groups: c.4, gamma: xs[1], beta: xs[2], eps: 1e-5, weight: xs[3],
                                           bias: v[0], padding: 1, blockedOutput: true) * ub).sum()
            }, at: [xs[4]])
            assertClose(bias[0], gradsRef[4], "bias gradient alone, case \(i)", bound: 1e-5)
        }
    }

    func testChainGradientsMatchFiniteDifferences() throws {
        let c = (1, 16, 4, 3, 8)
        guard supported(c) else { throw XCTSkip("oneDNN runs no nChw16c kernels for this shape on this processor") }
        var xs = inputs(c, seed: 5)
        // β = 4 keeps the ReLUs' inputs away from their kink (x̂ > −4/γ nearly always), where
        // central differences would be wrong; the masks are checked against the NCHW ops above.
        xs[2] = Tensor(repeating: 4, shape: [c.1]); xs[7] = xs[2]
        // Two layers, the second taking the first's time map; finite differences on x, the first
        // layer's weight and time map, and the second layer's γ.
        let shape = [c.0, c.1, c.2, c.3]
        assertGradientsMatchFiniteDifferences([xs[0], xs[3], xs[5], xs[6]], eps: 1e-2) { v in
            let y1 = v[0].groupNormReLUConv2d(blockedInputShape: shape, groups: c.4, gamma: xs[1], beta: xs[2], eps: 1e-5,
                                              weight: v[1], bias: xs[4], padding: 1, blockedOutput: true)
            let y2 = y1.groupNormReLUConv2d(blockedInputShape: shape, groups: c.4, gamma: v[3], beta: xs[7], eps: 1e-5,
                                            weight: xs[8], bias: xs[9], padding: 1, inputAddend: v[2], blockedOutput: false)
            return weightedSum(y2)
        }
    }

    /// The blocked kernels give the same bits at 1 and 2 threads (units are independent; the input
    /// addend's gradient sums the samples in order): the value and the gradients of x and of the
    /// time maps (oneDNN's weight gradients may split their sums by thread, so they are not compared).
    func testSameBitsAtOneAndTwoThreads() {
        let c = cases[0]
        guard supported(c) else { return }
        let xs = inputs(c, seed: 77)
        let u = TestData.uniform([c.0, c.1, c.2, c.3], seed: 78)
        func run(_ threads: Int) -> [Tensor] {
            Parallel.withThreadLimit(threads) {
                let (v, g) = valueAndGradient(of: { (self.chain($0, groups: c.4) * u).sum() }, at: xs)
                return [v, g[0], g[5], g[10]]
            }
        }
        for (a, b) in zip(run(1), run(2)) { XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern)) }
    }
}
