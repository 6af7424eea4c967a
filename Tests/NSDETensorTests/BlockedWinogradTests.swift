import XCTest
@testable import NSDETensor
import NSDETestSupport

/// Winograd F(2x2, 3x3) and F(4x4, 3x3) on nChw16c (``BlockedWinogradConvolution``, the
/// ``ConvolutionBackend/blockedWinograd`` backend) against the im2col reference: forward with and without bias, backward-data,
/// backward-weights with the bias gradient; padding 1 and 0; odd sizes (partial output tiles),
/// rows of more than one group of 8 tiles, batches of more than one weight-gradient block; the
/// same bits at 1 and 2 threads.
final class BlockedWinogradTests: XCTestCase {
    /// (N, C, O, H, W, padding): output rows of 1 to 19 tiles (every remainder of the groups of 8).
    private let cases: [(Int, Int, Int, Int, Int, Int)] = [
        (1, 16, 16, 1, 1, 1),
        (2, 16, 16, 4, 4, 1),
        (3, 32, 16, 9, 7, 1),
        (2, 16, 48, 11, 10, 0),
        (9, 16, 16, 6, 12, 1),
        (17, 16, 32, 3, 4, 1),
        (1, 16, 16, 5, 13, 1),
        (1, 32, 32, 4, 30, 1),
        (1, 16, 32, 3, 3, 0),
        (1, 16, 16, 17, 37, 1),
        (1, 48, 16, 5, 20, 0),
        (2, 16, 16, 26, 26, 1),
    ]

    private func inputs(_ c: (Int, Int, Int, Int, Int, Int), seed: UInt64) -> (Conv2DGeometry, Tensor, Tensor, Tensor, Tensor) {
        let (n, cin, cout, h, w, p) = c
        let g = Conv2DGeometry(batch: n, inChannels: cin, height: h, width: w, outChannels: cout, kernelHeight: 3,
                               kernelWidth: 3, stride: 1, padding: p)
        return (g, random(g.inputShape, seed: seed), random(g.weightShape, seed: seed + 1), random([cout], seed: seed + 2),
                random(g.outputShape, seed: seed + 3))
    }

    /// Forward with and without bias, then every gradient, on `backend` (NCHW tensors).
    private func run(_ c: (Int, Int, Int, Int, Int, Int), seed: UInt64, backend: ConvolutionBackend) -> [Tensor] {
        let (g, x, wt, b, dy) = inputs(c, seed: seed)
        let y = Convolution.forward(x, weight: wt, bias: b, padding: g.padding, backend: backend)
        let r = Convolution.backward(dy, input: x, weight: wt, padding: g.padding, needBias: true, backend: backend)
        let y0 = Convolution.forward(x, weight: wt, padding: g.padding, backend: backend)
        return [y, y0, r.input!, r.weight!, r.bias!]
    }

    /// The same through the kernels' own (blocked) interface with the tile named.
    private func run(_ c: (Int, Int, Int, Int, Int, Int), seed: UInt64, tile: BlockedWinogradConvolution.Tile) -> [Tensor] {
        let (g, x, wt, b, dy) = inputs(c, seed: seed)
        let xb = BlockedLayout.blocked(x), dyb = BlockedLayout.blocked(dy)
        let y = Tensor(uninitializedShape: BlockedLayout.blockedShape(g.outputShape))
        let y0 = Tensor(uninitializedShape: y.shape), dx = Tensor(uninitializedShape: xb.shape)
        let dw = Tensor(uninitializedShape: g.weightShape), db = Tensor(uninitializedShape: [g.outChannels])
        BlockedWinogradConvolution.forward(g, input: xb.storage.pointer, weight: wt.storage.pointer, bias: b.storage.pointer,
                                           output: y.storage.pointer, tile: tile)
        BlockedWinogradConvolution.forward(g, input: xb.storage.pointer, weight: wt.storage.pointer, bias: nil,
                                           output: y0.storage.pointer, tile: tile)
        BlockedWinogradConvolution.backwardData(g, gradOutput: dyb.storage.pointer, weight: wt.storage.pointer,
                                                gradInput: dx.storage.pointer, tile: tile)
        BlockedWinogradConvolution.backwardWeights(g, gradOutput: dyb.storage.pointer, input: xb.storage.pointer,
                                                   gradWeight: dw.storage.pointer, gradBias: db.storage.pointer, tile: tile)
        return [BlockedLayout.unblocked(y), BlockedLayout.unblocked(y0), BlockedLayout.unblocked(dx), dw, db]
    }

    private let names = ["forward+bias", "forward", "backwardData", "backwardWeights", "backwardBias"]

    private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    func testBothTilesMatchIm2ColWithTheSameBitsAtOneAndTwoThreads() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for tile in [BlockedWinogradConvolution.Tile.f2x2, .f4x4] {
            for (i, c) in cases.enumerated() {
                let seed = UInt64(10 * i + 3)
                Parallel.threadCount = 1
                let one = run(c, seed: seed, tile: tile)
                Parallel.threadCount = 2
                let two = run(c, seed: seed, tile: tile)
                let ref = run(c, seed: seed, backend: .im2col)
                for k in 0..<names.count {
                    assertClose(two[k], ref[k], "\(tile) \(names[k]) \(c)", bound: tile == .f2x2 ? 1e-5 : 3e-5)
                    XCTAssertTrue(bits(one[k]) == bits(two[k]), "\(tile) \(names[k]) \(c): 1 and 2 threads differ")
                }
            }
        }
    }

    /// The backend converts NCHW tensors around the kernels with the tile ``BlockedWinogradConvolution/tile(for:)``
    /// picks: the same bits.
    func testBackendIsTheKernelsWithTheirTile() {
        for (i, c) in cases.enumerated() {
            let seed = UInt64(10 * i + 7)
            let g = inputs(c, seed: seed).0
            let backend = run(c, seed: seed, backend: .blockedWinograd)
            let kernels = run(c, seed: seed, tile: BlockedWinogradConvolution.tile(for: g))
            for k in 0..<names.count {
                XCTAssertTrue(bits(backend[k]) == bits(kernels[k]), "\(names[k]) \(c): backend and kernels differ")
            }
        }
        XCTAssertEqual(BlockedWinogradConvolution.tile(for: inputs(cases[0], seed: 1).0), .f2x2)
        XCTAssertEqual(BlockedWinogradConvolution.tile(for: inputs(cases[2], seed: 1).0), .f4x4)
    }

    /// The kernels' scope, and the automatic backend's use of them: the narrow 3x3 convolutions
    /// where oneDNN runs AVX-512 kernels (the fused normalised convolution then hands them its
    /// blocked activations), oneDNN's kernels otherwise.
    func testSupportsAndAutomaticChoice() {
        func g(c: Int = 16, o: Int = 16, k: Int = 3, s: Int = 1, p: Int = 1) -> Conv2DGeometry {
            Conv2DGeometry(batch: 2, inChannels: c, height: 8, width: 8, outChannels: o, kernelHeight: k, kernelWidth: k,
                           stride: s, padding: p)
        }
        XCTAssertTrue(BlockedWinogradConvolution.supports(g()))
        XCTAssertTrue(BlockedWinogradConvolution.supports(g(c: 32, o: 48, p: 0)))
        XCTAssertFalse(BlockedWinogradConvolution.supports(g(c: 8)))
        XCTAssertFalse(BlockedWinogradConvolution.supports(g(o: 24)))
        XCTAssertFalse(BlockedWinogradConvolution.supports(g(s: 2)))
        XCTAssertFalse(BlockedWinogradConvolution.supports(g(p: 2)))
        XCTAssertFalse(BlockedWinogradConvolution.supports(g(k: 1, p: 0)))
        let narrow = g(), wide = g(c: 128, o: 64)
        XCTAssertEqual(Convolution.blockedWinogradApplies(narrow), OneDNN.hasAVX512Kernels)
        XCTAssertEqual(Convolution.blockedWinogradApplies(g(c: 64, o: 64)), OneDNN.hasAVX512Kernels)
        XCTAssertFalse(Convolution.blockedWinogradApplies(wide), "128 channels keep oneDNN's kernels")
        XCTAssertFalse(Convolution.blockedWinogradApplies(g(c: 64, o: 128)))
        if OneDNN.hasAVX512Kernels {
            XCTAssertEqual(Convolution.resolve(nil, narrow), .blockedWinograd)
            XCTAssertEqual(Convolution.blockedAlgorithm(narrow), .winograd)
            XCTAssertNil(Convolution.blockedOutputAlgorithm(narrow), "the stem's blocked output is oneDNN's only")
            XCTAssertTrue(Tensor.supportsBlockedGroupNormReLUConv2d(inputShape: narrow.inputShape, groups: 8,
                                                                    weightShape: narrow.weightShape, padding: 1))
        } else {
            XCTAssertNotEqual(Convolution.resolve(nil, narrow), .blockedWinograd)
        }
        XCTAssertEqual(Convolution.resolve(.oneDNN, narrow), .oneDNN, "a requested backend is kept")
    }

    /// The fused normalised convolution with blocked input and output against GroupNorm–ReLU and
    /// the im2col convolution written out: values and every gradient, to rounding.
    func testFusedNormalizedConvolutionMatchesTheReference() throws {
        let shape = [3, 16, 7, 9], weightShape = [32, 16, 3, 3]
        guard Tensor.supportsBlockedGroupNormReLUConv2d(inputShape: shape, groups: 4, weightShape: weightShape, padding: 1),
              Convolution.blockedAlgorithm(Conv2DGeometry(inputShape: shape, weightShape: weightShape, stride: 1,
                                                          padding: 1)) == .winograd
        else { throw XCTSkip("no AVX-512 oneDNN kernels: the blocked Winograd path is not the automatic choice here") }
        let x = random(shape, seed: 1), gamma = random([16], seed: 2) + 1, beta = random([16], seed: 3)
        let w = random(weightShape, seed: 4), b = random([32], seed: 5), dy = random([3, 32, 7, 9], seed: 6)
        func grads(_ f: (Tensor, Tensor, Tensor, Tensor, Tensor) -> Tensor) -> [Tensor] {
            let ps = [x, gamma, beta, w, b].map { t -> Tensor in
                var p = t.detached()
                p.requiresGrad = true
                return p
            }
            let y = f(ps[0], ps[1], ps[2], ps[3], ps[4])
            let loss = (y * dy).sum()
            loss.backward()
            return [y.detached()] + ps.map { $0.grad! }
        }
        let fused = grads { x, g, be, w, b in
            x.blockedNChw16c().groupNormReLUConv2d(blockedInputShape: shape, groups: 4, gamma: g, beta: be, eps: 1e-5,
                                                   weight: w, bias: b, padding: 1, blockedOutput: true).unblockedNChw16c()
        }
        let saved = Convolution.backend
        defer { Convolution.backend = saved }
        Convolution.backend = .im2col
        let reference = grads { x, g, be, w, b in
            x.groupNormReLU(groups: 4, gamma: g, beta: be, eps: 1e-5).conv2d(weight: w, bias: b, padding: 1)
        }
        for (k, name) in ["output", "x", "gamma", "beta", "weight", "bias"].enumerated() {
            assertClose(fused[k], reference[k], name, bound: 2e-5)
        }
    }
}
