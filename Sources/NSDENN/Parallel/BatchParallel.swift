import NSDETensor

/// One shard of a batch inside ``BatchParallel/run(batch:rows:shards:_:)``: which rows of the batch it
/// holds and what share of a batch mean they carry.
public struct BatchShard: Sendable, CustomStringConvertible {
    /// The shard's number, `0..<count`.
    public let index: Int
    /// How many shards the batch is split into.
    public let count: Int
    /// The rows (samples) of the batch this shard holds.
    public let rows: BatchRows

    /// The shard's samples as a fraction of the batch: a mean over the shard times this is the
    /// shard's share of the mean over the batch (scale a per-shard mean loss by it).
    public var fraction: Float { Float(rows.range.count) / Float(rows.batch) }

    /// The shard the calling thread is running, or `nil` outside ``BatchParallel/run(batch:rows:shards:_:)``.
    /// Solvers read it to draw each sample's Brownian noise as the whole batch would
    /// (`sdeint` with a grid or interval Brownian motion whose first axis has the shard's size).
    @TaskLocal public static var current: BatchShard?

    /// This shard's rows of `batch`, a tensor holding the whole batch along axis 0 (`batch` itself
    /// when the shard holds the whole batch).
    public func slice(_ batch: Tensor) -> Tensor {
        precondition(batch.shape.first == rows.batch, "BatchShard.slice: \(batch.shape) does not hold a batch of \(rows.batch)")
        return rows.range.count < rows.batch ? batch.rows(rows.range) : batch
    }

    /// `rows` when a tensor of `shape` holds this shard's samples along axis 0 (and they are not
    /// the whole batch), else `nil`.
    public func rows(forShape shape: [Int]) -> BatchRows? {
        rows.range.count < rows.batch && shape.first == rows.range.count ? rows : nil
    }

    public var description: String { "shard \(index + 1) of \(count) (\(rows))" }
}

/// Data parallelism inside one process: a batch is split into contiguous shards that run at the
/// same time, one per thread, each with single-threaded kernels.
///
/// Small per-sample work (a 16-channel convolution on 28x28 images, a 64-dimensional MLP) does not
/// keep two cores busy when each operation is split across threads: the threads meet after every
/// operation. Running half of the batch on each core end to end, and adding the two halves'
/// gradients at the end, does.
///
/// Inside a shard:
/// - every ``Parameter/value`` read is a leaf of the shard's own (so the shards' backward passes
///   never write to the same gradient); after all shards finish, each parameter's gradient
///   gains the sum of the shards' gradients, added in shard order, so results are bit-identical
///   from run to run for a given shard count (any other tensor that requires a gradient, such as
///   an input every shard slices, stays one leaf for all shards: the tape serialises the shards'
///   additions into it, in the order they finish, which changes the bits only where two shards
///   add into the same element);
/// - ``Parallel/threadCount`` is 1;
/// - ``BatchShard/current`` tells solvers which rows of the batch the shard holds, so the
///   Brownian increments of every sample are those of the unsplit batch.
///
/// The result equals the unsplit computation up to the order of floating-point sums (the weight
/// gradients and batch means are added per shard, then across shards).
///
/// ```swift
/// let stream = model.reserveNoiseStream()
/// let losses = try BatchParallel.run(batch: images.shape[0]) { shard in
///     let logits = try model.forward(shard.slice(images), noiseStream: stream)
///     let loss = crossEntropy(logits: logits, labels: Array(labels[shard.rows.range])) * shard.fraction
///     loss.backward()
///     return loss.item
/// }
/// ```
///
/// The body must not change state shared between shards (module attributes, optimisers), and
/// must not use forward-mode tangents on parameters (the shard's leaves carry none).
public enum BatchParallel {
    /// Runs `body` once per shard of `rows` (default: the whole batch `0..<batch`), concurrently
    /// on the kernel threads, and returns the shards' results in shard order.
    ///
    /// - Parameters:
    ///   - batch: the number of samples (≥ 1).
    ///   - rows: the part of the batch this process runs (non-empty, inside `0..<batch`): in a
    ///     data-parallel job each process runs its rows of the global batch, and every shard's
    ///     ``BatchShard/rows`` (and so its noise and ``BatchShard/fraction``) refers to the
    ///     global batch.
    ///   - shards: how many shards; default ``defaultShardCount(batch:)`` of the rows; capped at
    ///     their count. With one shard over the whole batch `body` runs directly on the calling
    ///     thread with the full thread count.
    /// - Throws: the first error (in shard order) that a shard threw; the parameters' gradients are
    ///   then unchanged.
    public static func run<R>(batch: Int, rows: Range<Int>? = nil, shards: Int? = nil,
                              _ body: (BatchShard) throws -> R) throws -> [R] {
        precondition(batch >= 1, "BatchParallel.run: batch must be at least 1, got \(batch)")
        let part = rows ?? 0..<batch
        precondition(!part.isEmpty && part.lowerBound >= 0 && part.upperBound <= batch,
                     "BatchParallel.run: rows \(part) are not a non-empty part of a batch of \(batch)")
        let count = min(max(shards ?? defaultShardCount(batch: part.count), 1), part.count)
        func shardRows(_ i: Int) -> BatchRows {
            let r = shardRange(i, of: count, batch: part.count)
            return BatchRows((part.lowerBound + r.lowerBound)..<(part.lowerBound + r.upperBound), of: batch)
        }
        if count == 1 {
            let shard = BatchShard(index: 0, count: 1, rows: shardRows(0))
            if part.count == batch { return [try body(shard)] }
            // A part of the batch: the shard's rows select its noise (gradients go straight to the parameters).
            return [try BatchShard.$current.withValue(shard) { try body(shard) }]
        }
        let leaves = (0..<count).map { _ in ShardLeaves() }
        var results = [Result<R, Error>?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.forEachChunk(count, grain: 1) { range in
                for i in range {
                    let shard = BatchShard(index: i, count: count, rows: shardRows(i))
                    out[i] = Result {
                        try Parallel.withThreadLimit(1) {
                            try BatchShard.$current.withValue(shard) {
                                try ShardLeaves.$current.withValue(leaves[i]) { try body(shard) }
                            }
                        }
                    }
                }
            }
        }
        let values = try results.map { try $0!.get() }
        // Each parameter's shard gradients, added in shard order.
        var merged: [ObjectIdentifier: (parameter: Parameter, sum: Tensor)] = [:]
        var order: [ObjectIdentifier] = []
        for shardLeaves in leaves {
            for (id, entry) in shardLeaves.ordered {
                guard let g = entry.leaf.grad else { continue }
                if let m = merged[id] { merged[id] = (m.parameter, m.sum + g) } else { merged[id] = (entry.parameter, g); order.append(id) }
            }
        }
        noGrad {
            for id in order {
                let (parameter, sum) = merged[id]!
                parameter.accumulateGradient(sum)
            }
        }
        return values
    }

    /// The shard count ``run(batch:rows:shards:_:)`` uses by default, which `nsde train` and evaluation
    /// use: one per kernel thread (``Parallel/threadCount``), at most one per sample. The shard
    /// count changes the order of floating-point sums, so it is part of what makes a run
    /// bit-reproducible (training checkpoints record the thread count).
    public static func defaultShardCount(batch: Int) -> Int { max(1, min(Parallel.threadCount, batch)) }

    /// Rows of shard `index` of `count` over `batch` samples: contiguous, sizes differing by at most
    /// one (the first `batch % count` shards hold one more).
    public static func shardRange(_ index: Int, of count: Int, batch: Int) -> Range<Int> {
        precondition(count >= 1 && (0..<count).contains(index), "BatchParallel.shardRange: shard \(index) of \(count)")
        let base = batch / count, extra = batch % count
        let lo = index * base + min(index, extra)
        return lo..<(lo + base + (index < extra ? 1 : 0))
    }
}

/// The gradient leaves one shard uses in place of the parameters' own.
final class ShardLeaves: @unchecked Sendable {
    /// The shard running on the calling thread, `nil` outside a shard.
    @TaskLocal static var current: ShardLeaves?

    private var leaves: [ObjectIdentifier: (parameter: Parameter, leaf: Tensor)] = [:]
    private var creation: [ObjectIdentifier] = []

    /// The shard's leaf for `parameter`: the same storage as `value`, its own gradient.
    func leaf(for parameter: Parameter, value: Tensor) -> Tensor {
        let id = ObjectIdentifier(parameter)
        if let entry = leaves[id] { return entry.leaf }
        var leaf = value.detached()
        leaf.requiresGrad = true
        leaves[id] = (parameter, leaf)
        creation.append(id)
        return leaf
    }

    /// `valueᵀ` of the 2-D parameters as constants (no gradient), each made on first use in this
    /// shard. Valid for the whole shard run because the parameters do not change during it (see
    /// ``BatchParallel``): layers reuse them for every evaluation of a solve.
    let transposes = ParameterTransposes()

    /// The leaves in the order they were first used.
    var ordered: [(ObjectIdentifier, (parameter: Parameter, leaf: Tensor))] { creation.map { ($0, leaves[$0]!) } }
}
