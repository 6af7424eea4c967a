import CBLAS

/// Single-precision matrix multiplication through OpenBLAS `cblas_sgemm`.
public enum GEMM {
    /// `C = alpha * op(A) * op(B) + beta * C` for row-major matrices, where `op` transposes
    /// when asked. `A` is `m x k` after `op`, `B` is `k x n` after `op`, `C` is `m x n`.
    @inlinable
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

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
