import CKernels

/// The library's register-tiled single-precision GEMM (`nsde_small_sgemm`,
/// Sources/CKernels/small_gemm.c) for small products, with a fused epilogue.
///
/// Tiles of 4 rows by 64 columns of `C` are 16 AVX-512 accumulators; `A` is read in place and
/// `B`'s 64-column panel stays in cache while the row tiles pass over it, so nothing is packed and
/// nothing is dispatched per call. On the products of an MLP drift (a batch shard of 128 rows, 64
/// and 128 features) it runs at 116 GFLOP/s on one Zen 4 core against oneDNN's 104–114 (see
/// Benchmarks/RESULTS.md), and its ``Epilogue`` applies the layer's bias and tanh, the gradient
/// through tanh, or an Euler–Maruyama update to each tile while it is in registers, saving a pass
/// over the output.
///
/// Values: every element is the sum over `k` by fused multiply-adds in order from zero, then the
/// epilogue's steps, each rounded as the library's separate kernel for it. So the result does not
/// depend on the thread count or on how `C` is split, every instruction-set level gives the same
/// bits, and the fused epilogue equals the unfused composition bit for bit. (On the shapes the
/// automatic rule sends here, oneDNN's AVX-512 kernels sum in the same order: the tests check that
/// the two backends agree bit for bit there, so moving a product between them changes no result.)
public enum RegisterTiledGEMM {
    /// What the kernel does with each output element's sum `s` (see `nsde_gemm_epilogue`), in
    /// this order: `s + bias[j]`; tanh; times `1 − y²` for `y = tanhOutput[i, j]`; the
    /// ``Update``; `C[i, j] + it` with `accumulate`.
    public struct Epilogue {
        /// An elementwise update of the value `v` with `[m, n]` matrices `state` and `noise` (row
        /// stride ``Epilogue/ld``): `form` `NSDE_UPDATE_PRODUCT_AFFINE` is
        /// `state + v · (noise · a + b)`, `NSDE_UPDATE_SCALED` is `(state + a · v) + b · noise`.
        public struct Update {
            public var form: nsde_update_form
            public var state: UnsafePointer<Float>, noise: UnsafePointer<Float>
            public var a: Float, b: Float
            public init(form: nsde_update_form, state: UnsafePointer<Float>, noise: UnsafePointer<Float>, a: Float, b: Float) {
                (self.form, self.state, self.noise, self.a, self.b) = (form, state, noise, a, b)
            }
        }

        /// `n` floats added to every row, or `nil`.
        public var bias: UnsafePointer<Float>?
        /// Whether tanh follows the bias.
        public var tanh: Bool
        /// `y` of the gradient through `y = tanh(·)`: `[m, n]` with row stride ``ld``, or `nil`.
        public var tanhOutput: UnsafePointer<Float>?
        /// The update, or `nil`.
        public var update: Update?
        /// Row stride of ``tanhOutput`` and the update's matrices.
        public var ld: Int
        /// Whether the result is added to `C` (`beta = 1`).
        public var accumulate: Bool

        /// An epilogue; the default is a plain product.
        public init(bias: UnsafePointer<Float>? = nil, tanh: Bool = false, tanhOutput: UnsafePointer<Float>? = nil,
                    update: Update? = nil, ld: Int = 0, accumulate: Bool = false) {
            (self.bias, self.tanh, self.tanhOutput, self.update, self.ld, self.accumulate) = (bias, tanh, tanhOutput, update, ld, accumulate)
        }

        /// The C struct for the block of `C` whose first element is `(r0, c0)`.
        func offset(row r0: Int, column c0: Int) -> nsde_gemm_epilogue {
            let at = r0 * ld + c0
            return nsde_gemm_epilogue(bias: bias.map { $0 + c0 }, tanh: tanh ? 1 : 0, tanh_output: tanhOutput.map { $0 + at },
                                      update: update?.form ?? NSDE_UPDATE_NONE, update_state: update.map { $0.state + at },
                                      update_noise: update.map { $0.noise + at }, update_a: update?.a ?? 0, update_b: update?.b ?? 0,
                                      ld: Int64(ld), accumulate: accumulate ? 1 : 0)
        }
    }

    /// Whether the processor runs the kernel's AVX-512 build (the loader picked the C kernels'
    /// `avx512f` clones). Elsewhere the kernel gives the same bits, slowly: it runs only when asked
    /// for.
    public static let isFast: Bool = SystemInfo.elementwiseKernelISA == "avx512f"

    /// The largest depth `k` the automatic rule sends here.
    public static let maximumDepth = 384
    /// The largest `m·n·k` the automatic rule sends here (`B`'s panels and `A`'s rows stay in the
    /// caches: 128 x 512 x 128 at most).
    public static let maximumVolume = 1 << 23

    /// Whether the kernel computes `op(A) · op(B)` with these settings: `B` untransposed, `n` a
    /// positive multiple of 16, `alpha = 1` and `beta` 0 or 1.
    public static func supports(transB: Bool, n: Int, alpha: Float = 1, beta: Float = 0) -> Bool {
        !transB && n > 0 && n % 16 == 0 && alpha == 1 && (beta == 0 || beta == 1)
    }

    /// Whether ``GEMM/automaticBackend(m:n:k:transB:)`` sends an `m x n x k` product here: the
    /// processor has AVX-512 (``isFast``), the kernel ``supports(transB:n:alpha:beta:)`` the layout,
    /// `2 ≤ m`, `k ≤` ``maximumDepth`` and `m·n·k ≤` ``maximumVolume``.
    public static func isAutomaticChoice(m: Int, n: Int, k: Int, transB: Bool) -> Bool {
        isFast && supports(transB: transB, n: n) && m >= 2 && k <= maximumDepth && m * n * k <= maximumVolume
    }

    /// `C = epilogue(op(A) · B)` for row-major matrices: `op(A)` is `m x k` (`A` stored `m x k`,
    /// or `k x m` with `transA`, row stride `lda`), `B` is `k x n` (row stride `ldb`), `C` is
    /// `m x n` (row stride `ldc`). `C` is split between threads as ``GEMM`` splits oneDNN's
    /// products (``GEMM/inBlocks(m:n:k:_:)``); the values do not depend on the split.
    public static func multiply(transA: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                epilogue: Epilogue = Epilogue()) {
        precondition(supports(transB: false, n: n), "RegisterTiledGEMM: n = \(n) is not a positive multiple of 16")
        precondition(m >= 0 && k >= 0, "RegisterTiledGEMM: negative size \(m)x\(n)x\(k)")
        precondition((epilogue.tanhOutput == nil && epilogue.update == nil) || epilogue.ld >= n,
                     "RegisterTiledGEMM: epilogue row stride \(epilogue.ld) is shorter than n = \(n)")
        if m == 0 { return }
        GEMM.inBlocks(m: m, n: n, k: k) { r0, r1, c0, c1 in
            var e = epilogue.offset(row: r0, column: c0)
            nsde_small_sgemm(transA ? 1 : 0, Int64(r1 - r0), Int64(c1 - c0), Int64(k), transA ? a + r0 : a + r0 * lda, Int64(lda),
                             b + c0, Int64(ldb), c + r0 * ldc + c0, Int64(ldc), &e)
        }
    }
}
