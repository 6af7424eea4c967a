@testable import NSDETensor
import NSDETestSupport
import XCTest

/// The register-tiled GEMM (`RegisterTiledGEMM`, `nsde_small_sgemm`): every epilogue equals the
/// unfused composition of the library's kernels bit for bit, the values do not depend on the
/// thread count, the automatic rule's products are oneDNN's bits on AVX-512 processors, and the
/// fused linear layer (bias, tanh, an Euler–Maruyama update) equals the unfused one. (Accuracy
/// against a naive product, every transpose and fallback: `GEMMBackendTests`.)
final class RegisterTiledGEMMTests: XCTestCase {
    private var savedThreads = 1

    override func setUp() { savedThreads = Parallel.threadCount }
    override func tearDown() {
        Parallel.threadCount = savedThreads
        GEMM.defaultBackend = .automatic
    }

    /// `op(A) · B` shapes: partial row tiles (m mod 4 ≠ 0), every column-panel width (16 to 64 and
    /// a 64-wide panel before a narrower one), k from 1 to past one tile.
    private let shapes: [(m: Int, n: Int, k: Int)] = [(1, 16, 1), (2, 32, 7), (7, 48, 13), (9, 64, 64), (13, 112, 29),
                                                      (128, 128, 64), (130, 64, 128), (64, 176, 200)]

    /// C = epilogue(op(A) · B) through `RegisterTiledGEMM.multiply` into a copy of `c`.
    private func product(transA: Bool, _ s: (m: Int, n: Int, k: Int), _ a: Tensor, _ b: Tensor, into c: Tensor,
                         _ epilogue: RegisterTiledGEMM.Epilogue = .init()) -> Tensor {
        let out = c.copy()
        RegisterTiledGEMM.multiply(transA: transA, m: s.m, n: s.n, k: s.k, a: a.storage.pointer, lda: transA ? s.m : s.k,
                                   b: b.storage.pointer, ldb: s.n, c: out.storage.pointer, ldc: s.n, epilogue: epilogue)
        return out
    }

    /// Each epilogue step is the library's separate kernel for it: the same bits.
    func testEpiloguesEqualTheUnfusedKernels() {
        var seed: UInt64 = 10
        for s in shapes {
            for transA in [false, true] {
                seed += 10
                let a = TestData.uniform(transA ? [s.k, s.m] : [s.m, s.k], seed: seed)
                let b = TestData.uniform([s.k, s.n], seed: seed + 1)
                let c = TestData.uniform([s.m, s.n], seed: seed + 2)
                let bias = TestData.uniform([s.n], seed: seed + 3)
                let y = TestData.uniform([s.m, s.n], seed: seed + 4).tanh()
                let state = TestData.uniform([s.m, s.n], seed: seed + 5), noise = TestData.uniform([s.m, s.n], seed: seed + 6)
                let what = "\(s) \(transA ? "T" : "N")"
                let plain = product(transA: transA, s, a, b, into: c)

                let biased = plain.copy()
                Elementwise.biasAddInPlace(biased, bias: bias)
                XCTAssertEqual(product(transA: transA, s, a, b, into: c, .init(bias: bias.storage.pointer)).scalars, biased.scalars,
                               "\(what): bias")
                let tanh = plain.copy()
                Elementwise.biasTanhInPlace(tanh, bias: bias)
                XCTAssertEqual(product(transA: transA, s, a, b, into: c, .init(bias: bias.storage.pointer, tanh: true)).scalars,
                               tanh.scalars, "\(what): bias and tanh")
                XCTAssertEqual(product(transA: transA, s, a, b, into: c, .init(tanhOutput: y.storage.pointer, ld: s.n)).scalars,
                               Elementwise.tanhBackward(plain, y: y).scalars, "\(what): gradient through tanh")
                for (name, update) in [("dropout update", ElementwiseUpdate.addingProductAffine(state: state, noise: noise, scale: 0.3, shift: 0.01)),
                                       ("additive update", .addingScaled(state: state, alpha: 0.01, noise: noise, beta: 0.3))] {
                    XCTAssertEqual(product(transA: transA, s, a, b, into: c,
                                           .init(bias: bias.storage.pointer, update: update.epilogueUpdate, ld: s.n)).scalars,
                                   update.apply(to: biased).scalars, "\(what): bias and \(name)")
                }
                XCTAssertEqual(product(transA: transA, s, a, b, into: c, .init(accumulate: true)).scalars, (c + plain).scalars,
                               "\(what): accumulation")
            }
        }
    }

    /// Split between 1, 2 or 3 threads (blocks of rows, or of columns when n > m): the same bits.
    func testSameBitsAtEveryThreadCount() {
        for s in [(m: 300, n: 128, k: 64), (m: 40, n: 400, k: 96)] {
            let a = TestData.uniform([s.m, s.k], seed: 1), b = TestData.uniform([s.k, s.n], seed: 2)
            let c = Tensor(repeating: 0, shape: [s.m, s.n]), bias = TestData.uniform([s.n], seed: 3)
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                Parallel.threadCount = threads
                results.append(product(transA: false, s, a, b, into: c, .init(bias: bias.storage.pointer, tanh: true)).scalars)
            }
            XCTAssertEqual(results[0], results[1], "\(s): 1 and 2 threads")
            XCTAssertEqual(results[0], results[2], "\(s): 1 and 3 threads")
        }
    }

    /// Where the automatic rule chooses the kernel (AVX-512 processors), oneDNN's AVX-512 sgemm sums
    /// in the same order: moving a product between the two backends changes no result.
    func testAutomaticChoicesAreOneDNNsBits() throws {
        try XCTSkipUnless(RegisterTiledGEMM.isFast, "the automatic rule takes the kernel on AVX-512 processors only")
        let cases: [(m: Int, n: Int, k: Int)] = [(2, 16, 1), (7, 48, 13), (128, 128, 64), (128, 64, 128), (64, 128, 128),
                                                 (256, 64, 128), (33, 512, 384), (130, 80, 200)]
        for s in cases {
            for transA in [false, true] {
                for beta: Float in [0, 1] {
                    XCTAssertEqual(GEMM.automaticBackend(m: s.m, n: s.n, k: s.k), .registerTiled, "\(s)")
                    let a = TestData.uniform(transA ? [s.k, s.m] : [s.m, s.k], seed: 5), b = TestData.uniform([s.k, s.n], seed: 6)
                    let c = TestData.uniform([s.m, s.n], seed: 7)
                    var results: [[Float]] = []
                    for backend in [GEMMBackend.oneDNN, .registerTiled] {
                        let out = c.copy()
                        GEMM.sgemm(transA: transA, transB: false, m: s.m, n: s.n, k: s.k, a: a.storage.pointer,
                                   lda: transA ? s.m : s.k, b: b.storage.pointer, ldb: s.n, beta: beta, c: out.storage.pointer,
                                   ldc: s.n, backend: backend)
                        results.append(out.scalars)
                    }
                    XCTAssertEqual(results[0], results[1], "\(s) \(transA ? "T" : "N") beta \(beta): oneDNN and register-tiled")
                }
            }
        }
    }

    /// `linearValue` with an update (fused into the product where the kernel runs it, with the
    /// transposed weight) equals the layer's value followed by the update's pass, with and without
    /// tanh; without the transposed weight (no fusion) too.
    func testFusedLinearUpdateEqualsTheSeparatePass() {
        let x = TestData.uniform([12, 32], seed: 1), w = TestData.uniform([48, 32], seed: 2), bias = TestData.uniform([48], seed: 3)
        let state = TestData.uniform([12, 48], seed: 4), noise = TestData.uniform([12, 48], seed: 5)
        let transposed = w.transposed().copy()
        for (name, update) in [("dropout", ElementwiseUpdate.addingProductAffine(state: state, noise: noise, scale: 0.2, shift: 0.05)),
                               ("additive", .addingScaled(state: state, alpha: 0.05, noise: noise, beta: 0.2))] {
            for tanh in [false, true] {
                for t in [transposed, nil] {
                    let fused = x.linearValue(weight: w, bias: bias, transposedWeight: t, thenTanh: tanh, then: update)
                    let separate = update.apply(to: x.linearValue(weight: w, bias: bias, transposedWeight: t, thenTanh: tanh))
                    XCTAssertEqual(fused.scalars, separate.scalars, "\(name), tanh \(tanh), transposed weight \(t != nil)")
                }
            }
        }
    }
}
