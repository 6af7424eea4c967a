import CBLAS
import CDNNL
import Foundation

/// 3x3, stride-1 2-D convolution by Winograd's minimal filtering algorithm F(4x4, 3x3)
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): forward,
/// backward-data and backward-weights on NCHW activations and OIHW weights, all contiguous
/// float32.
///
/// Each output tile of 4x4 pixels is computed from a 6x6 input tile: with `d` the input tile,
/// `g` a 3x3 filter and `Bᵀ`, `G`, `Aᵀ` the transform matrices,
/// `y = Aᵀ [Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)] A`. The sum over channels of the element-wise products is,
/// for each of the 36 positions of the 6x6 transformed tile, a matrix product
/// `(O x C) · (C x tiles)`, done by `sgemm`. That takes 36 · 16⁻¹ = 2.25 multiply-adds per output
/// pixel and channel pair instead of 9: 4x fewer than a direct convolution (3.5x at 30x30, where
/// the 8x8 tiles cover 32x32 pixels).
///
/// **Interpolation points.** `0, ±1, ±1/2, ∞` (all transform constants are powers of two or
/// `1.25`, except `G`'s, which are applied once per call to the small weight tensor in double
/// precision). Measured fp32 error against a double-precision direct convolution, inputs and
/// weights uniform in `[-1, 1)`, 64 input channels: relative RMS error 1.8e-6 (the points
/// `0, ±1, ±2, ∞` give 1.9e-6; an fp32 direct convolution about 2e-7). Against the im2col
/// reference (see `WinogradTests`) every pass stays below 1e-5 relative (Frobenius) error.
///
/// **Applicability.** Kernel 3x3, stride 1, padding 0 or 1 (``supports(_:)``); any batch,
/// channel counts and image size (tiles that run past the image are zero-padded on input and
/// cropped on output).
///
/// **Work layout.** The tiles of all images are numbered `p = (n · tilesH + th) · tilesW + tw`
/// and cut into blocks of whole tile rows (about ``blockTiles`` tiles). A block is transformed
/// into a buffer laid out `[36][C][tiles]`, multiplied by the transformed weights `[36][O][C]`
/// with 36 `sgemm` calls into `[36][O][tiles]`, and transformed back into the output, so the
/// transformed data stays in the caches instead of going through memory. Blocks run in
/// parallel, one per thread, each calling a single-threaded `sgemm`.
///
/// Thread-safe: calls keep all their state in per-call buffers.
public enum WinogradConvolution {
    typealias F8 = SIMD8<Float>

    /// The interpolation point `h` of the points `0, ±1, ±h, ∞`.
    static let point: Float = 0.5

    /// Target number of tiles in a block (rounded to whole tile rows). Internal: tuned on the
    /// 2-core AVX2 target (see the file's notes); benchmarks may change it.
    nonisolated(unsafe) static var blockTiles = 256

    // MARK: - Applicability

    /// Whether the Winograd kernels handle this convolution: a 3x3 kernel, stride 1 and
    /// padding 0 or 1. Channel counts, batch and image size are unrestricted.
    public static func supports(_ g: Conv2DGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && (g.padding == 0 || g.padding == 1)
    }

    // MARK: - Tensor API

    /// `y = x ⋆ w + b` for a 3x3 kernel with stride 1: input `[N, C, H, W]`, weight `[O, C, 3, 3]`,
    /// optional bias `[O]` → output `[N, O, H + 2p − 2, W + 2p − 2]` (`[N, O, H, W]` for the
    /// default padding 1). Same result as ``Convolution/forward(_:weight:bias:stride:padding:backend:)``
    /// up to about 2e-6 relative error. Traps unless ``supports(_:)`` holds.
    public static func forward(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, padding: Int = 1) -> Tensor {
        let g = Conv2DGeometry(inputShape: input.shape, weightShape: weight.shape, stride: 1, padding: padding)
        if let bias {
            precondition(bias.shape == [g.outChannels], "conv2d: bias must have shape [\(g.outChannels)], got \(bias.shape)")
        }
        let out = Tensor(uninitializedShape: g.outputShape)
        forward(g, input: input.storage.pointer, weight: weight.storage.pointer, bias: bias?.storage.pointer,
                output: out.storage.pointer)
        withExtendedLifetime((input, weight, bias)) {}
        return out
    }

    /// The gradient of the input of a 3x3, stride-1 convolution: output gradient
    /// `[N, O, Ho, Wo]` and weight `[O, C, 3, 3]` → `[N, C, Ho − 2p + 2, Wo − 2p + 2]`
    /// (`[N, C, Ho, Wo]` for padding 1). Computed as the Winograd convolution of the output
    /// gradient with the 180°-rotated, channel-transposed weight and padding `2 − p`.
    /// Traps unless ``supports(_:)`` holds for the implied geometry.
    public static func backwardData(_ gradOutput: Tensor, weight: Tensor, padding: Int = 1) -> Tensor {
        precondition(gradOutput.rank == 4, "conv2d backward: output gradient must have rank 4, got \(gradOutput.shape)")
        precondition(weight.rank == 4 && weight.shape[0] == gradOutput.shape[1],
                     "conv2d backward: weight \(weight.shape) does not match output gradient \(gradOutput.shape)")
        let s = gradOutput.shape
        let g = Conv2DGeometry(inputShape: [s[0], weight.shape[1], s[2] + 2 - 2 * padding, s[3] + 2 - 2 * padding],
                               weightShape: weight.shape, stride: 1, padding: padding)
        let dx = Tensor(uninitializedShape: g.inputShape)
        backwardData(g, gradOutput: gradOutput.storage.pointer, weight: weight.storage.pointer, gradInput: dx.storage.pointer)
        withExtendedLifetime((gradOutput, weight)) {}
        return dx
    }

    /// The gradients of the weight `[O, C, 3, 3]` and, when `withBias`, of the bias `[O]` of a
    /// 3x3, stride-1 convolution, given the output gradient `[N, O, Ho, Wo]` and the input
    /// `[N, C, H, W]`. Uses the transformed-domain identity
    /// `dW = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ x B)] G` (36 matrix products over all tiles).
    /// Traps unless ``supports(_:)`` holds.
    public static func backwardWeights(_ gradOutput: Tensor, input: Tensor, withBias: Bool = false,
                                       padding: Int = 1) -> (weight: Tensor, bias: Tensor?) {
        precondition(gradOutput.rank == 4, "conv2d backward: output gradient must have rank 4, got \(gradOutput.shape)")
        precondition(input.rank == 4, "conv2d backward: input must have rank 4, got \(input.shape)")
        let g = Conv2DGeometry(inputShape: input.shape, weightShape: [gradOutput.shape[1], input.shape[1], 3, 3],
                               stride: 1, padding: padding)
        let dw = Tensor(uninitializedShape: g.weightShape)
        let db = withBias ? Tensor(uninitializedShape: [g.outChannels]) : nil
        backwardWeights(g, gradOutput: gradOutput.storage.pointer, input: input.storage.pointer,
                        gradWeight: dw.storage.pointer, gradBias: db?.storage.pointer)
        withExtendedLifetime((gradOutput, input)) {}
        return (dw, db)
    }

    // MARK: - Pointer API (NCHW / OIHW, contiguous)

    /// `output = conv(input, weight) + bias` for a geometry that ``supports(_:)``.
    static func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        precondition(supports(g), "Winograd convolution needs a 3x3 kernel, stride 1 and padding 0 or 1: \(g)")
        let u = TensorStorage(uninitializedCount: 36 * g.outChannels * g.inChannels)
        transformWeights(weight, outChannels: g.outChannels, inChannels: g.inChannels, flipped: false, into: u.pointer)
        let tiles = TileGeometry(batch: g.batch, height: g.height, width: g.width, padding: g.padding)
        convolve(tiles, input: input, inChannels: g.inChannels, u: u.pointer, outChannels: g.outChannels,
                 bias: bias, output: output)
        withExtendedLifetime(u) {}
    }

    /// `gradInput = ∂⟨gradOutput, conv(x, weight)⟩ / ∂x` for a geometry that ``supports(_:)``.
    static func backwardData(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             gradInput: UnsafeMutablePointer<Float>) {
        precondition(supports(g), "Winograd convolution needs a 3x3 kernel, stride 1 and padding 0 or 1: \(g)")
        let u = TensorStorage(uninitializedCount: 36 * g.outChannels * g.inChannels)
        transformWeights(weight, outChannels: g.outChannels, inChannels: g.inChannels, flipped: true, into: u.pointer)
        let tiles = TileGeometry(batch: g.batch, height: g.outputHeight, width: g.outputWidth, padding: 2 - g.padding)
        assert(tiles.outHeight == g.height && tiles.outWidth == g.width)
        convolve(tiles, input: gradOutput, inChannels: g.outChannels, u: u.pointer, outChannels: g.inChannels,
                 bias: nil, output: gradInput)
        withExtendedLifetime(u) {}
    }

    /// `gradWeight = ∂⟨gradOutput, conv(input, w)⟩ / ∂w` and, when `gradBias` is given, the bias
    /// gradient `Σ_{n,h,w} gradOutput`, for a geometry that ``supports(_:)``.
    static func backwardWeights(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?) {
        precondition(supports(g), "Winograd convolution needs a 3x3 kernel, stride 1 and padding 0 or 1: \(g)")
        let tiles = TileGeometry(batch: g.batch, height: g.height, width: g.width, padding: g.padding)
        let cIn = g.inChannels, cOut = g.outChannels
        let plan = BlockPlan(tiles, threads: Parallel.threadCount)
        let ld = plan.leadingDimension
        let total = TensorStorage(uninitializedCount: 36 * cOut * cIn + cOut)
        total.pointer.update(repeating: 0, count: 36 * cOut * cIn + cOut)
        let lock = NSLock()
        withSingleThreadedGEMM(parallel: plan.blocks > 1) {
            Parallel.forEachChunk(plan.blocks, grain: 1) { range in
                let v = TensorStorage(uninitializedCount: 36 * cIn * ld)
                let z = TensorStorage(uninitializedCount: 36 * cOut * ld)
                let acc = TensorStorage(uninitializedCount: 36 * cOut * cIn + cOut)
                let scratch = Scratch(tiles)
                acc.pointer.update(repeating: 0, count: 36 * cOut * cIn + cOut)
                let dBias = acc.pointer + 36 * cOut * cIn
                for b in range {
                    let rows = plan.rows(b)
                    let count = rows.count * tiles.tilesW
                    transformInput(tiles, input, channels: cIn, rows: rows, into: v.pointer, ld: ld, scratch: scratch)
                    transformGradient(tiles, gradOutput, channels: cOut, rows: rows, into: z.pointer, ld: ld,
                                      scratch: scratch)
                    if gradBias != nil {
                        // (A dY Aᵀ) at position (1, 1) is the sum of the 4x4 tile.
                        let z11 = z.pointer + 7 * cOut * ld
                        for o in 0..<cOut { dBias[o] += sum(z11 + o * ld, count: count) }
                    }
                    for e in 0..<36 {
                        sgemm(transB: true, m: cOut, n: cIn, k: count, a: z.pointer + e * cOut * ld, lda: ld,
                              b: v.pointer + e * cIn * ld, ldb: ld, beta: 1, c: acc.pointer + e * cOut * cIn, ldc: cIn)
                    }
                }
                lock.lock()
                let n = 36 * cOut * cIn + cOut
                var i = 0
                while i + 8 <= n { store(load(total.pointer + i) + load(acc.pointer + i), total.pointer + i); i += 8 }
                while i < n { total.pointer[i] += acc.pointer[i]; i += 1 }
                lock.unlock()
                withExtendedLifetime((v, z, acc, scratch)) {}
            }
        }
        inverseTransformWeightGradient(total.pointer, outChannels: cOut, inChannels: cIn, into: gradWeight)
        if let gradBias { gradBias.update(from: total.pointer + 36 * cOut * cIn, count: cOut) }
        withExtendedLifetime(total) {}
    }

    // MARK: - Tiling

    /// The tiling of one Winograd convolution: a 3x3 stride-1 convolution of `[N, ·, height,
    /// width]` images with zero padding `padding` (0, 1 or 2) into `outHeight x outWidth` images,
    /// cut into 4x4 output tiles.
    struct TileGeometry {
        let batch: Int, height: Int, width: Int, padding: Int
        let outHeight: Int, outWidth: Int
        let tilesH: Int, tilesW: Int
        /// Length of one phase row in the scratch buffers: `tilesW` rounded up to 8, plus 8.
        let phaseLength: Int

        init(batch: Int, height: Int, width: Int, padding: Int) {
            self.batch = batch
            self.height = height
            self.width = width
            self.padding = padding
            outHeight = height + 2 * padding - 2
            outWidth = width + 2 * padding - 2
            precondition(outHeight >= 1 && outWidth >= 1, "Winograd: empty output for \(height)x\(width), padding \(padding)")
            tilesH = (outHeight + 3) / 4
            tilesW = (outWidth + 3) / 4
            phaseLength = (tilesW + 7) / 8 * 8 + 8
        }

        /// Number of tile rows of all images, `batch · tilesH`.
        var tileRows: Int { batch * tilesH }
    }

    /// The blocks of whole tile rows that the tiles are processed in.
    struct BlockPlan {
        let rowsPerBlock: Int
        let blocks: Int
        let tileRows: Int
        /// Leading dimension of the transformed buffers: the largest block's tile count plus 8
        /// (vector stores of a partial group of 8 tiles may run 7 past the block).
        let leadingDimension: Int

        init(_ t: TileGeometry, threads: Int) {
            tileRows = t.tileRows
            var rows = max(1, WinogradConvolution.blockTiles / t.tilesW)
            // Enough blocks to keep every thread busy.
            if threads > 1 { rows = min(rows, max(1, (tileRows + 2 * threads - 1) / (2 * threads))) }
            rows = min(rows, tileRows)
            rowsPerBlock = rows
            blocks = (tileRows + rows - 1) / rows
            leadingDimension = rows * t.tilesW + 8
        }

        /// The global tile rows of block `b`.
        func rows(_ b: Int) -> Range<Int> { b * rowsPerBlock..<min(tileRows, (b + 1) * rowsPerBlock) }
    }

    /// Per-thread scratch space: the deinterleaved rows of one tile row (6 rows x 4 phases) and
    /// the 36 vectors of a tile group in flight.
    final class Scratch {
        let storage: TensorStorage
        let rows: UnsafeMutablePointer<Float>
        let tile: UnsafeMutablePointer<F8>
        let tileStorage: UnsafeMutablePointer<F8>

        init(_ t: TileGeometry) {
            storage = TensorStorage(uninitializedCount: 24 * t.phaseLength)
            rows = storage.pointer
            tileStorage = .allocate(capacity: 36)
            tile = tileStorage
        }

        deinit { tileStorage.deallocate() }
    }

    // MARK: - Convolution driver

    /// `output[n, o] = Σ_c conv3x3(input[n, c]) + bias[o]`, where `u` holds the transformed
    /// filters `[36][outChannels][inChannels]`. Input `[N, inChannels, height, width]`, output
    /// `[N, outChannels, outHeight, outWidth]` of the tiling `t`.
    static func convolve(_ t: TileGeometry, input: UnsafePointer<Float>, inChannels: Int, u: UnsafePointer<Float>,
                         outChannels: Int, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let plan = BlockPlan(t, threads: Parallel.threadCount)
        let ld = plan.leadingDimension
        withSingleThreadedGEMM(parallel: plan.blocks > 1) {
            Parallel.forEachChunk(plan.blocks, grain: 1) { range in
                let v = TensorStorage(uninitializedCount: 36 * inChannels * ld)
                let m = TensorStorage(uninitializedCount: 36 * outChannels * ld)
                // The columns past a block are read (and discarded) by the output transform:
                // keep them finite.
                m.pointer.update(repeating: 0, count: 36 * outChannels * ld)
                let scratch = Scratch(t)
                for b in range {
                    let rows = plan.rows(b)
                    let count = rows.count * t.tilesW
                    transformInput(t, input, channels: inChannels, rows: rows, into: v.pointer, ld: ld, scratch: scratch)
                    for e in 0..<36 {
                        sgemm(transB: false, m: outChannels, n: count, k: inChannels,
                              a: u + e * outChannels * inChannels, lda: inChannels,
                              b: v.pointer + e * inChannels * ld, ldb: ld, beta: 0,
                              c: m.pointer + e * outChannels * ld, ldc: ld)
                    }
                    transformOutput(t, m.pointer, ld: ld, channels: outChannels, rows: rows, bias: bias,
                                    into: output, scratch: scratch)
                }
                withExtendedLifetime((v, m, scratch)) {}
            }
        }
    }

    // MARK: - GEMM

    /// Runs `body` with OpenBLAS limited to one thread when `parallel` (the GEMMs then run on
    /// the threads of ``Parallel/forEachChunk(_:grain:_:)``, one per block).
    static func withSingleThreadedGEMM(parallel: Bool, _ body: () -> Void) {
        let threads = Parallel.threadCount
        if threads > 1 && parallel && gemmBackend == .openBLAS { openblas_set_num_threads(1) }
        body()
        if threads > 1 && parallel && gemmBackend == .openBLAS { openblas_set_num_threads(Int32(threads)) }
    }

    enum GEMMBackend { case openBLAS, oneDNN }
    nonisolated(unsafe) static var gemmBackend: GEMMBackend = .openBLAS

    /// Row-major `C = A · op(B) + beta · C`, `A` `m x k`, `op(B)` `k x n`.
    @inline(__always)
    static func sgemm(transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 || k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        switch gemmBackend {
        case .openBLAS:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                        1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        case .oneDNN:
            _ = dnnl_sgemm(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: transB ? "T" : "N")), Int64(m), Int64(n), Int64(k),
                           1, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        }
    }

    // MARK: - Vector helpers

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> F8 {
        UnsafeRawPointer(p).loadUnaligned(as: F8.self)
    }

    @inline(__always) static func store(_ v: F8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self)
    }

    /// `Σ p[0..<count]`.
    static func sum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var acc = F8()
        var i = 0
        while i + 8 <= count { acc += load(p + i); i += 8 }
        var s = acc.sum()
        while i < count { s += p[i]; i += 1 }
        return s
    }

    /// `d[q · L + t] = src[4t + q − pad]` (zero outside `0..<width`) for `q` in `0..<4`, `t` in
    /// `0..<L`: splits a padded row into its four phases modulo 4, so that the elements at one
    /// position of consecutive tiles are contiguous.
    @inline(__always)
    static func deinterleave(_ src: UnsafePointer<Float>, width: Int, pad: Int, into d: UnsafeMutablePointer<Float>,
                             length: Int) {
        let d0 = d, d1 = d + length, d2 = d + 2 * length, d3 = d + 3 * length
        // Interior: 0 <= 4t − pad and 4t + 3 − pad < width.
        let lo = min(length, (pad + 3) / 4)
        let hi = max(lo, min(length, (width + pad) / 4))
        @inline(__always) func at(_ x: Int) -> Float { x >= 0 && x < width ? src[x] : 0 }
        for t in 0..<lo {
            d0[t] = at(4 * t - pad); d1[t] = at(4 * t + 1 - pad); d2[t] = at(4 * t + 2 - pad); d3[t] = at(4 * t + 3 - pad)
        }
        let s = src - pad
        for t in lo..<hi {
            d0[t] = s[4 * t]; d1[t] = s[4 * t + 1]; d2[t] = s[4 * t + 2]; d3[t] = s[4 * t + 3]
        }
        for t in hi..<length {
            d0[t] = at(4 * t - pad); d1[t] = at(4 * t + 1 - pad); d2[t] = at(4 * t + 2 - pad); d3[t] = at(4 * t + 3 - pad)
        }
    }

    // MARK: - 1-D transforms (points 0, ±1, ±h, ∞; s = h²)

    /// `Bᵀ d`: the input transform of 6 values.
    @inline(__always)
    static func inputTransform(_ d0: F8, _ d1: F8, _ d2: F8, _ d3: F8, _ d4: F8, _ d5: F8,
                               _ h: Float, _ s: Float) -> (F8, F8, F8, F8, F8, F8) {
        let a = d4 - s * d2
        let b = d3 - s * d1
        let c = d4 - d2
        let f = d3 - d1
        let e = h * f
        return (c + s * (d0 - d2), a + b, a - b, c + e, c - e, (d5 - d3) - s * f)
    }

    /// `Aᵀ m`: the output transform of 6 values into 4.
    @inline(__always)
    static func outputTransform(_ m0: F8, _ m1: F8, _ m2: F8, _ m3: F8, _ m4: F8, _ m5: F8,
                                _ h: Float, _ h2: Float, _ h3: Float) -> (F8, F8, F8, F8) {
        let p = m1 + m2, q = m1 - m2, r = m3 + m4, t = m3 - m4
        return (m0 + p + r, q + h * t, p + h2 * r, (q + h3 * t) + m5)
    }

    /// `A y`: the transform of 4 output-gradient values into 6.
    @inline(__always)
    static func gradientTransform(_ y0: F8, _ y1: F8, _ y2: F8, _ y3: F8,
                                  _ h: Float, _ h2: Float, _ h3: Float) -> (F8, F8, F8, F8, F8, F8) {
        let a = y0 + y2, b = y1 + y3
        let c = y0 + h2 * y2, d = h * y1 + h3 * y3
        return (y0, a + b, a - b, c + d, c - d, y3)
    }

    // MARK: - Tile transforms

    /// Transforms the 6x6 input tiles of the global tile rows `rows` of `x`
    /// (`[N, channels, height, width]`) into `v[e][c][p]` (leading dimension `ld`, `p` counted
    /// from the block's first tile): `v[e] = Bᵀ d B` at position `e = 6i + j`.
    static func transformInput(_ t: TileGeometry, _ x: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                               into v: UnsafeMutablePointer<Float>, ld: Int, scratch: Scratch) {
        let h = point, s = point * point
        let L = t.phaseLength, tilesW = t.tilesW, eStride = channels * ld
        let plane = t.height * t.width
        let d = scratch.rows, tmp = scratch.tile
        for c in 0..<channels {
            for row in rows {
                let n = row / t.tilesH, th = row - n * t.tilesH
                let src = x + (n * channels + c) * plane
                for r in 0..<6 {
                    let ih = 4 * th - t.padding + r
                    if ih >= 0 && ih < t.height {
                        deinterleave(src + ih * t.width, width: t.width, pad: t.padding, into: d + r * 4 * L, length: L)
                    } else {
                        (d + r * 4 * L).update(repeating: 0, count: 4 * L)
                    }
                }
                let out = v + c * ld + (row - rows.lowerBound) * tilesW
                var tw = 0
                while tw < tilesW {
                    // Columns: tmp[6i + j] = Σ_r Bᵀ[i][r] d[r][j].
                    for j in 0..<6 {
                        let col = d + (j & 3) * L + tw + (j >> 2)
                        let r = inputTransform(load(col), load(col + 4 * L), load(col + 8 * L), load(col + 12 * L),
                                               load(col + 16 * L), load(col + 20 * L), h, s)
                        tmp[j] = r.0; tmp[6 + j] = r.1; tmp[12 + j] = r.2
                        tmp[18 + j] = r.3; tmp[24 + j] = r.4; tmp[30 + j] = r.5
                    }
                    // Rows: v[6i + k] = Σ_j tmp[6i + j] B[j][k].
                    for i in 0..<6 {
                        let r = inputTransform(tmp[6 * i], tmp[6 * i + 1], tmp[6 * i + 2], tmp[6 * i + 3],
                                               tmp[6 * i + 4], tmp[6 * i + 5], h, s)
                        let o = out + 6 * i * eStride + tw
                        store(r.0, o); store(r.1, o + eStride); store(r.2, o + 2 * eStride)
                        store(r.3, o + 3 * eStride); store(r.4, o + 4 * eStride); store(r.5, o + 5 * eStride)
                    }
                    tw += 8
                }
            }
        }
    }

    /// Transforms the 4x4 output-gradient tiles of the global tile rows `rows` of `dy`
    /// (`[N, channels, outHeight, outWidth]`, zero past the image) into `z[e][o][p]`:
    /// `z[e] = A dY Aᵀ` at position `e`.
    static func transformGradient(_ t: TileGeometry, _ dy: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                                  into z: UnsafeMutablePointer<Float>, ld: Int, scratch: Scratch) {
        let h = point, h2 = point * point, h3 = point * point * point
        let L = t.phaseLength, tilesW = t.tilesW, eStride = channels * ld
        let plane = t.outHeight * t.outWidth
        let d = scratch.rows, tmp = scratch.tile
        for o in 0..<channels {
            for row in rows {
                let n = row / t.tilesH, th = row - n * t.tilesH
                let src = dy + (n * channels + o) * plane
                for a in 0..<4 {
                    let oh = 4 * th + a
                    if oh < t.outHeight {
                        deinterleave(src + oh * t.outWidth, width: t.outWidth, pad: 0, into: d + a * 4 * L, length: L)
                    } else {
                        (d + a * 4 * L).update(repeating: 0, count: 4 * L)
                    }
                }
                let out = z + o * ld + (row - rows.lowerBound) * tilesW
                var tw = 0
                while tw < tilesW {
                    for b in 0..<4 {
                        let col = d + b * L + tw
                        let r = gradientTransform(load(col), load(col + 4 * L), load(col + 8 * L), load(col + 12 * L),
                                                  h, h2, h3)
                        tmp[b] = r.0; tmp[6 + b] = r.1; tmp[12 + b] = r.2
                        tmp[18 + b] = r.3; tmp[24 + b] = r.4; tmp[30 + b] = r.5
                    }
                    for i in 0..<6 {
                        let r = gradientTransform(tmp[6 * i], tmp[6 * i + 1], tmp[6 * i + 2], tmp[6 * i + 3], h, h2, h3)
                        let o = out + 6 * i * eStride + tw
                        store(r.0, o); store(r.1, o + eStride); store(r.2, o + 2 * eStride)
                        store(r.3, o + 3 * eStride); store(r.4, o + 4 * eStride); store(r.5, o + 5 * eStride)
                    }
                    tw += 8
                }
            }
        }
    }

    /// Transforms `m[e][o][p]` back into the 4x4 output tiles of the global tile rows `rows`
    /// (`y = Aᵀ m A + bias[o]`), writing the part inside the image into `y`
    /// (`[N, channels, outHeight, outWidth]`).
    static func transformOutput(_ t: TileGeometry, _ m: UnsafePointer<Float>, ld: Int, channels: Int,
                                rows: Range<Int>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                                scratch: Scratch) {
        let h = point, h2 = point * point, h3 = point * point * point
        let L = t.phaseLength, tilesW = t.tilesW, eStride = channels * ld
        let outH = t.outHeight, outW = t.outWidth, plane = outH * outW
        let ph = scratch.rows, tmp = scratch.tile   // ph[(4a + b) · L + tw] = y[4th + a][4tw + b]
        for o in 0..<channels {
            let b8 = F8(repeating: bias?[o] ?? 0)
            for row in rows {
                let n = row / t.tilesH, th = row - n * t.tilesH
                let src = m + o * ld + (row - rows.lowerBound) * tilesW
                var tw = 0
                while tw < tilesW {
                    let col = src + tw
                    for j in 0..<6 {
                        let r = outputTransform(load(col + j * eStride), load(col + (6 + j) * eStride),
                                                load(col + (12 + j) * eStride), load(col + (18 + j) * eStride),
                                                load(col + (24 + j) * eStride), load(col + (30 + j) * eStride),
                                                h, h2, h3)
                        tmp[j] = r.0; tmp[6 + j] = r.1; tmp[12 + j] = r.2; tmp[18 + j] = r.3
                    }
                    for a in 0..<4 {
                        let r = outputTransform(tmp[6 * a], tmp[6 * a + 1], tmp[6 * a + 2], tmp[6 * a + 3],
                                                tmp[6 * a + 4], tmp[6 * a + 5], h, h2, h3)
                        let p = ph + 4 * a * L + tw
                        store(r.0 + b8, p); store(r.1 + b8, p + L); store(r.2 + b8, p + 2 * L); store(r.3 + b8, p + 3 * L)
                    }
                    tw += 8
                }
                // Interleave the phases into the output rows, cropping at the image border.
                let dstPlane = y + (n * channels + o) * plane
                for a in 0..<min(4, outH - 4 * th) {
                    let dst = dstPlane + (4 * th + a) * outW
                    let p0 = ph + 4 * a * L, p1 = p0 + L, p2 = p0 + 2 * L, p3 = p0 + 3 * L
                    let full = outW / 4
                    for q in 0..<full {
                        dst[4 * q] = p0[q]; dst[4 * q + 1] = p1[q]; dst[4 * q + 2] = p2[q]; dst[4 * q + 3] = p3[q]
                    }
                    for x in 4 * full..<outW { dst[x] = p0[(x & 3) * L + (x >> 2)] }
                }
            }
        }
    }

    // MARK: - Filter transforms (double precision)

    /// `G` (6x3) for the points `0, ±1, ±h, ∞`: row `j` is `(1, p_j, p_j²) / Π_{l≠j}(p_j − p_l)`
    /// for the finite points, `(0, 0, 1)` for ∞.
    static let filterMatrix: [[Double]] = {
        let h = Double(point)
        let pts: [Double] = [0, 1, -1, h, -h]
        var g = [[Double]]()
        for (j, p) in pts.enumerated() {
            var f = 1.0
            for (l, q) in pts.enumerated() where l != j { f *= p - q }
            g.append([1 / f, p / f, p * p / f])
        }
        g.append([0, 0, 1])
        return g
    }()

    /// `u[e][o][c] = (G w[o][c] Gᵀ)[e]` for OIHW weights `[O, C, 3, 3]`; when `flipped`, the
    /// filters of the input gradient instead: `u[e][c][o] = (G w'[c][o] Gᵀ)[e]` with
    /// `w'[c][o][i][j] = w[o][c][2 − i][2 − j]`.
    static func transformWeights(_ w: UnsafePointer<Float>, outChannels: Int, inChannels: Int, flipped: Bool,
                                 into u: UnsafeMutablePointer<Float>) {
        let g = filterMatrix
        let oc = outChannels, ic = inChannels
        Parallel.forEachChunk(oc, grain: max(1, 4096 / max(1, ic))) { range in
            var f = [Double](repeating: 0, count: 9)
            var tmp = [Double](repeating: 0, count: 18)   // G f: 6x3
            for o in range {
                for c in 0..<ic {
                    let src = w + (o * ic + c) * 9
                    for i in 0..<3 {
                        for j in 0..<3 { f[3 * i + j] = Double(flipped ? src[3 * (2 - i) + (2 - j)] : src[3 * i + j]) }
                    }
                    for a in 0..<6 {
                        for j in 0..<3 { tmp[3 * a + j] = g[a][0] * f[j] + g[a][1] * f[3 + j] + g[a][2] * f[6 + j] }
                    }
                    let dst = flipped ? u + c * oc + o : u + o * ic + c
                    for a in 0..<6 {
                        for b in 0..<6 {
                            let v = tmp[3 * a] * g[b][0] + tmp[3 * a + 1] * g[b][1] + tmp[3 * a + 2] * g[b][2]
                            dst[(6 * a + b) * oc * ic] = Float(v)
                        }
                    }
                }
            }
        }
    }

    /// `dw[o][c] = Gᵀ du[·][o][c] G` for `du` laid out `[36][O][C]`, into OIHW `[O, C, 3, 3]`.
    static func inverseTransformWeightGradient(_ du: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                                               into dw: UnsafeMutablePointer<Float>) {
        let g = filterMatrix
        let oc = outChannels, ic = inChannels
        Parallel.forEachChunk(oc, grain: max(1, 4096 / max(1, ic))) { range in
            var tmp = [Double](repeating: 0, count: 18)   // Gᵀ du: 3x6
            for o in range {
                for c in 0..<ic {
                    let src = du + o * ic + c
                    for i in 0..<3 {
                        for b in 0..<6 {
                            var s = 0.0
                            for a in 0..<6 { s += g[a][i] * Double(src[(6 * a + b) * oc * ic]) }
                            tmp[6 * i + b] = s
                        }
                    }
                    let dst = dw + (o * ic + c) * 9
                    for i in 0..<3 {
                        for j in 0..<3 {
                            var s = 0.0
                            for b in 0..<6 { s += tmp[6 * i + b] * g[b][j] }
                            dst[3 * i + j] = Float(s)
                        }
                    }
                }
            }
        }
    }
}
