import CDNNL
import CKernels
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
/// `(O x C) · (C x tiles)`, done by `sgemm`: 36 / 16 = 2.25 multiply-adds per output pixel and
/// channel pair instead of 9, 4x fewer than a direct convolution (3.5x at 30x30, where 8x8
/// tiles cover 32x32 pixels). The input gradient is the same algorithm applied to the output
/// gradient with the 180°-rotated, channel-transposed filters and padding `2 − p`; the weight
/// gradient uses `dW = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ x B)] G`, 36 products `(O x tiles) · (tiles x C)`.
///
/// **Interpolation points.** `0, ±1, ±2, ∞` (the transforms are then adds and multiplications
/// by 2, 4, 5 and 8; `G`'s fractions are applied in double precision, once per call, to the
/// small weight tensor). Measured fp32 error against a float64 direct convolution (batch 4,
/// 64 → 64 channels, 30x30, inputs and weights uniform in [-1, 1)): relative Frobenius error
/// 1.6e-6 for each pass, largest element error 6e-6 – 8e-6 of the largest output (im2col:
/// 1.5e-7 – 2.9e-7; oneDNN: 2e-7 – 1e-6). The points `0, ±1, ±1/2, ∞` measured 1.6e-6 – 1.8e-6,
/// slightly worse on every pass, and F(2x2, 3x3) is not needed for accuracy.
///
/// **Applicability.** Kernel 3x3, stride 1, padding 0 or 1 (``supports(_:)``); any batch,
/// channel counts and image size (tiles that run past the image are zero-padded on input and
/// cropped on output). Below about 16 channels on either side oneDNN is usually faster: the
/// transforms then cost more than the multiplications they save (1 → 64 channels at 28x28:
/// forward and input gradient 2-4x slower than oneDNN; 3 → 64 at 32x32: about even).
///
/// **Work layout.** The tiles of all images are numbered `p = (n · tilesH + th) · tilesW + tw`
/// and cut into blocks of whole tile rows (about ``blockTiles`` tiles at 64 channels). Blocks
/// run in parallel on ``Parallel/forEachChunk(_:grain:_:)``, one thread per block: the block's
/// input tiles are transformed into a buffer laid out `[36][C][tiles]`, multiplied by the
/// transformed weights `[36][O][C]` with 36 single-threaded `dnnl_sgemm` calls into
/// `[36][O][tiles]`, and transformed back into the output, so the transformed data stays in
/// the caches (about 2.5 MB per thread) instead of going through memory. This measured faster
/// than transforming the whole batch and running 36 large multi-threaded products (batch 128,
/// 64 → 64, 30x30: 99 against 109 ms on one thread, 57.6 against 58.4 ms on two, with 150 MB
/// less scratch memory). The transforms run 8 tiles at a time, one `SIMD8` lane per tile, on
/// image rows split into their four phases modulo 4.
///
/// **Speed**: measured per machine in [Benchmarks/RESULTS.md](../../../Benchmarks/RESULTS.md)
/// ("Kernels"); `nsde bench conv` compares the backends on any shape.
///
/// Thread-safe: calls keep all their state in per-call buffers.
public enum WinogradConvolution {
    typealias F8 = SIMD8<Float>

    /// The interpolation point `h` of the points `0, ±1, ±h, ∞`.
    static let point: Float = 2

    /// Target number of tiles in a block of the forward and input-gradient passes at 64
    /// channels (rounded to whole tile rows; wider layers get proportionally smaller blocks).
    /// Internal, for benchmarks: 64 to 512 measured within noise of each other at batch 128,
    /// 64 → 64, 30x30.
    nonisolated(unsafe) static var blockTiles = 256

    /// Target number of tiles in a block of the weight-gradient pass, which keeps two
    /// transformed buffers per block (input and output gradient). Internal, for benchmarks.
    nonisolated(unsafe) static var weightBlockTiles = 64

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
        let plan = BlockPlan(tiles, threads: Parallel.threadCount, blockTiles: weightBlockTiles,
                             channels: max(cIn, cOut))
        let ld = plan.leadingDimension
        // The sums of the 36 products, [36][O][C] (or [36][C][O] when `transposed`), then the
        // bias gradient. oneDNN's sgemm is about 30% slower when the product's row length is not
        // a multiple of 8 (64 x 65 against 65 x 64), so the channel count that is one goes last.
        let transposed = cIn % 8 != 0 && cOut % 8 == 0
        let size = 36 * cOut * cIn + cOut
        // Each chunk of blocks sums into its own buffer (kept by its first block); the buffers
        // are added in block order afterwards, so the result does not depend on thread timing.
        var partials = [Int: TensorStorage]()
        let lock = NSLock()
        Parallel.forEachChunk(plan.blocks, grain: 1) { range in
            let v = TensorStorage(uninitializedCount: 36 * cIn * ld)
            let z = TensorStorage(uninitializedCount: 36 * cOut * ld)
            let acc = TensorStorage(uninitializedCount: size)
            let scratch = Scratch(tiles)
            acc.pointer.update(repeating: 0, count: size)
            let dBias = acc.pointer + 36 * cOut * cIn
            for b in range {
                let rows = plan.rows(b)
                let count = rows.count * tiles.tilesW
                transformInput(tiles, input, channels: cIn, rows: rows, into: v.pointer, ld: ld, eStride: cIn * ld,
                               scratch: scratch)
                transformGradient(tiles, gradOutput, channels: cOut, rows: rows, into: z.pointer, ld: ld,
                                  eStride: cOut * ld, scratch: scratch)
                if gradBias != nil {
                    // (A dY Aᵀ) at position (1, 1) is the sum of the 4x4 tile.
                    let z11 = z.pointer + 7 * cOut * ld
                    for o in 0..<cOut { dBias[o] += sum(z11 + o * ld, count: count) }
                }
                for e in 0..<36 {
                    let ze = z.pointer + e * cOut * ld, ve = v.pointer + e * cIn * ld, de = acc.pointer + e * cOut * cIn
                    if transposed {
                        sgemm(transB: true, m: cIn, n: cOut, k: count, a: ve, lda: ld, b: ze, ldb: ld, beta: 1, c: de,
                              ldc: cOut)
                    } else {
                        sgemm(transB: true, m: cOut, n: cIn, k: count, a: ze, lda: ld, b: ve, ldb: ld, beta: 1, c: de,
                              ldc: cIn)
                    }
                }
            }
            lock.lock()
            partials[range.lowerBound] = acc
            lock.unlock()
            withExtendedLifetime((v, z, scratch)) {}
        }
        let ordered = partials.sorted { $0.key < $1.key }.map(\.value)
        let total = ordered[0].pointer
        for p in ordered.dropFirst() {
            var i = 0
            while i + 8 <= size { store(load(total + i) + load(p.pointer + i), total + i); i += 8 }
            while i < size { total[i] += p.pointer[i]; i += 1 }
        }
        inverseTransformWeightGradient(total, outChannels: cOut, inChannels: cIn, transposed: transposed,
                                       into: gradWeight)
        if let gradBias { gradBias.update(from: total + 36 * cOut * cIn, count: cOut) }
        withExtendedLifetime(ordered) {}
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
            precondition((0...2).contains(padding), "Winograd: padding \(padding) outside 0...2")
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
        /// (vector stores of a partial group of 8 tiles may run up to 7 past the block).
        let leadingDimension: Int

        /// `blockTiles` is the target for 64 channels; wider layers get proportionally smaller
        /// blocks (at least 32 tiles), so that a block's buffers stay near the same size.
        init(_ t: TileGeometry, threads: Int, blockTiles: Int, channels: Int) {
            tileRows = t.tileRows
            let target = max(32, blockTiles * 64 / max(64, channels))
            var rows = max(1, target / t.tilesW)
            // At least two blocks per thread when there is enough work, to balance the load.
            if threads > 1 { rows = min(rows, max(1, (tileRows + 2 * threads - 1) / (2 * threads))) }
            rows = min(rows, tileRows)
            rowsPerBlock = rows
            blocks = (tileRows + rows - 1) / rows
            leadingDimension = rows * t.tilesW + 8
        }

        /// The global tile rows (`n · tilesH + th`) of block `b`.
        func rows(_ b: Int) -> Range<Int> { b * rowsPerBlock..<min(tileRows, (b + 1) * rowsPerBlock) }
    }

    /// Per-thread scratch space of the tile transforms: the deinterleaved image rows of the tile
    /// rows in flight (4 phases each).
    final class Scratch {
        let storage: TensorStorage
        /// `max(6, 4 · tilesH + 2) · 4 · phaseLength` floats.
        let rows: UnsafeMutablePointer<Float>

        init(_ t: TileGeometry) {
            storage = TensorStorage(uninitializedCount: max(6, 4 * t.tilesH + 2) * 4 * t.phaseLength)
            rows = storage.pointer
        }
    }

    // MARK: - Convolution driver

    /// `output[n, o] = Σ_c conv3x3(input[n, c]) + bias[o]`, where `u` holds the transformed
    /// filters `[36][outChannels][inChannels]`. Input `[N, inChannels, height, width]`, output
    /// `[N, outChannels, outHeight, outWidth]` of the tiling `t`.
    static func convolve(_ t: TileGeometry, input: UnsafePointer<Float>, inChannels: Int, u: UnsafePointer<Float>,
                         outChannels: Int, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let plan = BlockPlan(t, threads: Parallel.threadCount, blockTiles: blockTiles,
                             channels: max(inChannels, outChannels))
        let ld = plan.leadingDimension
        // One buffer of 37 slots: the transformed input of position e in slot e + 1, and the
        // product of position e written over slot e, whose input (position e − 1) is no longer
        // needed. Half the footprint of separate buffers, so a block stays in the caches.
        let slot = max(inChannels, outChannels) * ld
        Parallel.forEachChunk(plan.blocks, grain: 1) { range in
            let buffer = TensorStorage(uninitializedCount: 37 * slot)
            let m = buffer.pointer, v = buffer.pointer + slot
            // Columns past a block are read (and discarded) by the output transform: keep them
            // finite.
            m.update(repeating: 0, count: 37 * slot)
            let scratch = Scratch(t)
            for b in range {
                let rows = plan.rows(b)
                let count = rows.count * t.tilesW
                transformInput(t, input, channels: inChannels, rows: rows, into: v, ld: ld, eStride: slot,
                               scratch: scratch)
                for e in 0..<36 {
                    sgemm(transB: false, m: outChannels, n: count, k: inChannels,
                          a: u + e * outChannels * inChannels, lda: inChannels,
                          b: v + e * slot, ldb: ld, beta: 0, c: m + e * slot, ldc: ld)
                }
                transformOutput(t, m, ld: ld, eStride: slot, channels: outChannels, rows: rows, bias: bias,
                                into: output, scratch: scratch)
            }
            withExtendedLifetime((buffer, scratch)) {}
        }
    }

    // MARK: - GEMM

    /// Row-major `C = A · op(B) + beta · C` (`A` `m x k`, `op(B)` `k x n`) through oneDNN's
    /// `dnnl_sgemm`, which is single-threaded inside a parallel region (the blocks of
    /// ``Parallel/forEachChunk(_:grain:_:)`` run on oneDNN's OpenMP team) and uses all threads
    /// outside one. On these shapes (`64 x 256 x 64`, `64 x 64 x 256`) it runs at 33-35 GFLOP/s
    /// per core on the AVX2 target, OpenBLAS 0.3.21's `cblas_sgemm` at 10-20.
    @inline(__always)
    static func sgemm(transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        let status = dnnl_sgemm(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                                Int64(m), Int64(n), Int64(k), 1, a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        OneDNN.check(status, "dnnl_sgemm \(m)x\(n)x\(k)")
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

    // MARK: - Tile transforms (C kernels, one clone per instruction-set level)

    /// The C kernels' description of a tiling.
    static func tiling(_ t: TileGeometry) -> nsde_winograd_tiling {
        nsde_winograd_tiling(batch: Int64(t.batch), height: Int64(t.height), width: Int64(t.width),
                             padding: Int64(t.padding), out_height: Int64(t.outHeight), out_width: Int64(t.outWidth),
                             tiles_h: Int64(t.tilesH), tiles_w: Int64(t.tilesW), phase_length: Int64(t.phaseLength))
    }

    /// Transforms the 6x6 input tiles of the global tile rows `rows` of `x`
    /// (`[N, channels, height, width]`) into `v[e · eStride + c · ld + p]` (`p` counted from the
    /// block's first tile): `v[e] = (Bᵀ d B)[e]` at position `e = 6i + k`. Writes up to 7 columns
    /// past the block's last tile (garbage there), which `ld` must leave room for. Eight tiles at
    /// a time, one vector lane per tile (`nsde_winograd_input`).
    static func transformInput(_ t: TileGeometry, _ x: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                               into v: UnsafeMutablePointer<Float>, ld: Int, eStride: Int, scratch: Scratch) {
        var geometry = tiling(t)
        nsde_winograd_input(&geometry, point, x, Int64(channels), Int64(rows.lowerBound), Int64(rows.upperBound), v,
                            Int64(ld), Int64(eStride), scratch.rows)
    }

    /// Transforms the 4x4 output-gradient tiles of the global tile rows `rows` of `dy`
    /// (`[N, channels, outHeight, outWidth]`, zero past the image) into
    /// `z[e · eStride + o · ld + p]`: `z[e] = (A dY Aᵀ)[e]`. Writes up to 7 columns past the
    /// block's last tile (`nsde_winograd_gradient`).
    static func transformGradient(_ t: TileGeometry, _ dy: UnsafePointer<Float>, channels: Int, rows: Range<Int>,
                                  into z: UnsafeMutablePointer<Float>, ld: Int, eStride: Int, scratch: Scratch) {
        var geometry = tiling(t)
        nsde_winograd_gradient(&geometry, point, dy, Int64(channels), Int64(rows.lowerBound), Int64(rows.upperBound), z,
                               Int64(ld), Int64(eStride), scratch.rows)
    }

    /// Transforms `m[e · eStride + o · ld + p]` back into the 4x4 output tiles of the global
    /// tile rows `rows` (`y = Aᵀ m A + bias[o]`), writing the part inside the image into `y`
    /// (`[N, channels, outHeight, outWidth]`). Reads up to 7 columns past the block's last tile,
    /// which must hold finite values (`nsde_winograd_output`).
    static func transformOutput(_ t: TileGeometry, _ m: UnsafePointer<Float>, ld: Int, eStride: Int, channels: Int,
                                rows: Range<Int>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                                scratch: Scratch) {
        var geometry = tiling(t)
        nsde_winograd_output(&geometry, point, m, Int64(ld), Int64(eStride), Int64(channels), Int64(rows.lowerBound),
                             Int64(rows.upperBound), bias, y, scratch.rows)
    }

    // MARK: - Filter transforms (double precision)

    /// `G` (6x3, row-major) for the points `0, ±1, ±h, ∞`: row `j` is
    /// `(1, p_j, p_j²) / Π_{l≠j}(p_j − p_l)` for the finite points, `(0, 0, 1)` for ∞.
    static let filterMatrix: [Double] = {
        let h = Double(point)
        let pts: [Double] = [0, 1, -1, h, -h]
        var g = [Double]()
        for (j, p) in pts.enumerated() {
            var f = 1.0
            for (l, q) in pts.enumerated() where l != j { f *= p - q }
            g += [1 / f, p / f, p * p / f]
        }
        return g + [0, 0, 1]
    }()

    /// `u[e][o][c] = (G w[o][c] Gᵀ)[e]` for OIHW weights `[O, C, 3, 3]`; when `flipped`, the
    /// filters of the input gradient instead: `u[e][c][o] = (G w'[c][o] Gᵀ)[e]` with
    /// `w'[c][o][i][j] = w[o][c][2 − i][2 − j]`. Computed in double precision.
    static func transformWeights(_ w: UnsafePointer<Float>, outChannels: Int, inChannels: Int, flipped: Bool,
                                 into u: UnsafeMutablePointer<Float>) {
        let oc = outChannels, ic = inChannels
        filterMatrix.withUnsafeBufferPointer { g in
            Parallel.forEachChunk(oc, grain: max(1, 4096 / max(1, ic))) { range in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 27) { buffer in
                    let f = buffer.baseAddress!, tmp = f + 9   // the filter, then G f (6x3)
                    for o in range {
                        for c in 0..<ic {
                            let src = w + (o * ic + c) * 9
                            for i in 0..<9 { f[i] = Double(flipped ? src[8 - i] : src[i]) }
                            for a in 0..<6 {
                                for j in 0..<3 {
                                    tmp[3 * a + j] = g[3 * a] * f[j] + g[3 * a + 1] * f[3 + j] + g[3 * a + 2] * f[6 + j]
                                }
                            }
                            let dst = flipped ? u + c * oc + o : u + o * ic + c
                            for a in 0..<6 {
                                for b in 0..<6 {
                                    let v = tmp[3 * a] * g[3 * b] + tmp[3 * a + 1] * g[3 * b + 1]
                                        + tmp[3 * a + 2] * g[3 * b + 2]
                                    dst[(6 * a + b) * oc * ic] = Float(v)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dw[o][c] = Gᵀ du[·][o][c] G` for `du` laid out `[36][O][C]` (`[36][C][O]` when
    /// `transposed`), into OIHW `[O, C, 3, 3]`. Computed in double precision.
    static func inverseTransformWeightGradient(_ du: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                                               transposed: Bool, into dw: UnsafeMutablePointer<Float>) {
        let oc = outChannels, ic = inChannels
        filterMatrix.withUnsafeBufferPointer { g in
            Parallel.forEachChunk(oc, grain: max(1, 4096 / max(1, ic))) { range in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 18) { buffer in
                    let tmp = buffer.baseAddress!   // Gᵀ du: 3x6
                    for o in range {
                        for c in 0..<ic {
                            let src = du + (transposed ? c * oc + o : o * ic + c)
                            for i in 0..<3 {
                                for b in 0..<6 {
                                    var s = 0.0
                                    for a in 0..<6 { s += g[3 * a + i] * Double(src[(6 * a + b) * oc * ic]) }
                                    tmp[6 * i + b] = s
                                }
                            }
                            let dst = dw + (o * ic + c) * 9
                            for i in 0..<3 {
                                for j in 0..<3 {
                                    var s = 0.0
                                    for b in 0..<6 { s += tmp[6 * i + b] * g[3 * b + j] }
                                    dst[3 * i + j] = Float(s)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
