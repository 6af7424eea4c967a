import CKernels
import CBLAS
import CDNNL
import Foundation

/// Which library computes a single-precision GEMM.
public enum GEMMBackend: String, Sendable, CaseIterable {
    /// Chosen per call from the shape by ``GEMM/automaticBackend(m:n:k:)``.
    case automatic
    /// OpenBLAS `cblas_sgemm`, threaded by OpenBLAS's own pthreads pool.
    case openBLAS
    /// oneDNN `dnnl_sgemm`, run single-threaded on each block of `C` on the OpenMP team that
    /// ``Parallel/forEachChunk(_:grain:_:)`` uses.
    case oneDNN
    /// The library's register-tiled kernel (``RegisterTiledGEMM``), blocks of `C` split between
    /// threads as for oneDNN. It takes `B` untransposed with a multiple of 16 columns, `alpha = 1`
    /// and `beta` 0 or 1; other products asked of it run on oneDNN.
    case registerTiled
}

/// Single-precision matrix multiplication through oneDNN's `dnnl_sgemm`, OpenBLAS's
/// `cblas_sgemm` or the library's register-tiled kernel, chosen by shape.
///
/// ## Dispatch rule (``automaticBackend(m:n:k:transB:)``)
///
/// Narrow outputs (`2 ≤ n ≤ 12`: a classifier head, a 2-d state) go to OpenBLAS; small products
/// that ``RegisterTiledGEMM/isAutomaticChoice(m:n:k:transB:)`` accepts (AVX-512 processors, `B`
/// untransposed, operands that fit in the caches: an MLP drift's layers) to the register-tiled
/// kernel, which computes the same bits as oneDNN's there, faster; everything else to oneDNN.
/// (``openBLASMinimumVolume`` can also send products from a given `m·n·k` on to OpenBLAS; no size
/// measured here favoured it, so it is off.)
///
/// The rule comes from measurements of both libraries on the shapes the models use (the table is in
/// [Benchmarks/RESULTS.md](../../../Benchmarks/RESULTS.md), "Kernels"): oneDNN was as fast or
/// faster on every shape measured except narrow outputs (large square products about even).
///
/// Keeping products on oneDNN also keeps them on the one OpenMP team: OpenBLAS's own pthreads
/// keep spinning after a threaded call and then compete with the OpenMP team's kernels.
///
/// ## Threading of the oneDNN path
///
/// Below ``parallelMinimumFlops`` the product runs as one single-threaded `dnnl_sgemm` call (a
/// parallel region costs more than it saves). Above, `C` is split into ``Parallel/threadCount``
/// blocks of rows (or of columns when `n > m`), 16-aligned, and each block is one
/// single-threaded `dnnl_sgemm` inside ``Parallel/forEachChunk(_:grain:_:)`` (oneDNN runs
/// sequentially inside a parallel region), as the Winograd convolution does. The split depends
/// only on the shape and the thread count, so results are bit-identical from run to run.
public enum GEMM {
    /// The backend used for `.automatic` calls when it is not `.automatic` itself (benchmarks
    /// and tests force a backend globally with it). Not thread-safe to change while GEMMs run.
    nonisolated(unsafe) public static var defaultBackend: GEMMBackend = .automatic

    /// From this `m·n·k` on, `.automatic` uses OpenBLAS (`Int.max`: never; see the type's
    /// documentation).
    nonisolated(unsafe) public static var openBLASMinimumVolume = Int.max

    /// `.automatic` uses OpenBLAS for outputs with `2...openBLASNarrowColumns` columns.
    nonisolated(unsafe) public static var openBLASNarrowColumns = 12

    /// Below this many FLOPs (`2·m·n·k`) the oneDNN path runs on one thread. Measured on two
    /// threads: 32³ (65 KFLOP) split in two runs at 14 GFLOP/s against 23-27 on one thread,
    /// 64³ (0.5 MFLOP) at 52-58 against 35.
    nonisolated(unsafe) public static var parallelMinimumFlops = 1 << 18

    /// The backend `.automatic` resolves to for an `m x n x k` product (`transB`: whether `B` is
    /// read transposed).
    public static func automaticBackend(m: Int, n: Int, k: Int, transB: Bool = false) -> GEMMBackend {
        if defaultBackend != .automatic { return defaultBackend }
        if n >= 2 && n <= openBLASNarrowColumns { return .openBLAS }
        if RegisterTiledGEMM.isAutomaticChoice(m: m, n: n, k: k, transB: transB) { return .registerTiled }
        return m * n * k >= openBLASMinimumVolume ? .openBLAS : .oneDNN
    }

    /// `C = alpha * op(A) * op(B) + beta * C` for row-major matrices, where `op` transposes
    /// when asked. `A` is `m x k` after `op`, `B` is `k x n` after `op`, `C` is `m x n`.
    ///
    /// With `rowBias` (`n` elements) the result is `alpha * op(A) * op(B) + bias` broadcast over
    /// the rows, and `beta` must be 0: `C` is preloaded with the bias (by the thread that
    /// computes those rows) and the GEMM accumulates into it.
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                             rowBias: UnsafePointer<Float>? = nil, backend: GEMMBackend = .automatic) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size \(m)x\(n)x\(k)")
        precondition(rowBias == nil || beta == 0, "sgemm: rowBias needs beta == 0")
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if let rowBias { row.update(from: rowBias, count: n) }
                else if beta == 0 { row.update(repeating: 0, count: n) }
                else if beta != 1 { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        var chosen = backend == .automatic ? automaticBackend(m: m, n: n, k: k, transB: transB) : backend
        if chosen == .registerTiled && !RegisterTiledGEMM.supports(transB: transB, n: n, alpha: alpha, beta: beta) {
            chosen = .oneDNN
        }
        switch chosen {
        case .openBLAS, .automatic:
            var beta = beta
            if let rowBias {
                for i in 0..<m { (c + i * ldc).update(from: rowBias, count: n) }
                beta = 1
            }
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        case .oneDNN:
            oneDNNSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, rowBias: rowBias)
        case .registerTiled:
            RegisterTiledGEMM.multiply(transA: transA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                                       epilogue: RegisterTiledGEMM.Epilogue(bias: rowBias, accumulate: beta == 1))
        }
    }

    /// Column sums of a row-major `rows x cols` matrix (leading dimension `ld`) into `out`
    /// (`cols` elements): the bias gradient of a fully connected layer. Accumulates blocks of
    /// 64 rows in `Float` (vectorised) and the blocks in `Double`.
    public static func columnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                                  into out: UnsafeMutablePointer<Float>) {
        if cols == 0 { return }
        let block = UnsafeMutablePointer<Float>.allocate(capacity: cols)
        let total = UnsafeMutablePointer<Double>.allocate(capacity: cols)
        defer { block.deallocate(); total.deallocate() }
        // Blocks of 64 rows summed in float, the blocks in double (`nsde_column_sums`).
        nsde_column_sums(x, Int64(rows), Int64(cols), Int64(ld), block, total, out)
    }

    // MARK: - oneDNN

    private static func oneDNNSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                    rowBias: UnsafePointer<Float>?) {
        let ta = CChar(UInt8(ascii: transA ? "T" : "N")), tb = CChar(UInt8(ascii: transB ? "T" : "N"))
        // One block: rows r0..<r1, columns c0..<c1 of C.
        func block(_ r0: Int, _ r1: Int, _ c0: Int, _ c1: Int) {
            let pa = transA ? a + r0 : a + r0 * lda
            let pb = transB ? b + c0 * ldb : b + c0
            let pc = c + r0 * ldc + c0
            var beta = beta
            if let rowBias {
                for i in 0..<(r1 - r0) { (pc + i * ldc).update(from: rowBias + c0, count: c1 - c0) }
                beta = 1
            }
            let status = dnnl_sgemm(ta, tb, Int64(r1 - r0), Int64(c1 - c0), Int64(k), alpha, pa, Int64(lda),
                                    pb, Int64(ldb), beta, pc, Int64(ldc))
            OneDNN.check(status, "dnnl_sgemm \(r1 - r0)x\(c1 - c0)x\(k)")
        }
        inBlocks(m: m, n: n, k: k, block)
    }

    /// Runs `block(r0, r1, c0, c1)` over a split of the `m x n` output of a depth-`k` product:
    /// below ``parallelMinimumFlops``, inside a parallel region or when the split gives one block,
    /// one call for all of `C` on this thread (with oneDNN's OpenMP team narrowed to one thread for
    /// it outside a parallel region); else up to ``Parallel/threadCount`` blocks of rows (or of
    /// columns when `n > m`), 16-aligned, one per thread. The split depends only on the shape and
    /// the thread count.
    static func inBlocks(m: Int, n: Int, k: Int, _ block: (_ r0: Int, _ r1: Int, _ c0: Int, _ c1: Int) -> Void) {
        let threads = Parallel.threadCount
        let byRows = m >= n
        let extent = byRows ? m : n
        let per = ((extent + threads - 1) / threads + 15) / 16 * 16
        let blocks = (extent + per - 1) / per
        let omp = OpenMPControl.shared
        let inParallel = omp.map { $0.inParallel() != 0 } ?? false
        if blocks < 2 || 2 * m * n * k < parallelMinimumFlops || inParallel {
            // Single-threaded: inside a parallel region oneDNN is sequential by itself; outside
            // one, its OpenMP team is narrowed to one thread for the call.
            let saved = (!inParallel ? omp?.maxThreads() : nil) ?? 1
            if saved != 1 { omp!.setNumThreads(1) }
            block(0, m, 0, n)
            if saved != 1 { omp!.setNumThreads(saved) }
            return
        }
        Parallel.forEachChunk(blocks, grain: 1) { range in
            for i in range {
                let lo = i * per, hi = min(extent, lo + per)
                if byRows { block(lo, hi, 0, n) } else { block(0, m, lo, hi) }
            }
        }
    }

    /// The OpenMP calls that set the thread count oneDNN uses outside a parallel region.
    private struct OpenMPControl {
        let inParallel: @convention(c) () -> Int32
        let maxThreads: @convention(c) () -> Int32
        let setNumThreads: @convention(c) (Int32) -> Void

        /// `nil` when no OpenMP runtime is loaded (oneDNN is then sequential or threads itself).
        static let shared: OpenMPControl? = {
            _ = OneDNN.engine // oneDNN, and with it the OpenMP runtime, is initialised first
            guard let p = dlsym(nil, "omp_in_parallel"), let g = dlsym(nil, "omp_get_max_threads"),
                  let s = dlsym(nil, "omp_set_num_threads") else { return nil }
            typealias IntFn = @convention(c) () -> Int32
            typealias SetFn = @convention(c) (Int32) -> Void
            return OpenMPControl(inParallel: unsafeBitCast(p, to: IntFn.self), maxThreads: unsafeBitCast(g, to: IntFn.self),
                                 setNumThreads: unsafeBitCast(s, to: SetFn.self))
        }()
    }

    // MARK: - Library information

    /// The OpenBLAS build description (version, core, threading).
    public static var openBLASConfig: String {
        guard let p = openblas_get_config() else { return "OpenBLAS (unknown)" }
        return String(cString: p)
    }

    /// The CPU core type OpenBLAS selected at run time.
    public static var openBLASCore: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}
