import XCTest
import NSDETestSupport
@testable import NSDETensor

/// The nChw16c conversions (``BlockedLayout``) against the layout's index formula, with and
/// without the broadcast addition and the batch sums, on one thread and split over threads.
final class BlockedLayoutTests: XCTestCase {
    /// (N, C, H·W): one block, two blocks, fewer than 16 pixels, a scalar tail, and more pixels
    /// than one summing run (256).
    let shapes: [(Int, Int, Int)] = [(2, 16, 35), (3, 32, 16), (1, 16, 9), (5, 48, 300)]

    func blockedIndex(_ n: Int, _ c: Int, _ s: Int, channels: Int, pixels: Int) -> Int {
        ((n * channels / 16 + c / 16) * pixels + s) * 16 + c % 16
    }

    func testConversionsFollowTheLayout() {
        for threads in [1, 2] {
            for (i, (n, c, hw)) in shapes.enumerated() {
                let shape = BlockedLayout.Shape(batch: n, channels: c, pixels: hw)
                let x = TestData.uniform([n, c, hw], seed: UInt64(40 + i)).scalars
                let addend = TestData.uniform([c, hw], seed: UInt64(50 + i)).scalars
                var blocked = [Float](repeating: .nan, count: x.count)
                var plain = [Float](repeating: .nan, count: x.count)
                var added = [Float](repeating: .nan, count: x.count)
                var summed = [Float](repeating: .nan, count: x.count)
                var sums = [Float](repeating: .nan, count: c * hw)
                Parallel.withThreadLimit(threads) {
                    x.withUnsafeBufferPointer { src in
                        blocked.withUnsafeMutableBufferPointer { BlockedLayout.block(src.baseAddress!, $0.baseAddress!, shape) }
                        summed.withUnsafeMutableBufferPointer { dst in
                            sums.withUnsafeMutableBufferPointer {
                                BlockedLayout.block(src.baseAddress!, dst.baseAddress!, shape, sums: $0.baseAddress!)
                            }
                        }
                    }
                    blocked.withUnsafeBufferPointer { src in
                        plain.withUnsafeMutableBufferPointer { BlockedLayout.unblock(src.baseAddress!, $0.baseAddress!, shape) }
                        added.withUnsafeMutableBufferPointer { dst in
                            addend.withUnsafeBufferPointer {
                                BlockedLayout.unblock(src.baseAddress!, dst.baseAddress!, shape, adding: $0.baseAddress!)
                            }
                        }
                    }
                }
                var expectedSums = [Double](repeating: 0, count: c * hw)
                for sample in 0..<n {
                    for ch in 0..<c {
                        for s in 0..<hw {
                            let v = x[(sample * c + ch) * hw + s]
                            let b = blockedIndex(sample, ch, s, channels: c, pixels: hw)
                            XCTAssertEqual(blocked[b].bitPattern, v.bitPattern, "block, shape \(i), \(threads) threads")
                            XCTAssertEqual(summed[b].bitPattern, v.bitPattern, "block with sums, shape \(i)")
                            expectedSums[ch * hw + s] += Double(v)
                        }
                    }
                }
                XCTAssertEqual(plain.map(\.bitPattern), x.map(\.bitPattern), "round trip, shape \(i), \(threads) threads")
                let expectedAdded = x.indices.map { x[$0] + addend[$0 % (c * hw)] }
                XCTAssertEqual(added.map(\.bitPattern), expectedAdded.map(\.bitPattern), "addition, shape \(i)")
                XCTAssertEqual(sums.map(\.bitPattern), expectedSums.map { Float($0).bitPattern }, "sums, shape \(i)")
                // The sums are those of Reduction.reduce over the batch axis, bit for bit.
                let reduced = Reduction.reduce(Tensor(shape: [n, c, hw], scalars: x), axis: 0, .sum)
                XCTAssertEqual(sums.map(\.bitPattern), reduced.scalars.map(\.bitPattern), "sums against Reduction, shape \(i)")
            }
        }
    }
}
