import NSDETensor
import NSDETestSupport
import XCTest

/// Every differentiable op's gradient against central finite differences, and its forward-mode
/// JVP against the reverse-mode gradient.
final class OpGradientTests: XCTestCase {
    func u(_ shape: [Int], _ seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
        TestData.uniform(shape, low: low, high: high, seed: seed)
    }

    func testBinaryOpsWithBroadcasting() {
        let a = u([2, 3, 4], 1), b = u([3, 1], 2), c = u([4], 3, low: 0.5, high: 1.5)
        assertGradientsMatchFiniteDifferences([a, b]) { weightedSum($0[0] + $0[1]) }
        assertGradientsMatchFiniteDifferences([a, b]) { weightedSum($0[0] - $0[1]) }
        assertGradientsMatchFiniteDifferences([a, b]) { weightedSum($0[0] * $0[1]) }
        assertGradientsMatchFiniteDifferences([a, c]) { weightedSum($0[0] / $0[1]) }
        assertGradientsMatchFiniteDifferences([b, a]) { weightedSum($0[0] * $0[1] + $0[0]) }
        let p = u([2, 3, 4], 21), q = u([2, 3, 4], 22)
        assertGradientsMatchFiniteDifferences([a, p, q]) { weightedSum($0[0].addingProduct($0[1], $0[2])) }
        XCTAssertEqual(a.addingProduct(p, q).scalars, (a + p * q).scalars)
        assertGradientsMatchFiniteDifferences([a, p, q]) { weightedSum($0[0].addingScaled($0[1], 0.3, $0[2], -1.7)) }
        XCTAssertEqual(a.addingScaled(p, 0.5, q, 2).scalars, (a + p * 0.5 + q * 2).scalars, accuracy: 1e-6)
        // The C kernel rounds as Swift evaluates the expression (left to right, no FMA): same bits.
        let reference = (0..<a.count).map { i in a.scalars[i] + 0.3 * p.scalars[i] + -1.7 * q.scalars[i] }
        XCTAssertEqual(a.addingScaled(p, 0.3, q, -1.7).scalars.map(\.bitPattern), reference.map(\.bitPattern))
    }

    func testScalarAndUnaryOps() {
        let x = u([3, 5], 4)
        let pos = u([3, 5], 5, low: 0.3, high: 2)
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0] * 3 + 1) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum(2 - $0[0] / 4) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].tanh()) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].sigmoid()) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].softplus()) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].exp()) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].squared()) }
        assertGradientsMatchFiniteDifferences([pos]) { weightedSum($0[0].log()) }
        assertGradientsMatchFiniteDifferences([pos]) { weightedSum($0[0].sqrt()) }
        assertGradientsMatchFiniteDifferences([pos]) { weightedSum($0[0].pow(1.5)) }
        // Keep inputs away from the kinks of relu/abs/clamp so finite differences are valid.
        let away = Elementwise.map(x) { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        assertGradientsMatchFiniteDifferences([away]) { weightedSum($0[0].relu()) }
        assertGradientsMatchFiniteDifferences([away]) { weightedSum($0[0].abs()) }
        assertGradientsMatchFiniteDifferences([away * 2]) { weightedSum($0[0].clamped(min: -0.5, max: 0.5)) }
    }

    func testReductions() {
        let x = u([2, 3, 4], 6)
        assertGradientsMatchFiniteDifferences([x]) { $0[0].sum() }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].sum(axis: 1)) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].sum(axes: [0, 2], keepDims: true)) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].mean(axis: -1)) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].max(axis: 2)) }
        assertGradientsMatchFiniteDifferences([x]) { $0[0].mean() }
    }

    func testMovement() {
        let x = u([2, 3, 4], 7), y = u([2, 2, 4], 8)
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].reshaped([4, -1])) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].permuted([2, 0, 1])) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].transposed()) }
        assertGradientsMatchFiniteDifferences([x, y]) { weightedSum(Tensor.concat([$0[0], $0[1]], axis: 1)) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].slice(axis: 2, 1..<3)) }
        assertGradientsMatchFiniteDifferences([u([3, 1], 9)]) { weightedSum($0[0].broadcast(to: [2, 3, 4])) }
        assertGradientsMatchFiniteDifferences([u([4, 5], 10)]) { weightedSum($0[0].gather([0, 4, 2, 2])) }
    }

    func testMatMul() {
        let a = u([3, 4], 11), b = u([4, 5], 12), ba = u([2, 3, 4], 13), bb = u([2, 4, 5], 14)
        assertGradientsMatchFiniteDifferences([a, b]) { weightedSum($0[0].matmul($0[1])) }
        assertGradientsMatchFiniteDifferences([ba, bb]) { weightedSum($0[0].matmul($0[1])) }
        assertGradientsMatchFiniteDifferences([ba, b]) { weightedSum($0[0].matmul($0[1])) }
    }

    /// The fused ops against their unfused compositions: the same values and gradients (bit for
    /// bit: the same roundings in the same order), and their gradients against finite
    /// differences, with every input differentiated and with a constant factor (which the ops
    /// then do not keep).
    func testFusedOpsMatchTheirCompositions() {
        let x = u([4, 6], 31), p = u([4, 6], 32), q = u([4, 6], 33)
        // x + p ⊙ (0.3 q − 1.7): the dropout diffusion's update.
        assertGradientsMatchFiniteDifferences([x, p, q]) { weightedSum($0[0].addingProduct($0[1], affine: $0[2], scale: 0.3, shift: -1.7)) }
        XCTAssertEqual(x.addingProduct(p, affine: q, scale: 0.3, shift: -1.7).scalars.map(\.bitPattern),
                       x.addingProduct(p, q.affine(scale: 0.3, shift: -1.7)).scalars.map(\.bitPattern))
        let fusedUpdate = valueAndGradient(of: { weightedSum($0[0].addingProduct($0[1], affine: q, scale: 0.3, shift: -1.7)) }, at: [x, p])
        let plainUpdate = valueAndGradient(of: { weightedSum($0[0].addingProduct($0[1], q.affine(scale: 0.3, shift: -1.7))) }, at: [x, p])
        for (fused, plain) in zip(fusedUpdate.gradients, plainUpdate.gradients) {
            XCTAssertEqual(fused.scalars.map(\.bitPattern), plain.scalars.map(\.bitPattern))
        }
        // x + p ⊙ q with q constant (p is then not kept) and with p constant.
        let constantFactor = valueAndGradient(of: { weightedSum($0[0].addingProduct($0[1], q)) }, at: [x, p])
        XCTAssertEqual(constantFactor.gradients[1].scalars, valueAndGradient(of: { weightedSum($0[0] + $0[1] * q) }, at: [x, p]).gradients[1].scalars)
        let constantFirst = valueAndGradient(of: { weightedSum(x.addingProduct(p, $0[0])) }, at: [q])
        XCTAssertEqual(constantFirst.gradients[0].scalars, valueAndGradient(of: { weightedSum(x + p * $0[0]) }, at: [q]).gradients[0].scalars)

        // tanh(x Wᵀ + b) as one op, alone and through Sequential's Linear–Tanh fusion.
        let input = u([5, 4], 34), w = u([3, 4], 35), b = u([3], 36)
        assertGradientsMatchFiniteDifferences([input, w, b]) { weightedSum($0[0].linearTanh(weight: $0[1], bias: $0[2])) }
        assertGradientsMatchFiniteDifferences([input, w]) { weightedSum($0[0].linearTanh(weight: $0[1])) }
        let fused = valueAndGradient(of: { weightedSum($0[0].linearTanh(weight: $0[1], bias: $0[2])) }, at: [input, w, b])
        let plain = valueAndGradient(of: { weightedSum($0[0].linear(weight: $0[1], bias: $0[2]).tanh()) }, at: [input, w, b])
        XCTAssertEqual(fused.value.scalars.map(\.bitPattern), plain.value.scalars.map(\.bitPattern))
        for (f, g) in zip(fused.gradients, plain.gradients) { XCTAssertEqual(f.scalars.map(\.bitPattern), g.scalars.map(\.bitPattern)) }

        // With the weight's transpose given (a plain product instead of the transposed read): the
        // same values up to rounding, with and without tanh and bias, at the widths of an MLP drift
        // and at a small odd shape, and the gradients with respect to the weight itself.
        for (rows, inF, outF, seed) in [(128, 64, 128, 50), (128, 128, 64, 53), (5, 4, 3, 56)] as [(Int, Int, Int, UInt64)] {
            let x = u([rows, inF], seed), weight = u([outF, inF], seed + 1), bias = u([outF], seed + 2)
            let wT = Tensor(shape: [inF, outF], scalars: (0..<(inF * outF)).map { weight.scalars[($0 % outF) * inF + $0 / outF] })
            for tanh in [false, true] {
                for withBias in [false, true] {
                    func f(_ v: [Tensor], _ t: Tensor?) -> Tensor {
                        let b = withBias ? v[2] : nil
                        return weightedSum(tanh ? v[0].linearTanh(weight: v[1], bias: b, transposedWeight: t)
                                                : v[0].linear(weight: v[1], bias: b, transposedWeight: t))
                    }
                    let viaTranspose = valueAndGradient(of: { f($0, wT) }, at: [x, weight, bias])
                    let direct = valueAndGradient(of: { f($0, nil) }, at: [x, weight, bias])
                    let what = "\(rows)x\(inF)->\(outF), tanh \(tanh), bias \(withBias)"
                    XCTAssertEqual(viaTranspose.value.item, direct.value.item, accuracy: 1e-5 * max(1, abs(direct.value.item)), "value, \(what)")
                    for (k, (a, b)) in zip(viaTranspose.gradients, direct.gradients).enumerated() where k < 2 || withBias {
                        assertClose(a, b, "gradient \(k), \(what)", bound: 1e-5)
                    }
                }
            }
        }
    }

    /// The adjoint's fused reconstruction step: `y − (out − x)` bit for bit, and the scaled RMS
    /// norm of its change against a Double reference (summed in another order: 1e-12 relative).
    func testFixedPointStepMatchesItsDefinition() {
        let y = u([7, 13], 41), out = u([7, 13], 42), x = u([7, 13], 43)
        let (next, residual) = Elementwise.fixedPointStep(y: y, out: out, x: x, rtol: 1e-3, atol: 1e-4)
        XCTAssertEqual(next.scalars.map(\.bitPattern), (y - (out - x)).scalars.map(\.bitPattern))
        var sum = 0.0
        for (n, xi) in zip(next.scalars, x.scalars) {
            let r = Double(n - xi) / (1e-4 + 1e-3 * max(abs(Double(n)), abs(Double(xi))))
            sum += r * r
        }
        XCTAssertEqual(residual, (sum / Double(x.count)).squareRoot(), accuracy: 1e-12 * residual)
    }

    func testGroupNorm() {
        let x = u([2, 4, 3, 3], 15, low: -2, high: 2), g = u([4], 16, low: 0.5, high: 1.5), b = u([4], 17)
        assertGradientsMatchFiniteDifferences([x, g, b], eps: 5e-3) { weightedSum($0[0].groupNorm(groups: 2, gamma: $0[1], beta: $0[2])) }
        assertGradientsMatchFiniteDifferences([x], eps: 5e-3) { weightedSum($0[0].groupNorm(groups: 4)) }
        assertGradientsMatchFiniteDifferences([x, g, b], eps: 1e-3) { weightedSum($0[0].groupNormReLU(groups: 2, gamma: $0[1], beta: $0[2])) }
        // The fused op equals the composition.
        XCTAssertEqual(x.groupNormReLU(groups: 2, gamma: g, beta: b).scalars, x.groupNorm(groups: 2, gamma: g, beta: b).relu().scalars)
    }

    func testGroupNormForwardMatchesDefinition() {
        let x = u([2, 4, 2, 3], 18)
        let y = x.groupNorm(groups: 2)
        // Each (sample, group) block of 2 channels x 6 pixels has mean 0 and variance ~1.
        for n in 0..<2 { for g in 0..<2 {
            var vals: [Float] = []
            for c in (2 * g)..<(2 * g + 2) { for i in 0..<2 { for j in 0..<3 { vals.append(y[n, c, i, j]) } } }
            let mean = vals.reduce(0, +) / 12
            let variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 12
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(variance, 1, accuracy: 1e-3)
        } }
    }

    func testPoolingAndSoftmax() {
        let x = u([2, 3, 4, 4], 19)
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].avgPool2d(kernel: 2)) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].avgPool2d(kernel: 3, stride: 1)) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].globalAvgPool()) }
        let logits = u([4, 5], 20, low: -3, high: 3)
        assertGradientsMatchFiniteDifferences([logits]) { weightedSum($0[0].logSoftmax()) }
        assertGradientsMatchFiniteDifferences([logits]) { weightedSum($0[0].softmax()) }
    }

    func testSoftmaxRowsSumToOneAndAreStable() {
        let x = Tensor(shape: [2, 3], scalars: [1000, 1001, 1002, -5, 0, 5])
        let p = x.softmax()
        XCTAssertTrue(p.isFinite)
        XCTAssertEqual(p[0, 0] + p[0, 1] + p[0, 2], 1, accuracy: 1e-6)
        XCTAssertEqual(p[1, 2], Float(exp(5.0) / (exp(-5.0) + 1 + exp(5.0))), accuracy: 1e-6)
    }
}
