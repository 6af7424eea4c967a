import Dispatch
import Foundation
import XCTest
@testable import NSDETensor
import NSDETestSupport

/// Winograd F(4x4, 3x3) convolution against the im2col reference: forward (with and without
/// bias), backward-data and backward-weights (with the bias gradient), padding 1 and 0, ragged
/// and exact tilings, 1 and 2 threads.
final class WinogradTests: XCTestCase {
    /// (N, C, O, H, W, padding).
    private let cases: [(Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 1, 1),
        (1, 1, 1, 3, 3, 0),
        (2, 3, 4, 4, 4, 1),
        (1, 5, 7, 8, 8, 1),
        (3, 2, 3, 5, 7, 1),
        (2, 17, 9, 13, 11, 1),
        (1, 9, 17, 12, 13, 0),
        (2, 8, 8, 6, 10, 0),
        (3, 16, 16, 9, 9, 1),
        (1, 4, 6, 1, 13, 1),
        (2, 11, 5, 13, 2, 1),
        (1, 6, 3, 4, 4, 0),
        (2, 7, 12, 8, 8, 0),
        (1, 3, 2, 3, 11, 0),
        (2, 65, 64, 7, 6, 1),
        (2, 3, 8, 5, 6, 0),
        (1, 13, 16, 10, 9, 1),
    ]

    private func check(_ c: (Int, Int, Int, Int, Int, Int), seed: UInt64, file: StaticString = #filePath,
                       line: UInt = #line) {
        let (n, cin, cout, h, w, p) = c
        let g = Conv2DGeometry(batch: n, inChannels: cin, height: h, width: w, outChannels: cout,
                               kernelHeight: 3, kernelWidth: 3, stride: 1, padding: p)
        XCTAssertTrue(WinogradConvolution.supports(g))
        let x = random(g.inputShape, seed: seed)
        let wt = random(g.weightShape, seed: seed + 1)
        let b = random([cout], seed: seed + 2)
        let dy = random(g.outputShape, seed: seed + 3)
        let tag = "\(g)"

        let y = WinogradConvolution.forward(x, weight: wt, padding: p)
        let yRef = Convolution.forward(x, weight: wt, padding: p, backend: .im2col)
        assertClose(y, yRef, "forward \(tag)", file: file, line: line)

        let yb = WinogradConvolution.forward(x, weight: wt, bias: b, padding: p)
        let ybRef = Convolution.forward(x, weight: wt, bias: b, padding: p, backend: .im2col)
        assertClose(yb, ybRef, "forward+bias \(tag)", file: file, line: line)

        let dx = WinogradConvolution.backwardData(dy, weight: wt, padding: p)
        let dxRef = Convolution.backwardData(dy, weight: wt, inputShape: g.inputShape, padding: p, backend: .im2col)
        assertClose(dx, dxRef, "backwardData \(tag)", file: file, line: line)

        let (dw, db) = WinogradConvolution.backwardWeights(dy, input: x, withBias: true, padding: p)
        let (dwRef, dbRef) = Convolution.backwardWeights(dy, input: x, weightShape: g.weightShape, withBias: true,
                                                         padding: p, backend: .im2col)
        assertClose(dw, dwRef, "backwardWeights \(tag)", file: file, line: line)
        assertClose(db!, dbRef!, "backwardBias \(tag)", file: file, line: line)

        let (dw2, db2) = WinogradConvolution.backwardWeights(dy, input: x, padding: p)
        XCTAssertNil(db2)
        XCTAssertEqual(dw2.scalars, dw.scalars, "backwardWeights without bias \(tag)", file: file, line: line)
    }

    func testMatchesIm2ColOneThread() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        for (i, c) in cases.enumerated() { check(c, seed: UInt64(10 * i + 1)) }
    }

    func testMatchesIm2ColTwoThreads() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 2
        for (i, c) in cases.enumerated() { check(c, seed: UInt64(10 * i + 5)) }
    }

    /// Several blocks per thread, a partial last block and tile rows wider than one vector of 8
    /// tiles (W = 37: 10 tiles per row).
    func testManyBlocks() {
        let saved = (Parallel.threadCount, WinogradConvolution.blockTiles, WinogradConvolution.weightBlockTiles)
        defer {
            Parallel.threadCount = saved.0
            WinogradConvolution.blockTiles = saved.1
            WinogradConvolution.weightBlockTiles = saved.2
        }
        WinogradConvolution.blockTiles = 16
        WinogradConvolution.weightBlockTiles = 16
        for threads in [1, 2] {
            Parallel.threadCount = threads
            check((5, 6, 5, 11, 37, 1), seed: UInt64(100 + threads))
            check((3, 4, 7, 18, 19, 0), seed: UInt64(200 + threads))
        }
    }

    /// The geometries of the Neural SDE model, at a small batch: 64 and 65 input channels at
    /// 30x30, and 26x26 (7 tiles per row).
    func testModelShapes() {
        check((2, 65, 64, 30, 30, 1), seed: 300)
        check((2, 64, 64, 26, 26, 1), seed: 301)
    }

    /// Calls from several threads at once (each running its own parallel blocks) give the
    /// results of sequential calls.
    func testConcurrentCalls() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 2
        let x = random([3, 16, 9, 11], seed: 400), w = random([8, 16, 3, 3], seed: 401)
        let dy = random([3, 8, 9, 11], seed: 402)
        let y = WinogradConvolution.forward(x, weight: w)
        let dx = WinogradConvolution.backwardData(dy, weight: w)
        let dw = WinogradConvolution.backwardWeights(dy, input: x).weight
        let lock = NSLock()
        var worst = 0.0
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            for _ in 0..<3 {
                let e = max(relativeError(WinogradConvolution.forward(x, weight: w), y),
                            relativeError(WinogradConvolution.backwardData(dy, weight: w), dx),
                            relativeError(WinogradConvolution.backwardWeights(dy, input: x).weight, dw))
                lock.lock(); worst = max(worst, e); lock.unlock()
            }
        }
        XCTAssertLessThan(worst, 1e-6, "concurrent calls differ from sequential ones by \(worst)")
    }

    /// Padding 1 keeps the spatial size, padding 0 shrinks it by 2; other geometries are not
    /// supported.
    func testSupportsAndShapes() {
        let x = random([1, 2, 6, 5], seed: 7), w = random([3, 2, 3, 3], seed: 8)
        XCTAssertEqual(WinogradConvolution.forward(x, weight: w).shape, [1, 3, 6, 5])
        XCTAssertEqual(WinogradConvolution.forward(x, weight: w, padding: 0).shape, [1, 3, 4, 3])
        XCTAssertEqual(WinogradConvolution.backwardData(random([1, 3, 4, 3], seed: 9), weight: w, padding: 0).shape,
                       [1, 2, 6, 5])
        func g(_ k: Int, _ s: Int, _ p: Int) -> Conv2DGeometry {
            Conv2DGeometry(batch: 1, inChannels: 1, height: 8, width: 8, outChannels: 1, kernelHeight: k,
                           kernelWidth: k, stride: s, padding: p)
        }
        XCTAssertTrue(WinogradConvolution.supports(g(3, 1, 1)))
        XCTAssertTrue(WinogradConvolution.supports(g(3, 1, 0)))
        XCTAssertFalse(WinogradConvolution.supports(g(3, 2, 1)))
        XCTAssertFalse(WinogradConvolution.supports(g(3, 1, 2)))
        XCTAssertFalse(WinogradConvolution.supports(g(1, 1, 0)))
        XCTAssertFalse(WinogradConvolution.supports(g(5, 1, 2)))
    }
}
