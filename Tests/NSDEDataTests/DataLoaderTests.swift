import XCTest
import Foundation
import NSDETensor
import NSDEData

final class DataLoaderTests: XCTestCase {
    /// `n` 1x2x2 images whose first pixel is the example index (n <= 256), label index % 10.
    func indexedDataset(_ n: Int = 103) -> InMemoryImageDataset {
        precondition(n <= 256)
        let pixels: [UInt8] = (0..<n).flatMap { i -> [UInt8] in [UInt8(i), 255, 0, UInt8(255 - i)] }
        return InMemoryImageDataset(pixels: pixels, labels: (0..<n).map { $0 % 10 }, imageShape: [1, 2, 2],
                                    classes: (0..<10).map(String.init))
    }

    /// The example indices of each batch, recovered from the first pixel.
    func indices(_ epoch: DataLoader<InMemoryImageDataset>.Epoch) -> [[Int]] {
        epoch.map { images, labels in
            XCTAssertEqual(images.shape.dropFirst(), [1, 2, 2])
            XCTAssertEqual(images.shape[0], labels.count)
            let idx = (0..<labels.count).map { b in Int((images[b, 0, 0, 0] * 255).rounded()) }
            XCTAssertEqual(labels, idx.map { $0 % 10 }, "labels travel with their images")
            return idx
        }
    }

    func testEveryIndexExactlyOncePerEpoch() {
        let loader = DataLoader(dataset: indexedDataset(), batchSize: 32, seed: 7)
        XCTAssertEqual(loader.batchesPerEpoch, 4)
        for e in 0..<3 {
            let batches = indices(loader.epoch(e))
            XCTAssertEqual(batches.map(\.count), [32, 32, 32, 7])
            XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<103))
            XCTAssertEqual(batches, loader.batchIndices(epoch: e))
            XCTAssertNotEqual(batches.flatMap { $0 }, Array(0..<103), "shuffled")
        }
    }

    func testDropLast() {
        let loader = DataLoader(dataset: indexedDataset(), batchSize: 32, seed: 7, dropLast: true)
        XCTAssertEqual(loader.batchesPerEpoch, 3)
        XCTAssertEqual(loader.epoch(0).count, 3)
        let batches = indices(loader.epoch(0))
        XCTAssertEqual(batches.map(\.count), [32, 32, 32])
        XCTAssertEqual(Set(batches.flatMap { $0 }).count, 96, "no repeats")
        // Exact multiple: nothing dropped.
        let exact = DataLoader(dataset: indexedDataset(96), batchSize: 32, dropLast: true)
        XCTAssertEqual(indices(exact.epoch(0)).flatMap { $0 }.sorted(), Array(0..<96))
        // Fewer examples than one batch.
        XCTAssertEqual(Array(DataLoader(dataset: indexedDataset(5), batchSize: 8, dropLast: true).epoch(0)).count, 0)
        XCTAssertEqual(indices(DataLoader(dataset: indexedDataset(5), batchSize: 8).epoch(0)).map(\.count), [5])
    }

    func testReproducibleForSeedAndDifferentAcrossEpochs() {
        let a = DataLoader(dataset: indexedDataset(), batchSize: 10, seed: 123)
        let b = DataLoader(dataset: indexedDataset(), batchSize: 10, seed: 123, prefetch: 0)
        let c = DataLoader(dataset: indexedDataset(), batchSize: 10, seed: 124)
        XCTAssertEqual(indices(a.epoch(0)), indices(b.epoch(0)), "same seed, with and without prefetch")
        XCTAssertEqual(indices(a.epoch(5)), indices(a.epoch(5)), "replaying an epoch")
        XCTAssertNotEqual(indices(a.epoch(0)), indices(a.epoch(1)), "epochs differ")
        XCTAssertNotEqual(indices(a.epoch(0)), indices(c.epoch(0)), "seeds differ")
        XCTAssertEqual(a.order(epoch: 2), {
            var g = PhiloxGenerator(seed: 123, stream: 4)
            var o = Array(0..<103)
            g.shuffle(&o)
            return o
        }(), "documented stream layout: epoch e shuffles with stream 2e")
    }

    func testNoShuffleKeepsOrder() {
        let loader = DataLoader(dataset: indexedDataset(), batchSize: 50, shuffle: false)
        XCTAssertEqual(indices(loader.epoch(3)).flatMap { $0 }, Array(0..<103))
    }

    func testAugmentedBatchesAreReproducibleAndPrefetchInvariant() {
        let n = 40
        let ds = InMemoryImageDataset(pixels: testBytes(n * 3 * 6 * 6), labels: (0..<n).map { $0 % 10 },
                                      imageShape: [3, 6, 6], classes: (0..<10).map(String.init))
        let aug = Augmentation(cropPadding: 2, horizontalFlip: true)
        let a = DataLoader(dataset: ds, batchSize: 8, seed: 5, augmentation: aug, prefetch: 3)
        let b = DataLoader(dataset: ds, batchSize: 8, seed: 5, augmentation: aug, prefetch: 0)
        let plain = DataLoader(dataset: ds, batchSize: 8, seed: 5)
        let ea = a.epoch(1).map { $0.images.scalars }
        XCTAssertEqual(ea, b.epoch(1).map { $0.images.scalars })
        XCTAssertEqual(ea, a.epoch(1).map { $0.images.scalars })
        XCTAssertNotEqual(ea, plain.epoch(1).map { $0.images.scalars }, "augmentation changes images")
        XCTAssertEqual(a.epoch(1).map(\.labels), plain.epoch(1).map(\.labels), "same order as without augmentation")

        // Reconstruct: epoch e augments with stream 2e + 1, batches in order.
        var g = PhiloxGenerator(seed: 5, stream: 3)
        let expected = plain.batchIndices(epoch: 1).map { idx in
            aug.apply(to: ds.batch(indices: idx).images, generator: &g).scalars
        }
        XCTAssertEqual(ea, expected)
    }

    func testEarlyExitAndReuse() {
        let loader = DataLoader(dataset: indexedDataset(), batchSize: 4, seed: 1, prefetch: 2)
        for _ in 0..<20 {
            var seen = 0
            for (images, _) in loader.epoch(0) {
                XCTAssertEqual(images.shape[0], 4)
                seen += 1
                if seen == 2 { break }
            }
            XCTAssertEqual(seen, 2)
        }
        var it = loader.epoch(0).makeIterator()
        _ = it.next()
        XCTAssertEqual(indices(loader.epoch(0)).count, loader.batchesPerEpoch)
        var count = 0
        while it.next() != nil { count += 1 }
        XCTAssertEqual(count, loader.batchesPerEpoch - 1, "a partly consumed iterator continues")
        XCTAssertNil(it.next())
    }

    func testPrefetchWorksAheadOfTheConsumer() {
        // A dataset that records which examples have been made. With prefetching, the background
        // thread makes the next `prefetch` batches while the consumer holds a batch and has not
        // asked for more (its work overlaps the consumer's), and never more than that (the queue is
        // bounded); without it, batches are made only on request. Checked by what was made, not by
        // time: the waits below only give a wrong implementation the chance to show itself.
        final class Made: @unchecked Sendable {
            private let lock = NSLock()
            private var indices: [Int] = []
            func append(_ i: Int) { lock.lock(); indices.append(i); lock.unlock() }
            var count: Int { lock.lock(); defer { lock.unlock() }; return indices.count }
            var all: [Int] { lock.lock(); defer { lock.unlock() }; return indices }
        }
        struct Recording: Dataset {
            let made: Made
            var count: Int { 8 }
            var classes: [String] { ["x"] }
            var imageShape: [Int] { [1, 1, 1] }
            func example(at index: Int) -> (image: Tensor, label: Int) {
                made.append(index)
                return (Tensor(repeating: Float(index), shape: [1, 1, 1]), 0)
            }
        }
        /// Waits (up to 30 s) until `made` holds at least `target` examples; returns the count.
        func settle(_ made: Made, at target: Int) -> Int {
            let deadline = Date().addingTimeInterval(30)
            while made.count < target, Date() < deadline { usleep(1_000) }
            usleep(50_000)   // room for a batch too many to appear
            return made.count
        }
        for prefetch in [0, 1, 2, 3] {
            let made = Made()
            let loader = DataLoader(dataset: Recording(made: made), batchSize: 1, shuffle: false, prefetch: prefetch)
            var iterator = loader.epoch(0).makeIterator()
            var got = [Float]()
            for delivered in 1...8 {
                guard let (images, _) = iterator.next() else { return XCTFail("prefetch \(prefetch): batch \(delivered) missing") }
                got.append(images.scalars[0])
                // Holding batch `delivered`: the thread has made the next `prefetch` ones (as many
                // as there are), and no more.
                let expected = min(8, delivered + prefetch)
                XCTAssertEqual(settle(made, at: expected), expected, "prefetch \(prefetch), holding batch \(delivered)")
            }
            XCTAssertNil(iterator.next())
            XCTAssertEqual(got, (0..<8).map(Float.init), "prefetch \(prefetch)")
            XCTAssertEqual(made.all, Array(0..<8), "each batch made once, in order (prefetch \(prefetch))")
        }
    }
}
