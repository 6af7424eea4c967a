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
}
