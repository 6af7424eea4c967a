import CKernels

/// Winograd F(2x2, 3x3) convolutions on oneDNN's blocked layout `nChw16c` (C kernels in
/// `blocked_winograd.c`): 3x3 kernels, stride 1, padding 0 or 1, input and output channel counts
/// that are multiples of 16. A pixel's 16 channels are one vector, so the tile transforms are
/// vector additions and each of the 16 tile positions is a 16x16-block product of broadcast
/// multiply-adds: 2.25x fewer multiplications than a direct convolution, and no layout change.
///
/// It is the automatic backend's choice for the narrow 3x3 convolutions (16 to 63 input channels)
/// on processors where oneDNN runs AVX-512 kernels (``ConvolutionBackend/blockedWinograd``).
/// Measured with a C harness on a 2-core AMD EPYC (Zen 4 family, AVX-512), one thread, 16 → 16
/// channels at 26x26, 16 samples: forward 0.30 ms, backward-data 0.31 ms, backward-weights 0.33 ms
/// against oneDNN's direct `jit:avx512_core` kernels' 0.50 / 0.43 / 0.48 ms (their `DNNL_VERBOSE`
/// times in the demo's training step).
///
/// Values: the transforms add in a fixed order and the products are fused multiply-adds over the
/// input channels in order, so a result depends on neither the instruction-set level nor the
/// thread count (the weight gradient sums fixed blocks of ``weightGradientBlock`` samples, then
/// the blocks in order). They agree with a direct convolution to rounding (the transforms' ½
/// factors are exact).
enum BlockedWinogradConvolution {
    /// Samples whose weight gradients are summed together before the blocks are added in order.
    static let weightGradientBlock = 8

    /// Whether the kernels run this convolution.
    static func supports(_ g: Conv2DGeometry) -> Bool {
        g.kernelHeight == 3 && g.kernelWidth == 3 && g.stride == 1 && (g.padding == 0 || g.padding == 1)
            && g.inChannels % 16 == 0 && g.outChannels % 16 == 0 && g.outputHeight > 0 && g.outputWidth > 0
    }

    /// `output = input ⋆ weight + bias`: `input` `[N, C/16, H, W, 16]`, `weight` `[O, C, 3, 3]`,
    /// `bias` `[O]`, `output` `[N, O/16, Ho, Wo, 16]`.
    static func forward(_ g: Conv2DGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        precondition(supports(g), "BlockedWinogradConvolution: unsupported \(g)")
        let u = TensorStorage(uninitializedCount: 16 * g.outChannels * g.inChannels)
        nsde_wino2_weights(weight, Int64(g.outChannels), Int64(g.inChannels), 0, u.pointer)
        run(g.batch) { range, scratch in
            nsde_wino2_forward(input, Int64(range.lowerBound), Int64(range.upperBound), Int64(g.inChannels), Int64(g.height),
                               Int64(g.width), u.pointer, bias, Int64(g.outChannels), Int64(g.outputHeight),
                               Int64(g.outputWidth), Int64(g.padding), output, scratch)
        } scratchFloats: { nsde_wino2_scratch_floats(Int64(g.inChannels), Int64(g.outChannels), Int64(g.outputWidth)) }
        withExtendedLifetime(u) {}
    }

    /// The input gradient `[N, C/16, H, W, 16]` of ``forward(_:input:weight:bias:output:)`` from the
    /// output gradient `[N, O/16, Ho, Wo, 16]`: the convolution of the output gradient with the
    /// flipped, transposed kernel, padded by `2 − padding`.
    static func backwardData(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                             gradInput: UnsafeMutablePointer<Float>) {
        precondition(supports(g), "BlockedWinogradConvolution: unsupported \(g)")
        let u = TensorStorage(uninitializedCount: 16 * g.outChannels * g.inChannels)
        nsde_wino2_weights(weight, Int64(g.outChannels), Int64(g.inChannels), 1, u.pointer)
        run(g.batch) { range, scratch in
            nsde_wino2_forward(gradOutput, Int64(range.lowerBound), Int64(range.upperBound), Int64(g.outChannels),
                               Int64(g.outputHeight), Int64(g.outputWidth), u.pointer, nil, Int64(g.inChannels),
                               Int64(g.height), Int64(g.width), Int64(2 - g.padding), gradInput, scratch)
        } scratchFloats: { nsde_wino2_scratch_floats(Int64(g.outChannels), Int64(g.inChannels), Int64(g.width)) }
        withExtendedLifetime(u) {}
    }

    /// The weight gradient `[O, C, 3, 3]` and, when `gradBias` is given, the bias gradient `[O]`,
    /// from the output gradient and the input (both blocked, as in ``forward(_:input:weight:bias:output:)``).
    static func backwardWeights(_ g: Conv2DGeometry, gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                gradWeight: UnsafeMutablePointer<Float>, gradBias: UnsafeMutablePointer<Float>?) {
        precondition(supports(g), "BlockedWinogradConvolution: unsupported \(g)")
        let block = weightGradientBlock
        let blocks = (g.batch + block - 1) / block
        let perBlock = 16 * g.inChannels * g.outChannels + g.outChannels
        let partials = TensorStorage(count: blocks * perBlock, repeating: 0)
        let p = partials.pointer
        run(blocks) { range, scratch in
            for b in range {
                let du = p + b * perBlock
                nsde_wino2_backward_weights(input, gradOutput, Int64(b * block), Int64(min(g.batch, (b + 1) * block)),
                                            Int64(g.inChannels), Int64(g.height), Int64(g.width), Int64(g.outChannels),
                                            Int64(g.outputHeight), Int64(g.outputWidth), Int64(g.padding), du,
                                            gradBias == nil ? nil : du + perBlock - g.outChannels, scratch)
            }
        } scratchFloats: { nsde_wino2_scratch_floats(Int64(g.inChannels), Int64(g.outChannels), Int64(g.outputWidth)) }
        // The blocks in order, into the first.
        for b in 1..<max(1, blocks) {
            nsde_add_inplace(p, p + b * perBlock, Int64(perBlock))
        }
        nsde_wino2_weight_gradient(p, Int64(g.outChannels), Int64(g.inChannels), gradWeight)
        if let gradBias { gradBias.update(from: p + perBlock - g.outChannels, count: g.outChannels) }
        withExtendedLifetime(partials) {}
    }

    /// Runs `body` on chunks of `0..<count` in parallel, each with a scratch buffer of its own.
    private static func run(_ count: Int, _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void,
                            scratchFloats: () -> Int64) {
        let floats = Int(scratchFloats())
        Parallel.forEachChunk(count, grain: 1) { range in
            let scratch = TensorStorage(uninitializedCount: floats)
            body(range, scratch.pointer)
            withExtendedLifetime(scratch) {}
        }
    }
}
