@testable import NSDETensor
import NSDETestSupport
import XCTest

/// GEMM on each backend (OpenBLAS, oneDNN single-threaded and split across threads) against a
/// naive triple loop, for every transpose variant, odd shapes, padded leading dimensions, alpha,
/// beta and the fused row bias; and the fused `linear` op against matmul + add.
final class GEMMBackendTests: XCTestCase {
    private var savedThreads = 1

    override func setUp() {
        savedThreads = Parallel.threadCount
    }

    override func tearDown() {
        Parallel.threadCount = savedThreads
        GEMM.defaultBackend = .automatic
    }

    /// Deterministic values in [-1, 1).
    private func values(_ count: Int, seed: UInt64) -> [Float] {
        var g = PhiloxGenerator(seed: seed, stream: 3)
        return (0..<count).map { _ in 2 * g.nextUniform() - 1 }
    }

    /// `alpha op(A) op(B) + beta C (+ bias)` in Double.
    private func naive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                       b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int, bias: [Float]?) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc += Double(x) * Double(y)
                }
                let prior = bias.map { Double($0[j]) } ?? (beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j]))
                out[i * ldc + j] = Float(Double(alpha) * acc + prior)
            }
        }
        return out
    }

    private let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 9, 4), (7, 5, 3), (3, 1, 11), (33, 17, 29), (65, 130, 47), (130, 65, 47),
        (300, 70, 90), (70, 300, 90), (17, 19, 0), (256, 128, 64), (16, 9, 4001),
        (2, 16, 1), (7, 48, 13), (130, 80, 47), (33, 176, 200),   // multiples of 16 columns (register-tiled)
    ]

    private func check(backend: GEMMBackend, threads: Int, file: StaticString = #filePath, line: UInt = #line) {
        Parallel.threadCount = threads
        var seed: UInt64 = 1
        for s in shapes {
            for variant in 0..<4 {
                let transA = variant & 2 != 0, transB = variant & 1 != 0
                for mode in 0..<3 { // 0: beta 0, 1: alpha/beta, 2: row bias
                    seed += 1
                    // Leading dimensions padded by a few elements beyond the stored width.
                    let lda = (transA ? s.m : s.k) + 3, ldb = (transB ? s.k : s.n) + 2, ldc = s.n + 5
                    let a = values((transA ? s.k : s.m) * lda, seed: seed)
                    let b = values((transB ? s.n : s.k) * ldb, seed: seed + 1000)
                    let c0 = values(s.m * ldc, seed: seed + 2000)
                    let bias = mode == 2 ? values(s.n, seed: seed + 3000) : nil
                    let alpha: Float = mode == 1 ? 0.5 : 1, beta: Float = mode == 1 ? 0.75 : 0
                    let expected = naive(transA: transA, transB: transB, m: s.m, n: s.n, k: s.k, alpha: alpha, a: a, lda: lda,
                                         b: b, ldb: ldb, beta: beta, c: c0, ldc: ldc, bias: bias)
                    var c = c0
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                (bias ?? []).withUnsafeBufferPointer { pbias in
                                    GEMM.sgemm(transA: transA, transB: transB, m: s.m, n: s.n, k: s.k, alpha: alpha,
                                               a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                                               c: pc.baseAddress!, ldc: ldc, rowBias: bias == nil ? nil : pbias.baseAddress!,
                                               backend: backend)
                                }
                            }
                        }
                    }
                    var worst: Float = 0
                    for i in 0..<c.count { worst = max(worst, abs(c[i] - expected[i])) }
                    // Padding columns of C must be untouched.
                    var padding = true
                    for i in 0..<s.m { for j in s.n..<ldc where c[i * ldc + j] != c0[i * ldc + j] { padding = false } }
                    let tolerance = 1e-5 * Float(max(s.k, 1)) + 1e-6
                    XCTAssertLessThanOrEqual(worst, tolerance,
                                             "\(backend) \(threads)t \(s) \(transA ? "T" : "N")\(transB ? "T" : "N") mode \(mode)",
                                             file: file, line: line)
                    XCTAssertTrue(padding, "\(backend) wrote outside C: \(s) variant \(variant) mode \(mode)", file: file, line: line)
                }
            }
        }
    }

    func testOpenBLASAgainstNaive() {
        check(backend: .openBLAS, threads: 1)
        check(backend: .openBLAS, threads: 2)
    }

    func testOneDNNAgainstNaive() {
        check(backend: .oneDNN, threads: 1)
        check(backend: .oneDNN, threads: 2)   // split into row or column blocks
        check(backend: .oneDNN, threads: 3)   // uneven split
    }

    func testAutomaticAgainstNaive() {
        check(backend: .automatic, threads: 2)
    }

    func testAutomaticRule() {
        // Small products with B untransposed and a multiple of 16 columns: the register-tiled
        // kernel on AVX-512 processors, oneDNN elsewhere.
        let small: GEMMBackend = RegisterTiledGEMM.isFast ? .registerTiled : .oneDNN
        XCTAssertEqual(GEMM.automaticBackend(m: 256, n: 128, k: 64), small)
        XCTAssertEqual(GEMM.automaticBackend(m: 64, n: 128, k: 256), small)
        XCTAssertEqual(GEMM.automaticBackend(m: 10, n: 64, k: 128), small)
        XCTAssertEqual(GEMM.automaticBackend(m: 128, n: 512, k: 128), small)      // the largest volume, 2^23
        XCTAssertEqual(GEMM.automaticBackend(m: 256, n: 128, k: 64, transB: true), .oneDNN)
        XCTAssertEqual(GEMM.automaticBackend(m: 256, n: 120, k: 64), .oneDNN)     // not a multiple of 16
        XCTAssertEqual(GEMM.automaticBackend(m: 64, n: 128, k: 385), .oneDNN)     // deeper than 384
        XCTAssertEqual(GEMM.automaticBackend(m: 1, n: 128, k: 64), .oneDNN)       // one row
        XCTAssertEqual(GEMM.automaticBackend(m: 512, n: 512, k: 64), .oneDNN)     // beyond 2^23
        XCTAssertEqual(GEMM.automaticBackend(m: 128, n: 10, k: 64), .openBLAS)   // narrow output
        XCTAssertEqual(GEMM.automaticBackend(m: 128, n: 1, k: 64), .oneDNN)      // matrix-vector
        GEMM.defaultBackend = .openBLAS
        XCTAssertEqual(GEMM.automaticBackend(m: 256, n: 128, k: 64), .openBLAS)
    }

    /// The register-tiled backend (and oneDNN, which runs what it does not take: B transposed,
    /// columns not a multiple of 16, alpha ≠ 1, beta ∉ {0, 1}) against the naive product.
    func testRegisterTiledAgainstNaive() {
        check(backend: .registerTiled, threads: 1)
        check(backend: .registerTiled, threads: 2)
        check(backend: .registerTiled, threads: 3)
    }

    /// `matmulKernel` (every transpose variant, batched and shared right operand) on both
    /// backends equals the naive product of the materialised transposes.
    func testMatmulKernelBothBackends() {
        func reference(_ a: Tensor, _ b: Tensor) -> [Float] {
            let m = a.shape[0], k = a.shape[1], n = b.shape[1]
            return naive(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.scalars, lda: k, b: b.scalars, ldb: n,
                         beta: 0, c: [Float](repeating: 0, count: m * n), ldc: n, bias: nil)
        }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for backend in [GEMMBackend.openBLAS, .oneDNN] {
                for (m, n, k) in [(5, 7, 3), (37, 129, 65), (257, 63, 127)] {
                    for variant in 0..<4 {
                        let transA = variant & 2 != 0, transB = variant & 1 != 0
                        let a = TestData.uniform(transA ? [k, m] : [m, k], seed: UInt64(m + variant))
                        let b = TestData.uniform(transB ? [n, k] : [k, n], seed: UInt64(n + 100 + variant))
                        let got = Tensor.matmulKernel(a, b, transA: transA, transB: transB, backend: backend)
                        let expected = reference(transA ? a.transposed() : a, transB ? b.transposed() : b)
                        XCTAssertEqual(got.shape, [m, n])
                        XCTAssertEqual(got.scalars, expected, accuracy: 1e-4, "\(backend) \(threads)t \(m)x\(n)x\(k) variant \(variant)")
                    }
                }
                // Batched and shared-right-operand products.
                let ba = TestData.uniform([3, 19, 11], seed: 5), bb = TestData.uniform([3, 11, 23], seed: 6)
                let shared = TestData.uniform([11, 23], seed: 7)
                let batched = Tensor.matmulKernel(ba, bb, transA: false, transB: false, backend: backend)
                let sharedOut = Tensor.matmulKernel(ba, shared, transA: false, transB: false, backend: backend)
                for i in 0..<3 {
                    let ai = ba.slice(axis: 0, i..<(i + 1)).reshaped([19, 11])
                    let bi = bb.slice(axis: 0, i..<(i + 1)).reshaped([11, 23])
                    XCTAssertEqual(batched.slice(axis: 0, i..<(i + 1)).scalars, reference(ai, bi), accuracy: 1e-4)
                    XCTAssertEqual(sharedOut.slice(axis: 0, i..<(i + 1)).scalars, reference(ai, shared), accuracy: 1e-4)
                }
            }
        }
    }

    /// The public matmul and its gradients with each backend forced globally.
    func testMatmulGradientsOnEachBackend() {
        for backend in [GEMMBackend.openBLAS, .oneDNN] {
            GEMM.defaultBackend = backend
            let a = TestData.uniform([3, 4], seed: 11), b = TestData.uniform([4, 5], seed: 12)
            assertGradientsMatchFiniteDifferences([a, b]) { weightedSum($0[0].matmul($0[1])) }
            let ba = TestData.uniform([2, 3, 4], seed: 13)
            assertGradientsMatchFiniteDifferences([ba, b]) { weightedSum($0[0].matmul($0[1])) }
        }
    }

    func testColumnSums() {
        for (rows, cols) in [(1, 1), (3, 7), (64, 5), (65, 33), (257, 64)] {
            let ld = cols + 2
            let x = values(rows * ld, seed: UInt64(rows * 7 + cols))
            var out = [Float](repeating: .nan, count: cols)
            x.withUnsafeBufferPointer { px in
                out.withUnsafeMutableBufferPointer { po in
                    GEMM.columnSums(px.baseAddress!, rows: rows, cols: cols, ld: ld, into: po.baseAddress!)
                }
            }
            let expected = (0..<cols).map { j in Float((0..<rows).reduce(0.0) { $0 + Double(x[$1 * ld + j]) }) }
            XCTAssertEqual(out, expected, accuracy: 1e-5 * Float(rows))
        }
    }

    /// `linear` equals `x · Wᵀ + b` computed by matmul, transposed and add, with and without bias,
    /// on each backend and thread count; its gradients and JVP match finite differences.
    func testLinearMatchesComposition() {
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for backend in [GEMMBackend.openBLAS, .oneDNN] {
                GEMM.defaultBackend = backend
                for (n, i, o) in [(5, 4, 3), (256, 64, 128), (257, 33, 65)] {
                    let x = TestData.uniform([n, i], seed: 21), w = TestData.uniform([o, i], seed: 22)
                    let b = TestData.uniform([o], seed: 23)
                    XCTAssertEqual(x.linear(weight: w, bias: b).scalars, (x.matmul(w.transposed()) + b).scalars,
                                   accuracy: 1e-4, "\(backend) \(threads)t \(n)x\(i)->\(o)")
                    XCTAssertEqual(x.linear(weight: w).scalars, x.matmul(w.transposed()).scalars, accuracy: 1e-4)
                    // Reverse mode against the composition on a larger shape.
                    let g1 = valueAndGradient(of: { weightedSum($0[0].linear(weight: $0[1], bias: $0[2])) }, at: [x, w, b]).gradients
                    let g2 = valueAndGradient(of: { weightedSum($0[0].matmul($0[1].transposed()) + $0[2]) }, at: [x, w, b]).gradients
                    for (p, q) in zip(g1, g2) { XCTAssertEqual(p.scalars, q.scalars, accuracy: 1e-3) }
                }
            }
        }
        GEMM.defaultBackend = .automatic
        let x = TestData.uniform([5, 4], seed: 31), w = TestData.uniform([3, 4], seed: 32), b = TestData.uniform([3], seed: 33)
        assertGradientsMatchFiniteDifferences([x, w, b]) { weightedSum($0[0].linear(weight: $0[1], bias: $0[2])) }
        assertGradientsMatchFiniteDifferences([x, w]) { weightedSum($0[0].linear(weight: $0[1])) }
        // Only some inputs need gradients / carry tangents.
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].linear(weight: w, bias: b)) }
        assertGradientsMatchFiniteDifferences([w]) { weightedSum(x.linear(weight: $0[0], bias: b)) }
        assertGradientsMatchFiniteDifferences([b]) { weightedSum(x.linear(weight: w, bias: $0[0])) }
        assertGradientsMatchFiniteDifferences([x]) { weightedSum($0[0].linear(weight: w, bias: b).tanh().linear(weight: w.transposed())) }
    }

    /// A GEMM issued from inside a parallel region (oneDNN runs sequentially there).
    func testOneDNNInsideParallelRegion() {
        Parallel.threadCount = 2
        let a = TestData.uniform([200, 64], seed: 41), b = TestData.uniform([64, 96], seed: 42)
        let expected = Tensor.matmulKernel(a, b, transA: false, transB: false, backend: .openBLAS)
        let outs = (0..<2).map { _ in Tensor(uninitializedShape: [200, 96]) }
        Parallel.forEachChunk(2, grain: 1) { r in
            for i in r {
                GEMM.sgemm(transA: false, transB: false, m: 200, n: 96, k: 64, a: a.storage.pointer, lda: 64,
                           b: b.storage.pointer, ldb: 96, c: outs[i].storage.pointer, ldc: 96, backend: .oneDNN)
            }
        }
        for o in outs { XCTAssertEqual(o.scalars, expected.scalars, accuracy: 1e-4) }
    }
}
