import XCTest
import NSDETestSupport
@testable import NSDETensor

/// The ops that keep a state in `nChw16c` through a solve (BlockedState.swift): the layout
/// conversions, the GroupNorm from and to `nChw16c`, the Euler–Maruyama update whose increments
/// stay in NCHW order, and the convolution into `nChw16c`, each against its NCHW composition
/// (values, gradients, tangents) and the new ops against finite differences.
final class BlockedStateTests: XCTestCase {
    /// (N, C, H, W, groups): the demo's 16 channels in 8 groups at 26x26 (676 pixels: ten 64-pixel
    /// chunks of the one-read statistics and a short one, 42 full 16-pixel tiles and a tail), 32
    /// channels in 2-channel groups, fewer than 16 pixels, one channel per group, 16 channels per group.
    let cases: [(Int, Int, Int, Int, Int)] = [(2, 16, 26, 26, 8), (2, 32, 5, 7, 16), (3, 16, 3, 3, 16), (1, 16, 9, 11, 1)]

    func testConversionsRoundTripAndArePullbacksOfEachOther() {
        for (i, c) in cases.enumerated() {
            let x = TestData.uniform([c.0, c.1, c.2, c.3], low: -2, high: 2, seed: UInt64(i + 1))
            let b = x.blockedNChw16c()
            XCTAssertEqual(b.shape, [c.0, c.1 / 16, c.2, c.3, 16])
            // Element (n, c, h, w) at [n, c / 16, h, w, c % 16].
            let (n, ch, h, w) = (c.0 - 1, c.1 - 3, c.2 / 2, c.3 - 1)
            XCTAssertEqual(b.scalars[(((n * c.1 / 16 + ch / 16) * c.2 + h) * c.3 + w) * 16 + ch % 16],
                           x.scalars[((n * c.1 + ch) * c.2 + h) * c.3 + w])
            assertSameBits(b.unblockedNChw16c(), x, "round trip, case \(i)")
            // Gradients and tangents: the conversions are permutations, each the other's adjoint.
            let u = TestData.uniform([c.0, c.1, c.2, c.3], seed: UInt64(i + 20))
            let (_, g) = valueAndGradient(of: { ($0[0].blockedNChw16c().unblockedNChw16c() * u).sum() }, at: [x])
            assertSameBits(g[0], u, "gradient through both conversions, case \(i)")
            let (_, gb) = valueAndGradient(of: { ($0[0].blockedNChw16c() * u.blockedNChw16c()).sum() }, at: [x])
            assertSameBits(gb[0], u, "gradient of the blocking, case \(i)")
            let (_, t) = valueAndJVP(of: { $0.blockedNChw16c() }, at: x, tangent: u)
            assertSameBits(t, u.blockedNChw16c(), "tangent of the blocking, case \(i)")
        }
    }

    // MARK: GroupNorm in nChw16c

    /// x, γ, β, addend.
    func normInputs(_ c: (Int, Int, Int, Int, Int), seed: UInt64, offset: Float = 0) -> [Tensor] {
        [TestData.uniform([c.0, c.1, c.2, c.3], low: offset - 2, high: offset + 2, seed: seed),
         TestData.uniform([c.1], low: 0.5, high: 1.5, seed: seed + 1), TestData.uniform([c.1], low: -0.3, high: 0.3, seed: seed + 2),
         TestData.uniform([1, c.1, c.2, c.3], low: -0.5, high: 0.5, seed: seed + 3)]
    }

    func blockedNorm(_ v: [Tensor], _ c: (Int, Int, Int, Int, Int), addend: Bool, relu: Bool = false) -> Tensor {
        let x = v[0].blockedNChw16c(), shape = [c.0, c.1, c.2, c.3], a = addend ? v[3] : nil
        return (relu ? x.groupNormReLU(blockedInputShape: shape, groups: c.4, gamma: v[1], beta: v[2], inputAddend: a)
                     : x.groupNorm(blockedInputShape: shape, groups: c.4, gamma: v[1], beta: v[2], inputAddend: a)).unblockedNChw16c()
    }

    func nchwNorm(_ v: [Tensor], _ c: (Int, Int, Int, Int, Int), addend: Bool, relu: Bool = false) -> Tensor {
        let x = addend ? v[0] + v[3] : v[0]
        return relu ? x.groupNormReLU(groups: c.4, gamma: v[1], beta: v[2]) : x.groupNorm(groups: c.4, gamma: v[1], beta: v[2])
    }

    func testGroupNormMatchesTheNCHWGroupNorm() {
        for (i, c) in cases.enumerated() {
            for (addend, relu) in [(false, false), (true, false), (false, true), (true, true)] {
                let what = "case \(i), addend \(addend), ReLU \(relu)"
                let v = normInputs(c, seed: UInt64(10 * i + 1))
                let u = TestData.uniform([c.0, c.1, c.2, c.3], seed: UInt64(10 * i + 9))
                assertClose(noGrad { blockedNorm(v, c, addend: addend, relu: relu) }, noGrad { nchwNorm(v, c, addend: addend, relu: relu) },
                            "values, \(what)", bound: 1e-5)
                let (_, g) = valueAndGradient(of: { (self.blockedNorm($0, c, addend: addend, relu: relu) * u).sum() }, at: v)
                let (_, gRef) = valueAndGradient(of: { (self.nchwNorm($0, c, addend: addend, relu: relu) * u).sum() }, at: v)
                assertGradientsClose(g, gRef, "gradients, \(what)")
                let ts: [Tensor?] = normInputs(c, seed: UInt64(10 * i + 5))
                let (_, t) = valueAndJVP(of: { self.blockedNorm($0, c, addend: addend, relu: relu) }, at: v, tangents: ts)
                let (_, tRef) = valueAndJVP(of: { self.nchwNorm($0, c, addend: addend, relu: relu) }, at: v, tangents: ts)
                assertClose(t, tRef, "tangent, \(what)", bound: 1e-5)
            }
        }
    }

    /// The statistics are read once (chunk means merged): no cancellation for inputs far from zero,
    /// where a one-pass Σx² − (Σx)²/m would lose every digit of the variance.
    func testGroupNormStatisticsStayAccurateFarFromZero() {
        let c = cases[0]
        let v = normInputs(c, seed: 31, offset: 1000)
        let out = noGrad { blockedNorm(v, c, addend: true) }
        // Reference in double: x̂ from the exact mean and variance of each (sample, group).
        let x = (v[0] + v[3]).scalars.map(Double.init)
        let (n, ch, hw, cpg) = (c.0, c.1, c.2 * c.3, c.1 / c.4)
        var worst = 0.0
        for s in 0..<n {
            for g in 0..<c.4 {
                let rows = (0..<cpg).map { (s * ch + g * cpg + $0) * hw }
                let values = rows.flatMap { x[$0..<($0 + hw)] }
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
                for (k, r) in rows.enumerated() {
                    let channel = g * cpg + k
                    for p in 0..<hw {
                        let expected = (x[r + p] - mean) / (variance + 1e-5).squareRoot() * Double(v[1].scalars[channel])
                            + Double(v[2].scalars[channel])
                        worst = max(worst, abs(Double(out.scalars[r + p]) - expected))
                    }
                }
            }
        }
        // Inputs near 1000 carry float32 rounding of about 6e-5 each, 3e-5 in units of σ ≈ 1.2.
        XCTAssertLessThan(worst, 2e-3, "largest error of the normalised values against double precision")
    }

    /// The op's gradients, the input addend's (the input gradient summed over the samples in order)
    /// included, have the same bits on one thread and on two (whose chunks split the samples).
    func testAddendGradientHasTheSameBitsOnOneAndTwoThreads() {
        let c = cases[0]
        let v = normInputs(c, seed: 61)
        let u = TestData.uniform([c.0, c.1, c.2, c.3], seed: 62)
        for relu in [false, true] {
            func gradients(_ threads: Int) -> [Tensor] {
                Parallel.withThreadLimit(threads) {
                    valueAndGradient(of: { (self.blockedNorm($0, c, addend: true, relu: relu) * u).sum() }, at: v).gradients
                }
            }
            let one = gradients(1), two = gradients(2)
            for k in 0..<4 { assertSameBits(one[k], two[k], "gradient \(k), ReLU \(relu)") }
            let (_, reference) = valueAndGradient(of: { (self.nchwNorm($0, c, addend: true, relu: relu) * u).sum() }, at: v)
            assertClose(one[3], reference[3], "addend gradient against the NCHW GroupNorm, ReLU \(relu)", bound: 1e-5)
        }
    }

    func testGroupNormGradientsMatchFiniteDifferences() {
        let c = (1, 16, 5, 13, 8)
        let v = normInputs(c, seed: 41)
        assertGradientsMatchFiniteDifferences(v, eps: 1e-2) { v in
            weightedSum(self.blockedNorm(v, c, addend: true))
        }
    }

    // MARK: The update with increments in NCHW order

    /// The NCHW update of each noise (the diffusions' `eulerMaruyamaUpdate`, written out).
    func nchwUpdate(_ y: Tensor, _ f: Tensor, _ dW: Tensor, _ noise: Tensor.BlockedUpdateNoise, dt: Float, sigma: Float) -> Tensor {
        switch noise {
        case .additive: return y.addingScaled(f, dt, dW, sigma)
        case .multiplicative: return y.addingScaled(f, dt, y * dW, sigma)
        case .dropout: return y.addingProduct(f, affine: dW, scale: sigma, shift: dt)
        }
    }

    func testUpdateIsTheNCHWUpdateBitForBit() {
        let noises: [Tensor.BlockedUpdateNoise] = [.additive, .multiplicative, .dropout]
        for (i, c) in cases.enumerated() {
            let shape = [c.0, c.1, c.2, c.3]
            let y = TestData.uniform(shape, low: -2, high: 2, seed: UInt64(i + 50))
            let f = TestData.uniform(shape, low: -2, high: 2, seed: UInt64(i + 60))
            let dW = TestData.uniform(shape, low: -0.5, high: 0.5, seed: UInt64(i + 70))
            let u = TestData.uniform(shape, seed: UInt64(i + 80))
            for noise in noises {
                // ΔW enters under the state's blocked shape with its elements in NCHW order.
                let w = dW.reshaped(BlockedLayout.blockedShape(shape))
                func blocked(_ v: [Tensor]) -> Tensor {
                    v[0].blockedNChw16c().eulerMaruyamaUpdate(nChw16cDrift: v[1].blockedNChw16c(), increments: w, noise: noise,
                                                              dt: 0.25, sigma: 0.7).unblockedNChw16c()
                }
                let ref = nchwUpdate(y, f, dW, noise, dt: 0.25, sigma: 0.7)
                assertSameBits(noGrad { blocked([y, f]) }, ref, "\(noise), case \(i)")
                let (_, g) = valueAndGradient(of: { (blocked($0) * u).sum() }, at: [y, f])
                let (_, gRef) = valueAndGradient(of: { (self.nchwUpdate($0[0], $0[1], dW, noise, dt: 0.25, sigma: 0.7) * u).sum() },
                                                 at: [y, f])
                for k in 0..<2 {
                    assertSameBits(g[k], gRef[k], "\(noise) gradient \(k), case \(i)")
                }
                // Only the drift differentiated (the state a constant), and only the state.
                let (_, gf) = valueAndGradient(of: { (blocked([y, $0[0]]) * u).sum() }, at: [f])
                assertSameBits(gf[0], gRef[1], "\(noise) drift alone")
                let (_, gy) = valueAndGradient(of: { (blocked([$0[0], f]) * u).sum() }, at: [y])
                assertSameBits(gy[0], gRef[0], "\(noise) state alone")
                let ts: [Tensor?] = [TestData.uniform(shape, seed: UInt64(i + 90)), TestData.uniform(shape, seed: UInt64(i + 91))]
                let (_, t) = valueAndJVP(of: blocked, at: [y, f], tangents: ts)
                let (_, tRef) = valueAndJVP(of: { self.nchwUpdate($0[0], $0[1], dW, noise, dt: 0.25, sigma: 0.7) }, at: [y, f],
                                            tangents: ts)
                assertClose(t, tRef, "\(noise) tangent, case \(i)", bound: 1e-6)
            }
        }
    }

    // MARK: Convolution into nChw16c

    func testConvolutionIntoNChw16cIsTheNCHWConvolutionConverted() throws {
        // The paper-small stem on one channel (oneDNN's backward-data pass then wants NCHW) and a
        // 16 → 32 convolution.
        let shapes: [([Int], [Int], Int)] = [([2, 1, 12, 10], [16, 1, 3, 3], 0), ([2, 16, 7, 6], [32, 16, 3, 3], 1)]
        var ran = 0
        for (i, (input, weight, padding)) in shapes.enumerated() {
            guard Tensor.supportsConv2dToNChw16c(inputShape: input, weightShape: weight, padding: padding) else { continue }
            ran += 1
            let v = [TestData.uniform(input, low: -1, high: 1, seed: UInt64(i + 1)),
                     TestData.uniform(weight, low: -0.3, high: 0.3, seed: UInt64(i + 2)),
                     TestData.uniform([weight[0]], low: -0.3, high: 0.3, seed: UInt64(i + 3))]
            let blocked = v[0].conv2dToNChw16c(weight: v[1], bias: v[2], padding: padding)
            let ref = v[0].conv2d(weight: v[1], bias: v[2], padding: padding)
            assertSameBits(blocked.unblockedNChw16c(), ref, "values, shape \(i)")
            let u = TestData.uniform(ref.shape, seed: UInt64(i + 4))
            let (_, g) = valueAndGradient(of: { ($0[0].conv2dToNChw16c(weight: $0[1], bias: $0[2], padding: padding).unblockedNChw16c() * u).sum() },
                                          at: v)
            let (_, gRef) = valueAndGradient(of: { ($0[0].conv2d(weight: $0[1], bias: $0[2], padding: padding) * u).sum() }, at: v)
            assertClose(g, gRef, tolerance: 1e-5, "gradients, shape \(i)")
            // The weights alone (the stem: the images need no gradient).
            let (_, gw) = valueAndGradient(of: { (v[0].conv2dToNChw16c(weight: $0[0], padding: padding).unblockedNChw16c() * u).sum() },
                                           at: [v[1]])
            let (_, gwRef) = valueAndGradient(of: { (v[0].conv2d(weight: $0[0], padding: padding) * u).sum() }, at: [v[1]])
            assertClose(gw, gwRef, tolerance: 1e-5, "weight gradient alone, shape \(i)")
            let ts: [Tensor?] = [TestData.uniform(input, seed: 7), TestData.uniform(weight, seed: 8), nil]
            let (_, t) = valueAndJVP(of: { $0[0].conv2dToNChw16c(weight: $0[1], bias: $0[2], padding: padding).unblockedNChw16c() },
                                     at: v, tangents: ts)
            let (_, tRef) = valueAndJVP(of: { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: padding) }, at: v, tangents: ts)
            assertClose(t, tRef, "tangent, shape \(i)", bound: 1e-5)
        }
        if ran == 0 { throw XCTSkip("oneDNN writes no nChw16c convolution output on this processor") }
    }

    /// Asserts equal shapes and the same bits in every element (reporting how many differ).
    private func assertSameBits(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        let differing = zip(a.scalars, b.scalars).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(what): \(differing) of \(a.count) elements differ", file: file, line: line)
    }
}
