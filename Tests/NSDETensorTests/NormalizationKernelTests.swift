import XCTest
import NSDETestSupport
@testable import NSDETensor

/// The C kernels that replaced Swift loops write the same bits as those loops: GroupNorm forward
/// and backward (against ``GroupNormReference``, the former Swift kernels) on shapes that reach
/// every path of the 8-lane sums (32- and 16-element bodies, 8-element blocks, scalar tails), with
/// and without affine parameters and fused ReLU; the sum over an axis; and the broadcast
/// arithmetic against its closure form.
final class NormalizationKernelTests: XCTestCase {
    func bits(_ t: Tensor?) -> [UInt32] { t?.scalars.map(\.bitPattern) ?? [] }

    func testGroupNormMatchesTheSwiftKernelsBitForBit() {
        var seed: UInt64 = 100
        for (n, c, groups, h, w) in [(2, 4, 2, 5, 7), (3, 6, 3, 1, 1), (2, 16, 8, 9, 9), (1, 8, 8, 6, 6), (2, 2, 1, 4, 4),
                                     (1, 3, 3, 3, 11), (2, 16, 4, 14, 14)] {
            seed += 10
            let x = TestData.uniform([n, c, h, w], low: -2, high: 3, seed: seed)
            let dy = TestData.uniform([n, c, h, w], low: -1, high: 1, seed: seed + 1)
            let gamma = TestData.uniform([c], low: 0.5, high: 1.5, seed: seed + 2)
            let beta = TestData.uniform([c], low: -0.5, high: 0.5, seed: seed + 3)
            for affine in [false, true] {
                for relu in [false, true] {
                    let what = "[\(n), \(c), \(h), \(w)] groups \(groups) affine \(affine) relu \(relu)"
                    let (y, stats) = GroupNormKernel.forward(x, groups: groups, gamma: affine ? gamma : nil, beta: affine ? beta : nil,
                                                             eps: 1e-5, relu: relu)
                    let reference = GroupNormReference.forward(x, groups: groups, gamma: affine ? gamma : nil,
                                                               beta: affine ? beta : nil, eps: 1e-5, relu: relu)
                    XCTAssertEqual(bits(y), reference.y.map(\.bitPattern), what)
                    XCTAssertEqual(stats.mean.map(\.bitPattern), reference.mean.map(\.bitPattern), what)
                    XCTAssertEqual(stats.rstd.map(\.bitPattern), reference.rstd.map(\.bitPattern), what)
                    let want = GroupNormReference.backward(dy, x: x, groups: groups, gamma: affine ? gamma : nil, mean: stats.mean,
                                                           rstd: stats.rstd, reluOutput: relu ? y.scalars : nil)
                    for needInput in [true, false] {
                        let got = GroupNormKernel.backward(dy, x: x, groups: groups, gamma: affine ? gamma : nil, stats: stats,
                                                           reluOutput: relu ? y : nil, needInput: needInput)
                        XCTAssertEqual(bits(got.0), needInput ? want.dx.map(\.bitPattern) : [], "dx, " + what)
                        XCTAssertEqual(bits(got.1), want.dgamma?.map(\.bitPattern) ?? [], "dgamma, " + what)
                        XCTAssertEqual(bits(got.2), want.dbeta?.map(\.bitPattern) ?? [], "dbeta, " + what)
                    }
                }
            }
        }
    }

    /// The sum over an axis equals the former loop: per output element, the double sum of the
    /// axis in order, rounded once (checked against a double reference, exactly), for inner sizes
    /// below and above the kernel's column block.
    func testSumOverAnAxisIsTheRoundedDoubleSum() {
        for shape in [[3, 5, 7], [1, 4, 3000], [2, 9, 2049], [6, 1, 5]] {
            let x = TestData.uniform(shape, low: -1, high: 1, seed: UInt64(shape.reduce(0, +)))
            let values = x.scalars
            for axis in [0, 1] where shape[2] > 1 || axis == 0 {
                let got = Reduction.reduce(x, axis: axis, .sum)
                let outer = shape[..<axis].reduce(1, *), count = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
                var want = [Float](repeating: 0, count: outer * inner)
                for o in 0..<outer {
                    for j in 0..<inner {
                        var acc = 0.0
                        for k in 0..<count { acc += Double(values[(o * count + k) * inner + j]) }
                        want[o * inner + j] = Float(acc)
                    }
                }
                XCTAssertEqual(got.scalars.map(\.bitPattern), want.map(\.bitPattern), "\(shape) axis \(axis)")
            }
        }
    }

    /// `+`, `-` and `*` with broadcasting give the closure form's values, for row broadcasts (the
    /// C kernel) and others.
    func testBroadcastArithmeticMatchesTheClosureForm() {
        let a = TestData.uniform([4, 3, 5, 6], low: -2, high: 2, seed: 1)
        for shape in [[1, 3, 5, 6], [4, 1, 5, 6], [1, 3, 1, 1], [6], [1]] {
            let b = TestData.uniform(shape, low: -2, high: 2, seed: 2)
            XCTAssertEqual(bits(a + b), bits(Elementwise.broadcasting(a, b) { $0 + $1 }), "+ \(shape)")
            XCTAssertEqual(bits(a - b), bits(Elementwise.broadcasting(a, b) { $0 - $1 }), "- \(shape)")
            XCTAssertEqual(bits(b - a), bits(Elementwise.broadcasting(b, a) { $0 - $1 }), "- reversed \(shape)")
            XCTAssertEqual(bits(a * b), bits(Elementwise.broadcasting(a, b) { $0 * $1 }), "* \(shape)")
        }
    }
}

/// The column sums (bias gradients) in C against the former Swift loop, and the fused tanh
/// gradient with column sums against the two separate kernels, bit for bit.
final class ColumnSumKernelTests: XCTestCase {
    /// The former Swift `GEMM.columnSums`: blocks of 64 rows summed in float, the blocks in double.
    static func referenceColumnSums(_ x: [Float], rows: Int, cols: Int, ld: Int) -> [Float] {
        var total = [Double](repeating: 0, count: cols)
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + 64)
            var block = Array(x[(r0 * ld)..<(r0 * ld + cols)])
            for r in (r0 + 1)..<max(r1, r0 + 1) { for j in 0..<cols { block[j] += x[r * ld + j] } }
            for j in 0..<cols { total[j] += Double(block[j]) }
            r0 = r1
        }
        return total.map { Float($0) }
    }

    func testColumnSumsMatchTheSwiftLoop() {
        // Widths below 16, of one or two 16-column vectors, of 64-column chunks, and of all three with a tail.
        for (rows, cols, ld) in [(1, 1, 1), (63, 5, 5), (64, 8, 9), (65, 17, 17), (200, 33, 40), (128, 64, 64), (1, 128, 128),
                                 (130, 150, 160), (70, 80, 80)] {
            let x = TestData.uniform([rows * ld], low: -3, high: 3, seed: UInt64(rows * 100 + cols)).scalars
            var out = [Float](repeating: .nan, count: cols)
            x.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in GEMM.columnSums(p.baseAddress!, rows: rows, cols: cols, ld: ld, into: o.baseAddress!) }
            }
            XCTAssertEqual(out.map(\.bitPattern), Self.referenceColumnSums(x, rows: rows, cols: cols, ld: ld).map(\.bitPattern),
                           "\(rows)x\(cols), ld \(ld)")
        }
    }

    /// `x Wᵀ + b` with the bias added after the GEMM (`nsde_bias_add_inplace`) gives the bits of
    /// the GEMM accumulating onto the preloaded bias, with both GEMM libraries' shapes (3 and 10
    /// outputs: OpenBLAS; 64: oneDNN).
    func testLinearBiasAfterTheGEMMEqualsThePreloadedBias() {
        for (outputs, inner) in [(3, 4), (64, 128), (10, 64)] {
            let x = TestData.uniform([9, inner], seed: 37), w = TestData.uniform([outputs, inner], seed: 38)
            let b = TestData.uniform([outputs], seed: 39)
            let preloaded = Tensor.linearKernel(x, w, bias: b, outRows: 9, outFeatures: outputs)
            XCTAssertEqual(x.linear(weight: w, bias: b).scalars.map(\.bitPattern), preloaded.scalars.map(\.bitPattern),
                           "linear with \(outputs) outputs, \(inner) inputs")
        }
    }

    func testTanhGradientWithColumnSumsEqualsTheTwoKernels() {
        for (rows, cols) in [(1, 3), (64, 16), (130, 128)] {
            let g = TestData.uniform([rows, cols], low: -2, high: 2, seed: 5), y = TestData.uniform([rows, cols], low: -1, high: 1, seed: 6)
            let (fused, sums) = Elementwise.tanhBackwardWithColumnSums(g, y: y)
            let separate = Elementwise.tanhBackward(g, y: y)
            XCTAssertEqual(fused.scalars.map(\.bitPattern), separate.scalars.map(\.bitPattern))
            XCTAssertEqual(sums.scalars.map(\.bitPattern),
                           Self.referenceColumnSums(separate.scalars, rows: rows, cols: cols, ld: cols).map(\.bitPattern))
        }
    }
}
