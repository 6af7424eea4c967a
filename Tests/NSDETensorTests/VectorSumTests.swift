import XCTest
@testable import NSDETensor

/// The SIMD sums of the GroupNorm kernels against double-precision references, at every length
/// from 0 to 100 (each path: 32-wide body, 8-wide body, scalar tail), and the ReLU mask exactly.
final class VectorSumTests: XCTestCase {
    func values(_ n: Int, seed: UInt64) -> [Float] { Tensor.randomNormal([max(n, 1)], std: 2, seed: seed).scalars.prefix(n).map { $0 + 0.5 } }

    func testSumsMatchDoublePrecisionAtEveryLength() {
        for n in 0...100 {
            let x = values(n, seed: UInt64(n)), g = values(n, seed: UInt64(n) + 1000)
            let mean: Float = 0.3
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeBufferPointer { gp in
                    let px = xp.baseAddress ?? UnsafePointer(bitPattern: 16)!, pg = gp.baseAddress ?? UnsafePointer(bitPattern: 16)!
                    let sum = x.reduce(0.0) { $0 + Double($1) }
                    let squares = x.reduce(0.0) { $0 + Double($1 - mean) * Double($1 - mean) }
                    let gSum = g.reduce(0.0) { $0 + Double($1) }
                    let dot = zip(g, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1 - mean) }
                    let scale = Double(n) * 4 * 1e-6 + 1e-6
                    XCTAssertEqual(Double(VectorSum.sum(px, n)), sum, accuracy: scale * 4, "n \(n)")
                    XCTAssertEqual(Double(VectorSum.sumOfSquaredDeviations(px, n, mean: mean)), squares, accuracy: scale * 16, "n \(n)")
                    let (s, d) = VectorSum.sumAndCenteredDot(pg, px, n, mean: mean)
                    XCTAssertEqual(Double(s), gSum, accuracy: scale * 4, "n \(n)")
                    XCTAssertEqual(Double(d), dot, accuracy: scale * 16, "n \(n)")
                }
            }
        }
    }

    func testReLUMaskIsExactAtEveryLength() {
        for n in 0...40 {
            let y = values(n, seed: UInt64(n) + 7).map { $0 > 1 ? $0 : 0 }, g = values(n, seed: UInt64(n) + 9)
            var out = [Float](repeating: .nan, count: n)
            y.withUnsafeBufferPointer { yp in
                g.withUnsafeBufferPointer { gp in
                    out.withUnsafeMutableBufferPointer { op in
                        if n > 0 { VectorSum.reluMask(gp.baseAddress!, by: yp.baseAddress!, into: op.baseAddress!, n) }
                    }
                }
            }
            XCTAssertEqual(out, zip(y, g).map { $0 > 0 ? $1 : 0 }, "n \(n)")
        }
    }

    /// The sums depend on the values and the count only: the same call gives the same bits.
    func testSumsAreDeterministic() {
        let x = values(1000, seed: 3)
        x.withUnsafeBufferPointer { p in
            XCTAssertEqual(VectorSum.sum(p.baseAddress!, 1000).bitPattern, VectorSum.sum(p.baseAddress!, 1000).bitPattern)
        }
    }
}
