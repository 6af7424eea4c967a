import CKernels
/// Random tensors from the Philox-4x32-10 counter-based generator.
///
/// Every random tensor is a pure function of `(shape, distribution parameters, seed, stream,
/// offset)`. The exact element-to-counter mapping, common to the three distributions, is:
///
/// - element `i` (row-major) uses Philox block `offset + i / 4` of `(seed, stream)`, that is
///   `Philox4x32(seed: seed).block(index: offset + UInt64(i / 4), stream: stream)`, which returns
///   the words `(x0, x1, x2, x3)`; the last block may be only partly used;
/// - uniform: element `4b + j` is `low + (high - low) * u(xj)` with `u(x) = Float(x >> 8) * 2^-24`,
///   clamped to at most `high.nextDown`;
/// - Bernoulli: element `4b + j` is `1` when `u(xj) < p`, else `0`;
/// - normal (Box–Muller on word pairs): elements `4b + 0, 4b + 1` are `r cos θ, r sin θ` from
///   `(x0, x1)` and elements `4b + 2, 4b + 3` the same from `(x2, x3)`, with
///   `r = sqrt(-2 ln(Float(xa) * 2^-32 + 2^-33))` and `θ = 2π (xb >> 8) / 2^24`, then `mean + std * z`
///   (`ln`, `cos`, `sin` are fixed Cephes-style polynomials, accurate to about 1e-7; the square
///   root is IEEE).
///
/// So a tensor of `count` elements consumes `ceil(count / 4)` blocks (see
/// ``Tensor/philoxBlocks(forNormalCount:)``), and a draw at `offset + k` regenerates the
/// elements from `4k` on of a draw at `offset`. The work is split across ``Parallel/threadCount``
/// threads at block boundaries and the math uses only IEEE basic operations (fixed polynomial
/// `log`, `sin`, `cos`; no libm), so results are bit-identical whatever the thread count and on
/// every platform.
extension Tensor {
    /// A tensor of normal values `mean + std * z`, `z` standard normal (Box–Muller).
    ///
    /// Element `i` uses Philox block `offset + i / 4` of `(seed, stream)`: the block's words
    /// `(x0, x1)` give elements `4b, 4b + 1` and `(x2, x3)` give `4b + 2, 4b + 3` (see the
    /// mapping at the top of this file). Consumes ``philoxBlocks(forNormalCount:)`` blocks.
    /// Deterministic and independent of the thread count. The radius is bounded
    /// (|z| <= 6.77), which only matters for tail probabilities below about 1e-11.
    ///
    /// - Parameters:
    ///   - shape: the shape of the result.
    ///   - mean: the mean of every element.
    ///   - std: the standard deviation of every element (may be 0 or negative: the values are
    ///     `mean + std * z` either way).
    ///   - seed: the Philox key.
    ///   - stream: selects an independent sequence for the same seed.
    ///   - offset: the first Philox block used.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64,
                                    stream: UInt64 = 0, offset: UInt64 = 0) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        fillRandomNormal(out.storage.pointer, count: out.count, mean: mean, std: std,
                         seed: seed, stream: stream, offset: offset)
        return out
    }

    /// Rows `rows.range` of a normal draw over the whole batch: equal to
    /// `randomNormal([rows.batch] + shape.dropFirst(), …)` restricted to those rows along axis 0,
    /// but drawing only them. This is how a shard of a batch (see ``BatchRows``) gets the noise
    /// its samples would get in the whole batch.
    ///
    /// - Parameter shape: the shard's shape; `shape[0]` must equal `rows.range.count`.
    public static func randomNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, seed: UInt64,
                                    stream: UInt64 = 0, offset: UInt64 = 0, rows: BatchRows) -> Tensor {
        precondition(shape.first == rows.range.count,
                     "Tensor.randomNormal: shape \(shape) does not hold the \(rows.range.count) rows \(rows.range)")
        let perRow = shape.dropFirst().reduce(1, *)
        let skip = rows.range.lowerBound * perRow
        let first = offset &+ UInt64(skip / 4), lead = skip % 4
        let out = Tensor(uninitializedShape: shape)
        if lead == 0 {
            fillRandomNormal(out.storage.pointer, count: out.count, mean: mean, std: std, seed: seed, stream: stream,
                             offset: first)
        } else {
            // The shard starts inside a Philox block: draw from the block's start, drop the lead.
            let padded = UnsafeMutablePointer<Float>.allocate(capacity: out.count + lead)
            defer { padded.deallocate() }
            fillRandomNormal(padded, count: out.count + lead, mean: mean, std: std, seed: seed, stream: stream,
                             offset: first)
            out.storage.pointer.update(from: padded + lead, count: out.count)
        }
        return out
    }

    /// Draw number `index` of a sequence of equal-sized normal draws (draw k starts at Philox block
    /// k·B, B the blocks of one draw of the whole batch), or with `rows` those rows of it: the
    /// increments of a Brownian path regenerated per step (``BatchRows``: a shard's samples get the
    /// values they get in the whole batch).
    public static func randomNormal(_ shape: [Int], std: Float = 1, seed: UInt64, stream: UInt64, drawIndex index: UInt64,
                                    rows: BatchRows?) -> Tensor {
        guard let rows else {
            let blocks = philoxBlocks(forNormalCount: shape.reduce(1, *))
            return randomNormal(shape, std: std, seed: seed, stream: stream, offset: index &* blocks)
        }
        let blocks = philoxBlocks(forNormalCount: rows.batch * shape.dropFirst().reduce(1, *))
        return randomNormal(shape, std: std, seed: seed, stream: stream, offset: index &* blocks, rows: rows)
    }

    /// A tensor of uniform values `low + (high - low) * u`, `u` uniform on the 2^24 multiples of
    /// 2^-24 in `[0, 1)`, clamped below `high` so every value lies in `[low, high)` (exactly
    /// `low` when `low == high`).
    ///
    /// Element `i` uses word `i % 4` of Philox block `offset + i / 4` of `(seed, stream)`.
    /// Consumes ``philoxBlocks(forUniformCount:)`` blocks. Deterministic and independent of the
    /// thread count. Requires `low <= high`.
    public static func randomUniform(_ shape: [Int], low: Float = 0, high: Float = 1, seed: UInt64,
                                     stream: UInt64 = 0, offset: UInt64 = 0) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        fillRandomUniform(out.storage.pointer, count: out.count, low: low, high: high,
                          seed: seed, stream: stream, offset: offset)
        return out
    }

    /// A tensor of independent Bernoulli values: `1` with probability `p`, else `0`.
    ///
    /// Element `i` is `1` exactly when `u < p`, where `u = (x >> 8) * 2^-24` and `x` is word
    /// `i % 4` of Philox block `offset + i / 4` of `(seed, stream)` (the same `u` as
    /// ``randomUniform(_:low:high:seed:stream:offset:)``), so `p` is effectively rounded up to a
    /// multiple of 2^-24; `p = 0` gives all zeros and `p = 1` all ones. Consumes
    /// ``philoxBlocks(forUniformCount:)`` blocks. Requires `0 <= p <= 1`.
    public static func randomBernoulli(_ shape: [Int], probability p: Float, seed: UInt64,
                                       stream: UInt64 = 0, offset: UInt64 = 0) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        fillRandomBernoulli(out.storage.pointer, count: out.count, probability: p,
                            seed: seed, stream: stream, offset: offset)
        return out
    }

    /// Number of Philox blocks a normal draw of `count` elements consumes: `ceil(count / 4)`.
    /// Draws at offsets `o` and `o + philoxBlocks(forNormalCount: n)` use disjoint counters.
    @inlinable
    public static func philoxBlocks(forNormalCount count: Int) -> UInt64 {
        precondition(count >= 0, "Tensor.philoxBlocks: negative count \(count)")
        return UInt64((count + 3) / 4)
    }

    /// Number of Philox blocks a uniform or Bernoulli draw of `count` elements consumes:
    /// `ceil(count / 4)`.
    @inlinable
    public static func philoxBlocks(forUniformCount count: Int) -> UInt64 {
        precondition(count >= 0, "Tensor.philoxBlocks: negative count \(count)")
        return UInt64((count + 3) / 4)
    }

    // MARK: - Filling raw buffers

    /// Writes `count` normal values into `out`, exactly the elements of
    /// ``randomNormal(_:mean:std:seed:stream:offset:)`` for a tensor of `count` elements (for
    /// kernels that fill an existing buffer, such as scaled Brownian increments `std = sqrt(dt)`).
    /// Runs in parallel; bit-identical whatever the thread count.
    public static func fillRandomNormal(_ out: UnsafeMutablePointer<Float>, count: Int,
                                        mean: Float = 0, std: Float = 1, seed: UInt64,
                                        stream: UInt64 = 0, offset: UInt64 = 0) {
        let key = Philox4x32(seed: seed)
        // The C kernel batches its blocks itself: one call per thread's chunk.
        PhiloxKernels.run(count: count, batchBlocks: Int.max) { firstBlock, blocks, dst in
            PhiloxKernels.normal(key: key, stream: stream, firstBlock: offset &+ UInt64(firstBlock),
                                 blocks: blocks, mean: mean, std: std, out: dst)
        } output: { out + $0 }
    }

    /// Writes `count` uniform values into `out`, exactly the elements of
    /// ``randomUniform(_:low:high:seed:stream:offset:)`` for a tensor of `count` elements.
    public static func fillRandomUniform(_ out: UnsafeMutablePointer<Float>, count: Int,
                                         low: Float = 0, high: Float = 1, seed: UInt64,
                                         stream: UInt64 = 0, offset: UInt64 = 0) {
        precondition(low <= high, "Tensor.randomUniform: low \(low) must not exceed high \(high)")
        precondition(low.isFinite && high.isFinite, "Tensor.randomUniform: bounds must be finite")
        let key = Philox4x32(seed: seed)
        let span = high - low
        precondition(span.isFinite, "Tensor.randomUniform: high - low overflows Float")
        let limit = high > low ? high.nextDown : high
        PhiloxKernels.run(count: count) { firstBlock, blocks, dst in
            PhiloxKernels.uniform(key: key, stream: stream, firstBlock: offset &+ UInt64(firstBlock),
                                  blocks: blocks, low: low, span: span, limit: limit, out: dst)
        } output: { out + $0 }
    }

    /// Writes `count` Bernoulli values (0 or 1) into `out`, exactly the elements of
    /// ``randomBernoulli(_:probability:seed:stream:offset:)`` for a tensor of `count` elements.
    public static func fillRandomBernoulli(_ out: UnsafeMutablePointer<Float>, count: Int,
                                           probability p: Float, seed: UInt64,
                                           stream: UInt64 = 0, offset: UInt64 = 0) {
        precondition(p >= 0 && p <= 1, "Tensor.randomBernoulli: probability \(p) is not in [0, 1]")
        let key = Philox4x32(seed: seed)
        // u = k * 2^-24 < p  <=>  k < ceil(p * 2^24), exactly (p * 2^24 is exact in Double).
        let threshold = UInt32((Double(p) * 16_777_216).rounded(.up))
        PhiloxKernels.run(count: count) { firstBlock, blocks, dst in
            PhiloxKernels.bernoulli(key: key, stream: stream, firstBlock: offset &+ UInt64(firstBlock),
                                    blocks: blocks, threshold: threshold, out: dst)
        } output: { out + $0 }
    }
}

extension PhiloxGenerator {
    /// Draws a normal tensor (`mean + std * z`) starting at block ``counter`` and advances the
    /// counter past the ``Tensor/philoxBlocks(forNormalCount:)`` blocks used. Equal to
    /// `Tensor.randomNormal(shape, mean: mean, std: std, seed: seed, stream: stream,
    /// offset: counter)` with the counter before the call; unused words of a partly used block
    /// from earlier scalar draws are skipped.
    public mutating func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        let t = Tensor.randomNormal(shape, mean: mean, std: std, seed: seed, stream: stream, offset: counter)
        counter = counter &+ Tensor.philoxBlocks(forNormalCount: t.count)
        return t
    }

    /// Draws a uniform tensor in `[low, high)` starting at block ``counter`` and advances the
    /// counter past the blocks used; equal to `Tensor.randomUniform(shape, low: low, high: high,
    /// seed: seed, stream: stream, offset: counter)`.
    public mutating func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        let t = Tensor.randomUniform(shape, low: low, high: high, seed: seed, stream: stream, offset: counter)
        counter = counter &+ Tensor.philoxBlocks(forUniformCount: t.count)
        return t
    }

    /// Draws a 0/1 Bernoulli tensor (1 with probability `probability`) starting at block
    /// ``counter`` and advances the counter past the blocks used; equal to
    /// `Tensor.randomBernoulli(shape, probability: probability, seed: seed, stream: stream,
    /// offset: counter)`.
    public mutating func bernoulli(_ shape: [Int], probability: Float) -> Tensor {
        let t = Tensor.randomBernoulli(shape, probability: probability, seed: seed, stream: stream, offset: counter)
        counter = counter &+ Tensor.philoxBlocks(forUniformCount: t.count)
        return t
    }
}

// MARK: - Kernels

/// Batched Philox kernels: each computes `blocks` consecutive blocks and writes `4 * blocks`
/// values. The per-lane loops have no cross-lane dependences, so LLVM vectorises them.
enum PhiloxKernels {
    /// Blocks per parallel grain (32 768 elements).
    static let grainBlocks = 8_192
    /// Blocks per inner batch.
    static let batchBlocks = 64

    /// Splits `count` elements into block-aligned chunks across threads and batches of
    /// `batchBlocks` blocks (default ``batchBlocks``). `kernel(firstBlock, blocks, dst)` writes
    /// `4 * blocks` values to `dst`; full batches write straight to `output(4 * firstBlock)`, and
    /// the final, partial block goes through a scratch buffer. Chunk and batch boundaries do not
    /// change any value, because each value depends only on its block index.
    @inline(__always)
    static func run(count: Int, batchBlocks: Int = PhiloxKernels.batchBlocks, _ kernel: (Int, Int, UnsafeMutablePointer<Float>) -> Void,
                    output: (Int) -> UnsafeMutablePointer<Float>) {
        precondition(count >= 0, "random fill: negative count \(count)")
        if count == 0 { return }
        let fullBlocks = count / 4
        let tail = count % 4
        if fullBlocks > 0 {
            Parallel.forEachChunk(fullBlocks, grain: grainBlocks) { range in
                var b = range.lowerBound
                while b < range.upperBound {
                    let n = min(batchBlocks, range.upperBound - b)
                    kernel(b, n, output(4 * b))
                    b += n
                }
            }
        }
        if tail > 0 {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 4) { scratch in
                kernel(fullBlocks, 1, scratch.baseAddress!)
                output(4 * fullBlocks).update(from: scratch.baseAddress!, count: tail)
            }
        }
    }

    /// Computes blocks `firstBlock ..< firstBlock + blocks` of `stream` in structure-of-arrays
    /// form: `words[j * batchBlocks + i]` is word `j` of block `firstBlock + i`.
    @inline(__always)
    static func blocks(key: Philox4x32, stream: UInt64, firstBlock: UInt64, count n: Int,
                       words: UnsafeMutablePointer<UInt32>) {
        let s0 = UInt32(truncatingIfNeeded: stream), s1 = UInt32(truncatingIfNeeded: stream >> 32)
        let w0 = words, w1 = words + batchBlocks, w2 = words + 2 * batchBlocks, w3 = words + 3 * batchBlocks
        let base0 = UInt32(truncatingIfNeeded: firstBlock), base1 = UInt32(truncatingIfNeeded: firstBlock >> 32)
        let m0 = UInt64(Philox4x32.m0), m1 = UInt64(Philox4x32.m1)
        // Round keys: loop-invariant scalars. All ten rounds run on one lane in registers, and
        // the lane loop vectorises.
        let ka = key.key0, kb = key.key1, wa = Philox4x32.w0, wb = Philox4x32.w1
        @inline(__always) func round(_ c0: inout UInt32, _ c1: inout UInt32, _ c2: inout UInt32, _ c3: inout UInt32, _ ka: UInt32, _ kb: UInt32) {
            let p0 = m0 &* UInt64(c0)
            let p1 = m1 &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ ka
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ kb
            c1 = UInt32(truncatingIfNeeded: p1)
            c3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0
            c2 = n2
        }
        for i in 0..<n {
            var c0 = base0 &+ UInt32(truncatingIfNeeded: i)
            var c1 = c0 < base0 ? base1 &+ 1 : base1
            var c2 = s0, c3 = s1
            round(&c0, &c1, &c2, &c3, ka &+ 0 &* wa, kb &+ 0 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 1 &* wa, kb &+ 1 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 2 &* wa, kb &+ 2 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 3 &* wa, kb &+ 3 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 4 &* wa, kb &+ 4 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 5 &* wa, kb &+ 5 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 6 &* wa, kb &+ 6 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 7 &* wa, kb &+ 7 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 8 &* wa, kb &+ 8 &* wb)
            round(&c0, &c1, &c2, &c3, ka &+ 9 &* wa, kb &+ 9 &* wb)
            w0[i] = c0; w1[i] = c1; w2[i] = c2; w3[i] = c3
        }
    }

    /// Normal values, Box–Muller on words (0, 1) and (2, 3) of each block: `r = sqrt(-2 log u)`
    /// with ``PhiloxMath/log(_:)`` and ``PhiloxMath/cosSinTurn24(_:)`` (the C kernel
    /// `nsde_philox_normal`, compiled per instruction set, performs exactly these operations).
    static func normal(key: Philox4x32, stream: UInt64, firstBlock: UInt64, blocks n: Int,
                       mean: Float, std: Float, out: UnsafeMutablePointer<Float>) {
        nsde_philox_normal(key.key0, key.key1, stream, firstBlock, Int64(n), mean, std, out)
    }

    /// Uniform values `min(low + span * u, limit)`, `u = (x >> 8) * 2^-24`.
    static func uniform(key: Philox4x32, stream: UInt64, firstBlock: UInt64, blocks n: Int,
                        low: Float, span: Float, limit: Float, out: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4 * batchBlocks) { buf in
            let words = buf.baseAddress!
            blocks(key: key, stream: stream, firstBlock: firstBlock, count: n, words: words)
            for j in 0..<4 {
                let w = words + j * batchBlocks
                for i in 0..<n {
                    let u = Float(Int32(bitPattern: w[i] >> 8)) * 0x1p-24
                    let v = low + span * u
                    out[4 * i + j] = v < limit ? v : limit
                }
            }
        }
    }

    /// Bernoulli values: 1 where `x >> 8 < threshold`, else 0.
    static func bernoulli(key: Philox4x32, stream: UInt64, firstBlock: UInt64, blocks n: Int,
                          threshold: UInt32, out: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4 * batchBlocks) { buf in
            let words = buf.baseAddress!
            blocks(key: key, stream: stream, firstBlock: firstBlock, count: n, words: words)
            for j in 0..<4 {
                let w = words + j * batchBlocks
                for i in 0..<n {
                    // Branch-free: (w >> 8) - threshold is negative exactly when u < p (both are < 2^25).
                    let mask = UInt32(bitPattern: Int32(bitPattern: (w[i] >> 8) &- threshold) >> 31)
                    out[4 * i + j] = Float(bitPattern: mask & 0x3F80_0000)
                }
            }
        }
    }
}
