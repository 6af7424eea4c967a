import XCTest
import NSDETestSupport
@testable import NSDETensor

/// ``Tensor/groupNormReLUConv2d(groups:gamma:beta:eps:weight:bias:stride:padding:adding:)`` against
/// ``Tensor/groupNormReLU(groups:gamma:beta:eps:)`` followed by ``Tensor/conv2d(weight:bias:stride:padding:)``:
/// the same bits for the value and every gradient (the fused op where oneDNN keeps activations in
/// `nChw16c`, the two ops elsewhere), tangents within rounding, and gradients against finite differences.
final class NormalizedConvolutionTests: XCTestCase {
    /// (N, C, H, W, groups, O, padding): the demo model's 16 channels (direct kernels), the paper's
    /// 64 (Winograd kernels on AVX-512), 8 and 1 channels per group, 12 channels (never fused), and
    /// fewer than 16 positions.
    let cases: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 16, 6, 7, 8, 16, 1), (2, 64, 8, 8, 32, 64, 1), (1, 32, 5, 5, 4, 16, 1), (2, 16, 4, 5, 16, 8, 0), (2, 12, 5, 5, 4, 12, 1),
        (3, 16, 3, 3, 2, 16, 1),   // 9 positions: only the kernels' scalar tails
    ]

    func inputs(_ c: (Int, Int, Int, Int, Int, Int, Int), seed: UInt64) -> [Tensor] {
        let (n, ch, h, w, _, o, _) = c
        return [TestData.uniform([n, ch, h, w], low: -2, high: 2, seed: seed),
                TestData.uniform([ch], low: 0.5, high: 1.5, seed: seed + 1),
                TestData.uniform([ch], low: -0.3, high: 0.3, seed: seed + 2),
                TestData.uniform([o, ch, 3, 3], low: -0.3, high: 0.3, seed: seed + 3),
                TestData.uniform([o], low: -0.3, high: 0.3, seed: seed + 4)]
    }

    func testMatchesTheTwoOpsBitForBit() {
        var fused = 0
        for (i, c) in cases.enumerated() {
            let (_, ch, h, w, groups, o, padding) = c
            let xs = inputs(c, seed: UInt64(10 * i + 1))
            let outShape = [c.0, o, h + 2 * padding - 2, w + 2 * padding - 2]
            let u = TestData.uniform(outShape, seed: UInt64(10 * i + 7))
            let geometry = Conv2DGeometry(inputShape: xs[0].shape, weightShape: xs[3].shape, padding: padding)
            if GroupNormKernel.supportsBlocked(xs[0].shape, groups: groups), Convolution.blockedAlgorithm(geometry) != nil { fused += 1 }
            let (value, grads) = valueAndGradient(of: { v in
                (v[0].groupNormReLUConv2d(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5, weight: v[3], bias: v[4],
                                          padding: padding) * u).sum()
            }, at: xs)
            let (valueRef, gradsRef) = valueAndGradient(of: { v in
                (v[0].groupNormReLU(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5).conv2d(weight: v[3], bias: v[4],
                                                                                               padding: padding) * u).sum()
            }, at: xs)
            XCTAssertEqual(value.scalars[0].bitPattern, valueRef.scalars[0].bitPattern, "value, C \(ch)")
            for (k, (g, r)) in zip(grads, gradsRef).enumerated() {
                XCTAssertEqual(g.scalars.map(\.bitPattern), r.scalars.map(\.bitPattern), "gradient \(k), C \(ch)")
            }
            // Without the bias and with only some inputs differentiated.
            let (_, partial) = valueAndGradient(of: { v in
                (xs[0].groupNormReLUConv2d(groups: groups, gamma: v[0], beta: xs[2], eps: 1e-5, weight: v[1], padding: padding) * u).sum()
            }, at: [xs[1], xs[3]])
            let (_, partialRef) = valueAndGradient(of: { v in
                (xs[0].groupNormReLU(groups: groups, gamma: v[0], beta: xs[2], eps: 1e-5).conv2d(weight: v[1], padding: padding) * u).sum()
            }, at: [xs[1], xs[3]])
            for (g, r) in zip(partial, partialRef) { XCTAssertEqual(g.scalars.map(\.bitPattern), r.scalars.map(\.bitPattern)) }
        }
        print("groupNormReLUConv2d: \(fused) of \(cases.count) shapes ran fused on this processor")
    }

    /// With an addend broadcast over the batch (a ConcatConv2d's time map): the value and every
    /// gradient, the addend's included, bit for bit against the two ops and the broadcast addition.
    func testAddendMatchesTheBroadcastAdditionBitForBit() {
        for (i, c) in cases.enumerated() {
            let (n, _, h, w, groups, o, padding) = c
            let xs = inputs(c, seed: UInt64(10 * i + 5))
            let outShape = [n, o, h + 2 * padding - 2, w + 2 * padding - 2]
            let addend = TestData.uniform([1] + outShape.dropFirst(), low: -1, high: 1, seed: UInt64(10 * i + 8))
            let u = TestData.uniform(outShape, seed: UInt64(10 * i + 9))
            let (value, grads) = valueAndGradient(of: { v in
                (v[0].groupNormReLUConv2d(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5, weight: v[3], bias: v[4],
                                          padding: padding, adding: v[5]) * u).sum()
            }, at: xs + [addend])
            let (valueRef, gradsRef) = valueAndGradient(of: { v in
                ((v[0].groupNormReLU(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5).conv2d(weight: v[3], bias: v[4],
                                                                                                padding: padding) + v[5]) * u).sum()
            }, at: xs + [addend])
            XCTAssertEqual(value.scalars[0].bitPattern, valueRef.scalars[0].bitPattern, "value, case \(i)")
            XCTAssertEqual(grads.count, 6)
            for (k, (g, r)) in zip(grads, gradsRef).enumerated() {
                XCTAssertEqual(g.scalars.map(\.bitPattern), r.scalars.map(\.bitPattern), "gradient \(k), case \(i)")
            }
            // Only the addend differentiated (no convolution gradient needed), and no bias.
            let (_, only) = valueAndGradient(of: { v in
                (xs[0].groupNormReLUConv2d(groups: groups, gamma: xs[1], beta: xs[2], eps: 1e-5, weight: xs[3], padding: padding,
                                           adding: v[0]) * u).sum()
            }, at: [addend])
            let (_, onlyRef) = valueAndGradient(of: { v in
                ((xs[0].groupNormReLU(groups: groups, gamma: xs[1], beta: xs[2], eps: 1e-5).conv2d(weight: xs[3], padding: padding)
                  + v[0]) * u).sum()
            }, at: [addend])
            XCTAssertEqual(only[0].scalars.map(\.bitPattern), onlyRef[0].scalars.map(\.bitPattern), "addend alone, case \(i)")
            // The tangent through the addend.
            let ta = TestData.uniform(addend.shape, seed: UInt64(10 * i + 60))
            let ts = inputs(c, seed: UInt64(10 * i + 61))
            let (_, jvp) = valueAndJVP(of: { v in
                v[0].groupNormReLUConv2d(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5, weight: v[3], bias: v[4],
                                         padding: padding, adding: v[5])
            }, at: xs + [addend], tangents: ts + [ta])
            let (_, jvpRef) = valueAndJVP(of: { v in
                v[0].groupNormReLU(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5).conv2d(weight: v[3], bias: v[4], padding: padding)
                    + v[5]
            }, at: xs + [addend], tangents: ts + [ta])
            assertClose(jvp, jvpRef, "tangent with addend, case \(i)", bound: 1e-6)
        }
    }

    func testTangentMatchesTheTwoOps() {
        for (i, c) in cases.enumerated() {
            let (_, _, _, _, groups, _, padding) = c
            let xs = inputs(c, seed: UInt64(10 * i + 3))
            let ts = inputs(c, seed: UInt64(10 * i + 50))
            let (_, jvp) = valueAndJVP(of: { v in
                v[0].groupNormReLUConv2d(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5, weight: v[3], bias: v[4], padding: padding)
            }, at: xs, tangents: ts)
            let (_, jvpRef) = valueAndJVP(of: { v in
                v[0].groupNormReLU(groups: groups, gamma: v[1], beta: v[2], eps: 1e-5).conv2d(weight: v[3], bias: v[4], padding: padding)
            }, at: xs, tangents: ts)
            assertClose(jvp, jvpRef, "tangent, case \(i)", bound: 1e-6)
        }
    }
}
