import Foundation
import NSDETensor

/// Mini-batch iteration over a ``Dataset``, with seeded shuffling, optional augmentation and
/// background prefetching.
///
/// ```swift
/// let loader = DataLoader(dataset: train, batchSize: 128, seed: 42, dropLast: true,
///                         augmentation: Augmentation(cropPadding: 2))
/// for epoch in 0..<epochs {
///     for (images, labels) in loader.epoch(epoch) {   // images: [128, 1, 28, 28] in [0, 1]
///         ...
///     }
/// }
/// ```
///
/// **Reproducibility.** Everything random is a pure function of `(seed, epoch)`:
/// - the example order of epoch `e` is `0..<count` shuffled by
///   `PhiloxGenerator(seed: seed, stream: 2 * e)` (Fisher-Yates via `shuffle(_:)`), or the
///   identity order when `shuffle` is false;
/// - the augmentation of epoch `e` draws from one `PhiloxGenerator(seed: seed, stream: 2 * e + 1)`
///   used for the batches in order (see ``Augmentation`` for the draws per image).
///
/// So iterating the same epoch twice gives identical batches, different epochs give different
/// orders, and prefetching (which only moves the same sequential work to another thread) never
/// changes the result.
///
/// **Prefetching.** With `prefetch = k > 0`, iterating an epoch starts a background thread that
/// prepares up to `k` batches ahead (index gathering, `UInt8 -> Float` conversion, augmentation)
/// and hands them over through a condition variable, so the training loop does not wait for
/// data. Stopping the iteration early (e.g. `break`) cancels the thread once the iterator is
/// released. With `prefetch = 0` batches are made on the calling thread.
public struct DataLoader<D: Dataset>: Sendable {
    /// One mini-batch: images `[B, C, H, W]` with values in `[0, 1]`, and `B` labels.
    public typealias Batch = (images: Tensor, labels: [Int])

    /// The dataset iterated over.
    public let dataset: D
    /// Number of examples per batch (the last batch may be smaller unless ``dropLast``).
    public let batchSize: Int
    /// Whether each epoch visits the examples in a seeded random order.
    public let shuffle: Bool
    /// Seed of the shuffling and augmentation generators.
    public let seed: UInt64
    /// Whether to omit the final batch of an epoch when it has fewer than ``batchSize`` examples.
    public let dropLast: Bool
    /// Augmentation applied to every batch, or `nil` for none.
    public let augmentation: Augmentation?
    /// Number of batches prepared ahead on a background thread; 0 disables prefetching.
    public let prefetch: Int

    /// - Parameters:
    ///   - dataset: the examples.
    ///   - batchSize: examples per batch (> 0).
    ///   - shuffle: visit examples in a seeded random order each epoch (default true).
    ///   - seed: seed for shuffling and augmentation.
    ///   - dropLast: drop the final partial batch (the paper's setting); default false.
    ///   - augmentation: optional random crop / flip applied to every batch.
    ///   - prefetch: batches prepared ahead on a background thread (default 2; 0 = none).
    public init(dataset: D, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0,
                dropLast: Bool = false, augmentation: Augmentation? = nil, prefetch: Int = 2) {
        precondition(batchSize > 0, "DataLoader: batch size must be positive, got \(batchSize)")
        precondition(prefetch >= 0, "DataLoader: prefetch must be >= 0, got \(prefetch)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.augmentation = (augmentation?.isIdentity ?? true) ? nil : augmentation
        self.prefetch = prefetch
    }

    /// Number of batches per epoch: `count / batchSize` rounded down with ``dropLast``, up without.
    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The order in which epoch `epoch` visits the examples (a permutation of `0..<count`).
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<dataset.count)
        if shuffle {
            var generator = PhiloxGenerator(seed: seed, stream: UInt64(truncatingIfNeeded: 2 * epoch))
            generator.shuffle(&order)
        }
        return order
    }

    /// The example indices of each batch of epoch `epoch`, in iteration order.
    public func batchIndices(epoch: Int) -> [[Int]] {
        let order = order(epoch: epoch)
        return (0..<batchesPerEpoch).map { b in
            Array(order[b * batchSize ..< min(order.count, (b + 1) * batchSize)])
        }
    }

    /// The batches of epoch `epoch` (any integer; normally 0, 1, 2, ...), as a sequence.
    public func epoch(_ epoch: Int) -> Epoch {
        Epoch(loader: self, epoch: epoch)
    }

    /// The batches of one epoch. Each call to `makeIterator()` (each `for` loop) replays the same
    /// batches.
    public struct Epoch: Sequence, Sendable {
        /// The loader.
        public let loader: DataLoader
        /// The epoch number, which selects the random streams.
        public let epoch: Int

        /// Number of batches (``DataLoader/batchesPerEpoch``).
        public var count: Int { loader.batchesPerEpoch }

        /// Number of batches; the iteration yields exactly this many.
        public var underestimatedCount: Int { count }

        /// An iterator producing the batches, prefetching on a background thread when the
        /// loader's `prefetch > 0`.
        public func makeIterator() -> Iterator {
            Iterator(producer: BatchProducer(loader: loader, epoch: epoch), prefetch: loader.prefetch)
        }

        /// Yields the batches of one epoch.
        public struct Iterator: IteratorProtocol {
            private let producer: BatchProducer<D>
            private let queue: PrefetchHandle<D>?
            private var delivered = 0

            init(producer: BatchProducer<D>, prefetch: Int) {
                self.producer = producer
                self.queue = prefetch > 0 ? PrefetchHandle(producer: producer, depth: prefetch) : nil
            }

            /// The next batch, or `nil` after the last one.
            public mutating func next() -> Batch? {
                guard delivered < producer.batchCount else { return nil }
                delivered += 1
                if let queue { return queue.take() }
                return producer.make()
            }
        }
    }
}

/// Makes the batches of one epoch in order; not thread-safe (used by one thread at a time).
final class BatchProducer<D: Dataset>: @unchecked Sendable {
    let loader: DataLoader<D>
    let batches: [[Int]]
    var augmentGenerator: PhiloxGenerator
    var made = 0

    init(loader: DataLoader<D>, epoch: Int) {
        self.loader = loader
        self.batches = loader.batchIndices(epoch: epoch)
        self.augmentGenerator = PhiloxGenerator(seed: loader.seed, stream: UInt64(truncatingIfNeeded: 2 * epoch + 1))
    }

    var batchCount: Int { batches.count }

    /// The next batch in order.
    func make() -> DataLoader<D>.Batch {
        precondition(made < batches.count, "BatchProducer: no batches left")
        var (images, labels) = loader.dataset.batch(indices: batches[made])
        made += 1
        if let augmentation = loader.augmentation {
            images = augmentation.apply(to: images, generator: &augmentGenerator)
        }
        return (images, labels)
    }
}

/// A bounded queue filled by a background thread; cancels the thread when released.
final class PrefetchHandle<D: Dataset>: @unchecked Sendable {
    private let state: PrefetchState<D>

    init(producer: BatchProducer<D>, depth: Int) {
        let state = PrefetchState<D>(depth: depth, total: producer.batchCount)
        self.state = state
        // The thread holds the state and the producer, never this handle, so dropping the
        // iterator runs `deinit` and stops the thread.
        let thread = Thread { state.run(producer) }
        thread.name = "NSDEData.DataLoader.prefetch"
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    /// Blocks until the next batch is ready and returns it.
    func take() -> DataLoader<D>.Batch { state.take() }

    deinit { state.cancel() }
}

/// The shared state of a prefetch thread and its consumer.
final class PrefetchState<D: Dataset>: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer: [DataLoader<D>.Batch] = []  // at most `depth` ready, unread batches
    private var cancelled = false
    private let depth: Int
    private let total: Int

    init(depth: Int, total: Int) {
        self.depth = depth
        self.total = total
    }

    /// The thread body: makes every batch in order, waiting while `depth` are ready and unread.
    func run(_ producer: BatchProducer<D>) {
        for _ in 0..<total {
            condition.lock()
            while buffer.count >= depth && !cancelled { condition.wait() }
            let stop = cancelled
            condition.unlock()
            if stop { return }
            let batch = producer.make()
            condition.lock()
            buffer.append(batch)
            condition.broadcast()
            condition.unlock()
        }
    }

    func take() -> DataLoader<D>.Batch {
        condition.lock()
        defer { condition.unlock() }
        while buffer.isEmpty { condition.wait() }
        let batch = buffer.removeFirst()
        condition.broadcast()
        return batch
    }

    func cancel() {
        condition.lock()
        cancelled = true
        buffer.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
