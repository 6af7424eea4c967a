import CKernels

/// Conversions between NCHW and oneDNN's blocked activation layout `nChw16c` for channel counts
/// that are multiples of 16 (C kernels in `blocked_layout.c`): element (n, c, s) of a
/// `[N, C, H·W]` tensor sits at `((n · C/16 + c/16) · H·W + s) · 16 + c mod 16`. They replace
/// oneDNN's reorder primitives around the convolutions (pure data movement, 16 pixels of 16
/// channels per in-register transpose, so the same bits; in a model about as fast, both being
/// bound by memory traffic), and fold in the pass that follows or precedes the conversion: adding
/// a map broadcast over the batch on the way out, summing over the batch on the way in.
enum BlockedLayout {
    /// The sizes of an activation tensor: samples, channels (a multiple of 16), pixels per channel.
    struct Shape: Hashable, Sendable {
        let batch: Int, channels: Int, pixels: Int
        /// One sample's 16-channel block.
        var units: Int { batch * channels / 16 }
        /// Units per parallel chunk: about 32 K floats.
        var grain: Int { max(1, 32_768 / (16 * pixels)) }
    }

    /// `nChw16c → NCHW`, adding `addend` (`[C, H, W]`, broadcast over the batch) when given.
    static func unblock(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ shape: Shape,
                        adding addend: UnsafePointer<Float>? = nil) {
        Parallel.forEachChunk(shape.units, grain: shape.grain) { r in
            nsde_unblock16(src, dst, Int64(r.lowerBound), Int64(r.upperBound), Int64(shape.channels), Int64(shape.pixels), addend)
        }
    }

    /// `NCHW → nChw16c`.
    static func block(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ shape: Shape) {
        Parallel.forEachChunk(shape.units, grain: shape.grain) { r in
            nsde_block16(src, dst, Int64(r.lowerBound), Int64(r.upperBound), Int64(shape.channels), Int64(shape.pixels))
        }
    }

    /// `NCHW → nChw16c`, writing the sum over the batch of `src` into `sums` (`[C, H, W]`, each
    /// element summed in double in sample order: the bits of ``Reduction/reduce(_:axis:_:)``).
    static func block(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ shape: Shape,
                      sums: UnsafeMutablePointer<Float>) {
        // Tasks: (channel block, pixel range), each streaming through every sample; the ranges
        // are whole 16-pixel tiles, as many per block as there are threads.
        let blocks = shape.channels / 16
        let tiles = (shape.pixels + 15) / 16
        let ranges = max(1, min(tiles, Parallel.threadCount))
        Parallel.forEachChunk(blocks * ranges, grain: 1) { r in
            for task in r {
                let block = task / ranges, k = task % ranges
                let begin = min(shape.pixels, tiles * k / ranges * 16), end = min(shape.pixels, tiles * (k + 1) / ranges * 16)
                guard begin < end else { continue }
                nsde_block16_summing(src, dst, Int64(shape.batch), Int64(shape.channels), Int64(shape.pixels), Int64(block),
                                     Int64(begin), Int64(end), sums)
            }
        }
    }

    // MARK: Tensors in nChw16c

    /// `[N, C/16, H, W, 16]`, the shape under which an `nChw16c` buffer of the NCHW shape
    /// `[N, C, H, W]` travels as a tensor.
    static func blockedShape(_ shape: [Int]) -> [Int] {
        precondition(shape.count == 4 && shape[1] % 16 == 0, "nChw16c: expected [N, C, H, W] with C a multiple of 16, got \(shape)")
        return [shape[0], shape[1] / 16, shape[2], shape[3], 16]
    }

    /// `[N, C, H, W]` for a blocked tensor's shape `[N, C/16, H, W, 16]`.
    static func logicalShape(_ shape: [Int]) -> [Int] {
        precondition(shape.count == 5 && shape[4] == 16, "nChw16c: expected [N, C/16, H, W, 16], got \(shape)")
        return [shape[0], shape[1] * 16, shape[2], shape[3]]
    }

    /// The sizes of an NCHW shape.
    static func sizes(_ shape: [Int]) -> Shape {
        Shape(batch: shape[0], channels: shape[1], pixels: shape[2] * shape[3])
    }

    /// An NCHW tensor in `nChw16c` (`[N, C/16, H, W, 16]`; not differentiable).
    static func blocked(_ x: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: blockedShape(x.shape))
        block(x.storage.pointer, out.storage.pointer, sizes(x.shape))
        withExtendedLifetime(x) {}
        return out
    }

    /// A blocked tensor back in NCHW, plus `addend` (`[1, C, H, W]`, broadcast over the batch) when
    /// given (not differentiable).
    static func unblocked(_ x: Tensor, adding addend: Tensor? = nil) -> Tensor {
        let shape = logicalShape(x.shape)
        let out = Tensor(uninitializedShape: shape)
        unblock(x.storage.pointer, out.storage.pointer, sizes(shape), adding: addend?.storage.pointer)
        withExtendedLifetime((x, addend)) {}
        return out
    }

    /// One sample's `nChw16c` block (`[C/16, H, W, 16]` floats, as an input addend is kept) back as
    /// an NCHW `[1, C, H, W]` tensor, for the samples of the blocked tensor `x`; `nil` for `nil`.
    static func unblockedMap(_ block: TensorStorage?, of x: Tensor) -> Tensor? {
        block.map { unblocked(Tensor(shape: [1] + x.shape.dropFirst(), storage: $0)) }
    }

    /// The sum over the batch of a blocked tensor, as an NCHW `[1, C, H, W]` tensor: each element
    /// summed in double in sample order (``Reduction``'s order), then converted.
    static func batchSum(_ x: Tensor) -> Tensor {
        let shape = logicalShape(x.shape), perSample = x.count / shape[0]
        let sums = Tensor(uninitializedShape: [1] + x.shape.dropFirst())
        let src = x.storage.pointer, dst = sums.storage.pointer
        Parallel.forEachChunk(perSample, grain: 4_096) { r in
            nsde_sum_rows(src, Int64(shape[0]), Int64(perSample), Int64(r.lowerBound), Int64(r.upperBound), dst)
        }
        withExtendedLifetime(x) {}
        return unblocked(sums)
    }
}

// MARK: - Euler–Maruyama updates with increments in NCHW order

extension BlockedLayout {
    /// `nsde_em_update_blocked` over every unit of the state `y` (`[N, C/16, H, W, 16]`), with the
    /// drift `f` in the same layout and `increments` in NCHW order.
    static func eulerMaruyamaUpdate(_ y: Tensor, drift f: Tensor, increments dW: Tensor, noise: nsde_blocked_noise,
                                    dt: Float, sigma: Float) -> Tensor {
        let shape = sizes(logicalShape(y.shape))
        let out = Tensor(uninitializedShape: y.shape)
        let yp = y.storage.pointer, fp = f.storage.pointer, wp = dW.storage.pointer, op = out.storage.pointer
        Parallel.forEachChunk(shape.units, grain: shape.grain) { r in
            nsde_em_update_blocked(noise, yp, fp, wp, op, Int64(r.lowerBound), Int64(r.upperBound), Int64(shape.channels),
                                   Int64(shape.pixels), dt, sigma)
        }
        withExtendedLifetime((y, f, dW)) {}
        return out
    }

    /// `nsde_em_pullback_blocked` of the upstream gradient `a` (`[N, C/16, H, W, 16]`): for
    /// multiplicative noise the state's gradient (and with `drift` the drift's), for dropout the
    /// drift's (the state's is `a`).
    static func eulerMaruyamaPullback(_ a: Tensor, increments dW: Tensor, noise: nsde_blocked_noise, drift: Bool,
                                      dt: Float, sigma: Float) -> (state: Tensor?, drift: Tensor?) {
        let shape = sizes(logicalShape(a.shape))
        let state = noise == NSDE_BLOCKED_MULTIPLICATIVE ? Tensor(uninitializedShape: a.shape) : nil
        let driftOut = drift ? Tensor(uninitializedShape: a.shape) : nil
        let ap = a.storage.pointer, wp = dW.storage.pointer, sp = state?.storage.pointer, dp = driftOut?.storage.pointer
        Parallel.forEachChunk(shape.units, grain: shape.grain) { r in
            nsde_em_pullback_blocked(noise, ap, wp, sp, dp, Int64(r.lowerBound), Int64(r.upperBound), Int64(shape.channels),
                                     Int64(shape.pixels), dt, sigma)
        }
        withExtendedLifetime((a, dW)) {}
        return (state, driftOut)
    }
}
