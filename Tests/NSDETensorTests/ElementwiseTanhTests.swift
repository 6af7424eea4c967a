import Foundation
import NSDETensor
import NSDETestSupport
import XCTest

/// The vectorised tanh kernel against `Foundation.tanh`, and its backward kernel.
final class ElementwiseTanhTests: XCTestCase {
    func testTanhMatchesFoundation() {
        var xs: [Float] = [0, -0, 1e-30, -1e-30, 1e-6, 3e-4, 5e-4, 0.1, 0.5, 1, 2, 3, 5, 7.9, 8, 9, 20, 88, 1e30,
                           .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        xs += xs.map { -$0 }
        for i in 0..<20_001 { xs.append(Float(i - 10_000) * 1e-3) }   // [-10, 10] in steps of 1e-3
        let x = Tensor(xs)
        let y = Elementwise.tanh(x).scalars
        var worst: Float = 0
        for (v, t) in zip(xs, y) {
            let r = Foundation.tanh(v)
            worst = max(worst, abs(t - r))
            XCTAssertLessThanOrEqual(abs(t), 1, "tanh(\(v)) = \(t) outside [-1, 1]")
            if v != 0 { XCTAssertEqual(t.sign, v.sign, "tanh(\(v)) = \(t) has the wrong sign") }
        }
        XCTAssertLessThanOrEqual(worst, 5e-7)
        XCTAssertTrue(Elementwise.tanh(Tensor([.nan])).scalars[0].isNaN)
        // Odd symmetry and the small-argument slope.
        XCTAssertEqual(Elementwise.tanhApproximation(1e-5), 1e-5, accuracy: 1e-11)
        XCTAssertEqual(Elementwise.tanhApproximation(-0.7), -Elementwise.tanhApproximation(0.7))
    }

    func testTanhLargeTensorAndBackward() {
        // Large enough to run in parallel chunks; odd count exercises the loop tail.
        let x = TestData.uniform([257, 131], low: -4, high: 4, seed: 1), g = TestData.uniform([257, 131], seed: 2)
        let y = Elementwise.tanh(x)
        XCTAssertEqual(y.scalars, x.scalars.map { Foundation.tanh($0) }, accuracy: 5e-7)
        let d = Elementwise.tanhBackward(g, y: y)
        // The C kernel performs exactly the Swift definition's operations.
        XCTAssertEqual(d.scalars.map(\.bitPattern), zip(g.scalars, y.scalars).map { ($0 * (1 - $1 * $1)).bitPattern })
    }
}

/// The C kernel (compiled per instruction set) against the Swift definition, bit for bit.
final class ElementwiseKernelIdentityTests: XCTestCase {
    func testTanhKernelEqualsSwiftDefinition() {
        var xs: [Float] = [0, -0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 7.90531110763549805, 8]
        for i in 0..<40_000 { xs.append(Float(i - 20_000) * 4.7e-4) }
        xs += xs.map { -$0 }
        let y = Elementwise.tanh(Tensor(xs)).scalars
        for (x, v) in zip(xs, y) { XCTAssertEqual(v.bitPattern, Elementwise.tanhApproximation(x).bitPattern, "tanh(\(x))") }
    }

    /// Same-shape arithmetic, the affine map, x + a ⊙ b and the finiteness test against scalar Swift.
    func testArithmeticKernelsEqualScalarSwift() {
        for count in [1, 7, 255, 256, 257, 70_001] {
            let x = TestData.uniform([count], low: -3, high: 3, seed: 1), y = TestData.uniform([count], low: -2, high: 2, seed: 2)
            let z = TestData.uniform([count], seed: 3)
            let (a, b, c) = (x.scalars, y.scalars, z.scalars)
            XCTAssertEqual((x + y).scalars, zip(a, b).map { $0 + $1 })
            XCTAssertEqual((x - y).scalars, zip(a, b).map { $0 - $1 })
            XCTAssertEqual((x * y).scalars, zip(a, b).map { $0 * $1 })
            XCTAssertEqual(x.affine(scale: 0.3, shift: -1.7).scalars, a.map { $0 * 0.3 + -1.7 })
            XCTAssertEqual(x.addingProduct(y, z).scalars, (0..<count).map { a[$0] + b[$0] * c[$0] })
            XCTAssertTrue(x.isFinite)
            for bad in [Float.nan, .infinity, -.infinity] {
                for position in Set([0, count / 2, count - 1]) {
                    var v = a
                    v[position] = bad
                    XCTAssertFalse(Tensor(v).isFinite, "\(bad) at \(position) of \(count)")
                }
            }
        }
        XCTAssertTrue(Tensor(shape: [0], scalars: []).isFinite)
        XCTAssertTrue(Tensor([.greatestFiniteMagnitude, -.leastNonzeroMagnitude]).isFinite)
    }

    /// A GEMM with a row bias (ragged widths, a leading dimension wider than the row) equals the
    /// product plus the bias and leaves the rest of each row alone.
    func testRowBiasBroadcast() {
        for (m, n, ldc) in [(1, 1, 1), (5, 37, 40), (3, 16, 16), (17, 65, 70)] {
            let k = 3
            let a = TestData.uniform([m, k], seed: 1).scalars, b = TestData.uniform([k, n], seed: 2).scalars
            let bias = TestData.uniform([n], seed: 3).scalars
            for backend in [GEMMBackend.openBLAS, .oneDNN] {
                var c = [Float](repeating: .nan, count: m * ldc)
                GEMM.sgemm(transA: false, transB: false, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: ldc,
                           rowBias: bias, backend: backend)
                for i in 0..<m {
                    for j in 0..<n {
                        let expected = (0..<k).reduce(Float(0)) { $0 + a[i * k + $1] * b[$1 * n + j] } + bias[j]
                        XCTAssertEqual(c[i * ldc + j], expected, accuracy: 1e-5, "\(backend) \(m)x\(n) [\(i), \(j)]")
                    }
                    for j in n..<ldc { XCTAssertTrue(c[i * ldc + j].isNaN, "wrote past the row") }
                }
            }
        }
    }

    /// A normal draw over a batch's rows equals those rows of the batch's draw (block-aligned or not).
    func testNormalRowsEqualRowsOfTheWholeDraw() {
        let whole = Tensor.randomNormal([9, 3], std: 2, seed: 4, stream: 6, offset: 10)
        for range in [0..<9, 0..<4, 4..<9, 1..<2, 5..<8] {
            let part = Tensor.randomNormal([range.count, 3], std: 2, seed: 4, stream: 6, offset: 10, rows: BatchRows(range, of: 9))
            XCTAssertEqual(part.scalars, whole.rows(range).scalars, "rows \(range)")
        }
    }
}
