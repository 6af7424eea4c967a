import XCTest
@testable import NSDETensor
import NSDETestSupport

/// Winograd F(2x2, 3x3) on nChw16c (``BlockedWinogradConvolution``, the ``ConvolutionBackend/blockedWinograd``
/// backend) against the im2col reference: forward with and without bias, backward-data,
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
        (1, 16, 16, 5, 13, 1),
        (1, 32, 32, 4, 30, 1),
        (1, 16, 32, 3, 3, 0),
        (1, 16, 16, 17, 37, 1),
        (1, 48, 16, 5, 20, 0),
        (2, 16, 16, 26, 26, 1),
    ]

    /// Forward with and without bias, then every gradient, on `backend`.
    private func run(_ c: (Int, Int, Int, Int, Int, Int), seed: UInt64, backend: ConvolutionBackend) -> [Tensor] {
        let (n, cin, cout, h, w, p) = c
        let x = random([n, cin, h, w], seed: seed), wt = random([cout, cin, 3, 3], seed: seed + 1)
        let b = random([cout], seed: seed + 2)
        let y = Convolution.forward(x, weight: wt, bias: b, padding: p, backend: backend)
        let dy = random(y.shape, seed: seed + 3)
        let r = Convolution.backward(dy, input: x, weight: wt, padding: p, needBias: true, backend: backend)
        let y0 = Convolution.forward(x, weight: wt, padding: p, backend: backend)
        return [y, y0, r.input!, r.weight!, r.bias!]
    }

    func testMatchesIm2ColWithTheSameBitsAtOneAndTwoThreads() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let names = ["forward+bias", "forward", "backwardData", "backwardWeights", "backwardBias"]
        for (i, c) in cases.enumerated() {
            let seed = UInt64(10 * i + 3)
            Parallel.threadCount = 1
            let one = run(c, seed: seed, backend: .blockedWinograd)
            Parallel.threadCount = 2
            let two = run(c, seed: seed, backend: .blockedWinograd)
            let ref = run(c, seed: seed, backend: .im2col)
            for k in 0..<names.count {
                assertClose(two[k], ref[k], "\(names[k]) \(c)")
                XCTAssertTrue(one[k].scalars.map(\.bitPattern) == two[k].scalars.map(\.bitPattern),
                              "\(names[k]) \(c): 1 and 2 threads differ")
            }
        }
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
        let narrow = g(), wide = g(c: 64, o: 64)
        XCTAssertEqual(Convolution.blockedWinogradApplies(narrow), OneDNN.hasAVX512Kernels)
        XCTAssertFalse(Convolution.blockedWinogradApplies(wide), "64 channels keep oneDNN's Winograd or direct kernels")
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
