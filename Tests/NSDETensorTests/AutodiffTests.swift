import NSDETensor
import NSDETestSupport
import XCTest

final class AutodiffTests: XCTestCase {
    func testBackwardAccumulatesAcrossCallsAndZeroGradClears() {
        var x = Tensor([1, 2, 3])
        x.requiresGrad = true
        (x * x).sum().backward()
        XCTAssertEqual(x.grad!.scalars, [2, 4, 6])
        (x * 3).sum().backward()
        XCTAssertEqual(x.grad!.scalars, [5, 7, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    /// The tape adds gradients in place only into buffers no other tensor shares: a gradient
    /// read after one backward pass keeps its values through the next.
    func testAccumulationLeavesGradientsReadEarlierUnchanged() {
        var x = Tensor([1, 2, 3])
        x.requiresGrad = true
        (x * x).sum().backward()
        let first = x.grad!
        (x * 3).sum().backward()
        XCTAssertEqual(first.scalars, [2, 4, 6])
        XCTAssertEqual(x.grad!.scalars, [5, 7, 9])
        // Many contributions in one pass (the parameter of an SDE drift used at every step).
        x.zeroGrad()
        var h = x
        for _ in 0..<5 { h = h * 0.5 + x }
        h.sum().backward()
        XCTAssertEqual(x.grad!.scalars, [1.96875, 1.96875, 1.96875])   // 1/32 + 1 + 1/2 + … + 1/16
    }

    func testSharedSubexpressionGetsBothContributions() {
        var x = Tensor([2])
        x.requiresGrad = true
        let y = x * x          // used twice below
        (y + y * x).sum().backward()   // d/dx (x² + x³) = 2x + 3x² = 16
        XCTAssertEqual(x.grad!.scalars, [16])
    }

    func testNoGradAndDetachStopRecording() {
        var x = Tensor([1, 2])
        x.requiresGrad = true
        let y = noGrad { x * 2 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(GradMode.isEnabled)
        let z = (x.detached() * x).sum()
        z.backward()
        XCTAssertEqual(x.grad!.scalars, [1, 2])   // only the non-detached factor contributes
        let inside: Bool = noGrad { enableGrad { GradMode.isEnabled } }
        XCTAssertTrue(inside)
    }

    func testBackwardWithSeedAndRetainGraph() {
        var x = Tensor([1, 2, 3])
        x.requiresGrad = true
        let y = x * x
        y.backward(Tensor([1, 0, 2]), retainGraph: true)
        XCTAssertEqual(x.grad!.scalars, [2, 0, 12])
        y.backward(Tensor([1, 1, 1]))
        XCTAssertEqual(x.grad!.scalars, [4, 4, 18])
    }

    func testFunctionalAPIs() {
        let x = Tensor([0.5, -1])
        let (value, grad) = valueAndGradient(of: { ($0 * $0 * $0).sum() }, at: x)
        XCTAssertEqual(value.item, 0.125 - 1, accuracy: 1e-6)
        XCTAssertEqual(grad.scalars, [0.75, 3])
        let (_, vjp) = valueAndPullback(of: { $0.tanh() }, at: x, cotangent: Tensor([1, 2]))
        XCTAssertEqual(vjp[0], 1 - Float(tanh(0.5) * tanh(0.5)), accuracy: 1e-6)
        XCTAssertEqual(vjp[1], 2 * (1 - Float(tanh(1.0) * tanh(1.0))), accuracy: 1e-6)
        let (_, jvp) = valueAndJVP(of: { $0.tanh() }, at: x, tangent: Tensor([1, 2]))
        XCTAssertEqual(jvp.scalars, vjp.scalars)  // diagonal Jacobian: JVP = VJP with the same vector
        // Several inputs at once.
        let (_, grads) = valueAndGradient(of: { ($0[0] * $0[1]).sum() }, at: [Tensor([2]), Tensor([5])])
        XCTAssertEqual(grads.map(\.scalars), [[5], [2]])
    }

    func testJVPMatchesVJPOnComposite() {
        // <u, J v> = <Jᵀ u, v> for a composite of matmul, group norm and tanh.
        let w = TestData.uniform([4, 6], seed: 1)
        let f: (Tensor) -> Tensor = { x in x.matmul(w).reshaped([2, 6, 1, 1]).groupNorm(groups: 3).tanh() }
        let x = TestData.uniform([2, 4], seed: 2), v = TestData.uniform([2, 4], seed: 3), u = TestData.uniform([2, 6, 1, 1], seed: 4)
        let (_, jv) = valueAndJVP(of: f, at: x, tangent: v)
        let (_, jtu) = valueAndPullback(of: f, at: x, cotangent: u)
        let lhs = zip(u.scalars, jv.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(jtu.scalars, v.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)))
    }

    func testBroadcastingShapesAndValues() {
        let a = Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [4, 1], scalars: [10, 20, 30, 40])
        let c = a + b
        XCTAssertEqual(c.shape, [2, 4, 3])
        XCTAssertEqual(c[1, 2, 0], 4 + 30)
        XCTAssertEqual(c[0, 3, 2], 3 + 40)
        XCTAssertEqual(Broadcast.shape([3, 1], [2, 1, 4]), [2, 3, 4])
        XCTAssertNil(Broadcast.shape([3], [4]))
        // Per-channel broadcast as used by biases on NCHW tensors.
        let x = Tensor(repeating: 1, shape: [2, 3, 2, 2]), bias = Tensor(shape: [1, 3, 1, 1], scalars: [1, 2, 3])
        XCTAssertEqual((x * bias)[1, 2, 1, 0], 3)
    }

    func testReductionsAndMovementValues() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 3, 4, 2, 6])
        XCTAssertEqual(x.sum(axis: 0).scalars, [5, 7, 9])
        XCTAssertEqual(x.sum(axis: 1, keepDims: true).shape, [2, 1])
        XCTAssertEqual(x.max(axis: 1).scalars, [5, 6])
        XCTAssertEqual(x.argmax(axis: 1), [1, 2])
        XCTAssertEqual(x.transposed().scalars, [1, 4, 5, 2, 3, 6])
        XCTAssertEqual(x.slice(axis: 1, 1..<3).scalars, [5, 3, 2, 6])
        XCTAssertEqual(Tensor.concat([x, x.slice(axis: 1, 0..<1)], axis: 1).scalars, [1, 5, 3, 1, 4, 2, 6, 4])
        XCTAssertEqual(x.gather([2, 0]).scalars, [3, 4])
        XCTAssertEqual(x.gt(Tensor([3])).scalars, [0, 1, 0, 1, 0, 1])
        XCTAssertEqual(x.mean().item, 3.5)
    }

    /// Matrix transposes (the last two axes swapped, batched or not, through OpenBLAS's
    /// out-of-place transpose) and other permutations move every value exactly, special values
    /// included, on shapes with power-of-two and odd sides.
    func testTransposesAndPermutationsMoveEveryValue() {
        let special: [Float] = [-0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude / 4]
        for shape in [[1, 1], [1, 7], [5, 1], [3, 5], [128, 64], [64, 128], [33, 70], [2, 7, 3], [3, 2, 16, 16]] {
            var x = TestData.uniform(shape, low: -2, high: 2, seed: UInt64(shape.reduce(1, *)))
            var scalars = x.scalars
            for (i, v) in special.enumerated() where i < scalars.count { scalars[i * 3 % scalars.count] = v }
            x = Tensor(shape: shape, scalars: scalars)
            let rank = shape.count, rows = shape[rank - 2], cols = shape[rank - 1], matrices = x.count / (rows * cols)
            let t = x.transposed()
            XCTAssertEqual(t.shape, Array(shape.dropLast(2)) + [cols, rows])
            let out = t.scalars
            var expected = [Float](repeating: 0, count: x.count)
            for m in 0..<matrices { for i in 0..<rows { for j in 0..<cols {
                expected[m * rows * cols + j * rows + i] = scalars[m * rows * cols + i * cols + j]
            } } }
            XCTAssertEqual(out.map(\.bitPattern), expected.map(\.bitPattern), "\(shape)")
            // The transpose of the transpose is the tensor; a NaN stays a NaN.
            XCTAssertEqual(t.transposed().scalars.map(\.bitPattern), scalars.map(\.bitPattern), "\(shape): twice")
        }
        XCTAssertTrue(Tensor(shape: [2, 2], scalars: [1, .nan, 3, 4]).transposed().scalars[2].isNaN)
        // [0, 2, 1] is the batched transpose; a permutation that moves other axes takes the general path.
        let y = TestData.uniform([2, 3, 4], seed: 8)
        XCTAssertEqual(y.permuted([0, 2, 1]).scalars, y.transposed().scalars)
        XCTAssertEqual(y.permuted([2, 0, 1]).shape, [4, 2, 3])
        XCTAssertEqual(y.permuted([2, 0, 1])[3, 1, 2], y[1, 2, 3])
    }

    func testMatMulAgainstNaiveProduct() {
        let a = TestData.uniform([7, 5], seed: 5), b = TestData.uniform([5, 3], seed: 6)
        let c = a.matmul(b)
        for i in 0..<7 { for j in 0..<3 {
            var s: Float = 0
            for k in 0..<5 { s += a[i, k] * b[k, j] }
            XCTAssertEqual(c[i, j], s, accuracy: 1e-5)
        } }
    }

    func testParallelKernelsAreDeterministicAcrossThreadCounts() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let x = TestData.uniform([8, 64, 20, 20], seed: 7)
        Parallel.threadCount = 1
        let one = (x.groupNorm(groups: 32).tanh() * 2 + x).sum(axes: [0, 2]).scalars
        Parallel.threadCount = 2
        let two = (x.groupNorm(groups: 32).tanh() * 2 + x).sum(axes: [0, 2]).scalars
        XCTAssertEqual(one, two)
    }

    func testLiveBytesAreReleased() {
        let before = BufferPool.shared.liveBytes
        do {
            var x = Tensor(repeating: 1, shape: [1000])
            x.requiresGrad = true
            (x * x).sum().backward()
            XCTAssertGreaterThan(BufferPool.shared.liveBytes, before)
        }
        XCTAssertEqual(BufferPool.shared.liveBytes, before)
    }
}
