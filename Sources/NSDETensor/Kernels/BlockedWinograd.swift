import CKernels

/// Winograd convolutions on oneDNN's blocked layout `nChw16c` (C kernels in `blocked_winograd.c`):
/// 3x3 kernels, stride 1, padding 0 or 1, input and output channel counts that are multiples of
/// 16. A pixel's 16 channels are one vector, so the tile transforms are vector additions and each
/// tile position is a 16x16-block product of broadcast multiply-adds, with no layout change.
/// Two tile sizes (``Tile``): F(2x2, 3x3), 2.25x fewer multiplications than a direct convolution
/// with cheap transforms, and F(4x4, 3x3), 4x fewer with dearer ones; ``tile(for:)`` picks by the
/// channel count.
///
/// It is the automatic backend's choice for 16 to 64 channels on processors where oneDNN runs
/// AVX-512 kernels (``ConvolutionBackend/blockedWinograd``). Measured with a C harness on a 2-core
/// AMD EPYC (Zen 4 family, AVX-512), one thread, 16 samples, GFLOP/s as direct-convolution FLOPs
/// (forward / backward-data / backward-weights):
///
/// | channels, size | F(2x2, 3x3) | F(4x4, 3x3) | oneDNN |
/// | --- | --- | --- | --- |
/// | 16 → 16, 26x26 | 164 / 163 / 150 | 137 / 149 / 106 | direct: 101 / 117 / 105 (`DNNL_VERBOSE`, in the demo's step) |
/// | 32 → 32, 26x26 | 207 / 200 / 180 | 253 / 244 / 196 | |
/// | 64 → 64, 30x30 | 196 / 192 / 173 | 241 / 221 / 190 | Winograd: 186 / 184 / 142 (`nsde bench conv`, NCHW) |
/// | 128 → 128, 16x16 (8 samples) | 200 / 180 / 158 | 187 / 130 / 104 | |
///
/// Values: the transforms add in a fixed order (F(4x4, 3x3)'s weight transforms in double) and
/// the products are fused multiply-adds over the input channels in order, so a result depends on
/// neither the instruction-set level nor the thread count (the weight gradient sums fixed blocks
/// of ``weightGradientBlock`` samples, then the blocks in order). They agree with a direct
/// convolution to rounding: F(2x2, 3x3)'s transforms are exact, F(4x4, 3x3)'s lose a few bits
/// more (relative errors around 1e-6, as oneDNN's Winograd kernels).
enum BlockedWinogradConvolution {
    /// The output tile of the Winograd algorithm.
    enum Tile: Sendable {
        /// F(2x2, 3x3): 16 tile positions.
        case f2x2
        /// F(4x4, 3x3): 36 tile positions.
        case f4x4

        var positions: Int { self == .f2x2 ? 16 : 36 }

        func scratchFloats(_ inChannels: Int, _ outChannels: Int, _ outWidth: Int) -> Int {
            let (c, o, w) = (Int64(inChannels), Int64(outChannels), Int64(outWidth))
            return Int(self == .f2x2 ? nsde_wino2_scratch_floats(c, o, w) : nsde_wino4_scratch_floats(c, o, w))
        }

        func transformWeights(_ w: UnsafePointer<Float>, _ g: Conv2DGeometry, backwardData: Bool, _ u: UnsafeMutablePointer<Float>) {
            let (o, c, b) = (Int64(g.outChannels), Int64(g.inChannels), Int32(backwardData ? 1 : 0))
            if self == .f2x2 { nsde_wino2_weights(w, o, c, b, u) } else { nsde_wino4_weights(w, o, c, b, u) }
        }

        typealias Forward = @convention(c) (UnsafePointer<Float>?, Int64, Int64, Int64, Int64, Int64, UnsafePointer<Float>?,
                                            UnsafePointer<Float>?, Int64, Int64, Int64, Int64, UnsafeMutablePointer<Float>?,
                                            UnsafeMutablePointer<Float>?) -> Void
        var forward: Forward { self == .f2x2 ? nsde_wino2_forward : nsde_wino4_forward }

        typealias BackwardWeights = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, Int64, Int64, Int64, Int64,
                                                    Int64, Int64, Int64, Int64, Int64, UnsafeMutablePointer<Float>?,
                                                    UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
        var backwardWeights: BackwardWeights { self == .f2x2 ? nsde_wino2_backward_weights : nsde_wino4_backward_weights }

        func weightGradient(_ du: UnsafePointer<Float>, _ g: Conv2DGeometry, _ dw: UnsafeMutablePointer<Float>) {
            let (o, c) = (Int64(g.outChannels), Int64(g.inChannels))
            if self == .f2x2 { nsde_wino2_weight_gradient(du, o, c, dw) } else { nsde_wino4_weight_gradient(du, o, c, dw) }
        }
    }

    /// Samples whose weight gradients are summed together before the blocks are added in order.
    static let weightGradientBlock = 16

    /// Whether the kernels run this convolution.
    static func supports(_ g: Conv2DGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && (g.padding == 0 || g.padding == 1)
            && g.inChannels % 16 == 0 && g.outChannels % 16 == 0 && g.outputHeight > 0 && g.outputWidth > 0
    }

    /// The tile the automatic choice uses: F(2x2, 3x3) below 32 input channels (16), where the
    /// transforms weigh most, F(4x4, 3x3) from 32.
    static func tile(for g: Conv2DGeometry) -> Tile { g.inChannels < 32 ? .f2x2 : .f4x4 }

    /// `output = input ⋆ weight + bias`: `input` `[N, C/16, H, W, 16]`, `weight` `[O, C, 3, 3]`,
    /// `bias` `[O]`, `output` `[N, O/16, Ho, Wo, 16]`.
    static func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, tile: Tile? = nil) {
        convolve(g, backwardData: false, source: input, weight: weight, bias: bias, destination: output, tile: tile)
    }

    /// The input gradient `[N, C/16, H, W, 16]` of ``forward(_:input:weight:bias:output:tile:)`` from
    /// the output gradient `[N, O/16, Ho, Wo, 16]`: the convolution of the output gradient with the
    /// flipped, transposed kernel, padded by `2 − padding`.
    static func backwardData(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             gradInput: UnsafeMutablePointer<Float>, tile: Tile? = nil) {
        convolve(g, backwardData: true, source: gradOutput, weight: weight, bias: nil, destination: gradInput, tile: tile)
    }

    /// The forward pass, or with `backwardData` the convolution of the output gradient with the
    /// flipped, transposed kernel (from O channels at Ho x Wo to C at H x W, padding 2 − padding).
    private static func convolve(_ g: Conv2DGeometry, backwardData: Bool, source: UnsafePointer<Float>,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 destination: UnsafeMutablePointer<Float>, tile: Tile?) {
        precondition(supports(g), "BlockedWinogradConvolution: unsupported \(g)")
        let tile = tile ?? self.tile(for: g)
        let u = TensorStorage(uninitializedCount: tile.positions * g.outChannels * g.inChannels)
        tile.transformWeights(weight, g, backwardData: backwardData, u.pointer)
        let (c, h, w) = backwardData ? (g.outChannels, g.outputHeight, g.outputWidth) : (g.inChannels, g.height, g.width)
        let (o, ho, wo) = backwardData ? (g.inChannels, g.height, g.width) : (g.outChannels, g.outputHeight, g.outputWidth)
        let pad = backwardData ? 2 - g.padding : g.padding
        let kernel = tile.forward
        run(g.batch, scratchFloats: tile.scratchFloats(c, o, wo)) { range, scratch in
            kernel(source, Int64(range.lowerBound), Int64(range.upperBound), Int64(c), Int64(h), Int64(w), u.pointer, bias,
                   Int64(o), Int64(ho), Int64(wo), Int64(pad), destination, scratch)
        }
        withExtendedLifetime(u) {}
    }

    /// The weight gradient `[O, C, 3, 3]` and, when `gradBias` is given, the bias gradient `[O]`,
    /// from the output gradient and the input (both blocked, as in ``forward(_:input:weight:bias:output:tile:)``).
    static func backwardWeights(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?,
                                tile: Tile? = nil) {
        precondition(supports(g), "BlockedWinogradConvolution: unsupported \(g)")
        let tile = tile ?? self.tile(for: g)
        let block = weightGradientBlock
        let blocks = (g.batch + block - 1) / block
        let transformed = tile.positions * g.inChannels * g.outChannels
        let perBlock = transformed + g.outChannels
        let partials = TensorStorage(count: blocks * perBlock, repeating: 0)
        let p = partials.pointer
        let kernel = tile.backwardWeights
        run(blocks, scratchFloats: tile.scratchFloats(g.inChannels, g.outChannels, g.outputWidth)) { range, scratch in
            for b in range {
                let du = p + b * perBlock
                kernel(input, gradOutput, Int64(b * block), Int64(min(g.batch, (b + 1) * block)), Int64(g.inChannels),
                       Int64(g.height), Int64(g.width), Int64(g.outChannels), Int64(g.outputHeight), Int64(g.outputWidth),
                       Int64(g.padding), du, gradBias == nil ? nil : du + transformed, scratch)
            }
        }
        // The blocks in order, into the first.
        for b in 1..<max(1, blocks) {
            nsde_add_inplace(p, p + b * perBlock, Int64(perBlock))
        }
        tile.weightGradient(p, g, gradWeight)
        if let gradBias { gradBias.update(from: p + transformed, count: g.outChannels) }
        withExtendedLifetime(partials) {}
    }

    /// Runs `body` on chunks of `0..<count` in parallel, each with a scratch buffer of its own.
    private static func run(_ count: Int, scratchFloats: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        Parallel.forEachChunk(count, grain: 1) { range in
            let scratch = TensorStorage(uninitializedCount: scratchFloats)
            body(range, scratch.pointer)
            withExtendedLifetime(scratch) {}
        }
    }
}
