import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Bench {
    struct DataPipeline: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "data",
            abstract: "Time the data pipeline: loading Fashion-MNIST and CIFAR-10 files, batch extraction, an augmented epoch.",
            discussion: """
            Four figures, each the median of --repeats timed runs after one untimed run:
              • load Fashion-MNIST's training split from --fashion-mnist-dir (60,000 IDX images; skipped \
            with a note when the files are not there: `apt-get install dataset-fashion-mnist`);
              • parse a CIFAR-10 binary file of --cifar-records synthetic records written to a \
            temporary folder (the format's loader, not the disk: the file is in the page cache);
              • extract one batch of --batch random images as a float32 NCHW tensor;
              • one epoch of a DataLoader over the training images (Fashion-MNIST's, or as many \
            synthetic 1x28x28 images when the files are missing) with Fashion-MNIST's training \
            augmentation (random crops, padding 4) and --prefetch batches made ahead on a background \
            thread, consumed without work: the rate the pipeline can feed a training loop.
            The unit tests check these loaders' values; their speed is measured here.
            """)

        @Option(help: "Folder of Fashion-MNIST's IDX files.")
        var fashionMnistDir: String = FashionMNIST.defaultDirectory.path
        @Option(help: "Records in the synthetic CIFAR-10 file.")
        var cifarRecords: Int = 10_000
        @Option(help: "Images per batch.")
        var batch: Int = 128
        @Option(help: "Batches the DataLoader prepares ahead (0: made on the consuming thread).")
        var prefetch: Int = 2
        @Option(help: "Timed repetitions of each measurement (after one untimed run).")
        var repeats: Int = 3
        @Flag(help: "Print one JSON object: fashion_mnist_load_ms (absent without the files, as `bench mlp-sde` omits fields that do not apply), cifar10_parse_ms, cifar10_records, batch_ms, epoch_ms, epoch_images, epoch_images_per_second, epoch_source, batch, prefetch, repeats, threads.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            /// `nil` (left out of the JSON) without Fashion-MNIST's files.
            let fashion_mnist_load_ms: Double?
            let cifar10_parse_ms: Double, cifar10_records: Int
            let batch_ms: Double
            let epoch_ms: Double, epoch_images: Int, epoch_images_per_second: Double, epoch_source: String
            let batch: Int, prefetch: Int, repeats: Int, threads: Int
        }

        func validate() throws {
            guard batch > 0, repeats > 0, cifarRecords > 0 else {
                throw ValidationError("--batch, --repeats and --cifar-records must be positive, got \(batch), \(repeats), \(cifarRecords)")
            }
            guard prefetch >= 0 else { throw ValidationError("--prefetch must be >= 0, got \(prefetch)") }
        }

        func run() throws {
            try threadOptions.apply()
            let ms = { (times: [Double]) in 1000 * median(times) }

            // Fashion-MNIST's training split, when installed.
            let directory = URL(fileURLWithPath: fashionMnistDir)
            var fashion: InMemoryImageDataset?
            var failure: Error?
            var loadMs: Double?
            let images = directory.appendingPathComponent("train-images-idx3-ubyte.gz")
            let raw = directory.appendingPathComponent("train-images-idx3-ubyte")
            if FileManager.default.fileExists(atPath: images.path) || FileManager.default.fileExists(atPath: raw.path) {
                loadMs = ms(measure(warmup: 1, repeats: repeats) {
                    do { fashion = try FashionMNIST.load(split: .train, directory: directory) } catch { failure = error }
                })
                if let failure { throw failure }
            } else if !json {
                status("note: no Fashion-MNIST files in \(directory.path) (apt-get install dataset-fashion-mnist); "
                       + "timing synthetic images instead")
            }

            // A synthetic CIFAR-10 file, parsed by the format's loader.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-bench-data-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let file = folder.appendingPathComponent("data_batch_1.bin")
            var generator = PhiloxGenerator(seed: 1)
            var bytes = [UInt8](repeating: 0, count: cifarRecords * 3_073)
            for i in bytes.indices {
                bytes[i] = i % 3_073 == 0 ? UInt8(i / 3_073 % 10) : UInt8(truncatingIfNeeded: generator.next())
            }
            try Data(bytes).write(to: file)
            var parsed = 0
            let parseMs = ms(measure(warmup: 1, repeats: repeats) {
                do { parsed = try CIFAR10.load(files: [file]).count } catch { failure = error }
            })
            if let failure { throw failure }
            precondition(parsed == cifarRecords, "bench data: parsed \(parsed) of \(cifarRecords) records")

            // Batch extraction and an augmented epoch over the training images.
            let source: String, set: InMemoryImageDataset
            if let fashion {
                (source, set) = ("fashion-mnist", fashion)
            } else {
                let n = 60_000
                let pixels = (0..<n * 784).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                (source, set) = ("synthetic", InMemoryImageDataset(pixels: pixels, labels: (0..<n).map { $0 % 10 },
                                                                   imageShape: [1, 28, 28], classes: FashionMNIST.classNames))
            }
            let indices = (0..<64).map { _ in (0..<batch).map { _ in generator.nextInt(below: set.count) } }
            var checksum: Float = 0
            let batchMs = ms(measure(warmup: 1, repeats: repeats) {
                for picked in indices { checksum += set.batch(indices: picked).images.storage.pointer[0] }
            }) / Double(indices.count)
            let loader = DataLoader(dataset: set, batchSize: batch, seed: 0, dropLast: true,
                                    augmentation: DatasetInfo.of(.fashionMNIST).augmentation, prefetch: prefetch)
            var seen = 0
            var epoch = 0
            let epochMs = ms(measure(warmup: 1, repeats: repeats) {
                seen = 0
                for (images, labels) in loader.epoch(epoch) {
                    checksum += images.storage.pointer[0]
                    seen += labels.count
                }
                epoch += 1
            })
            let report = Report(fashion_mnist_load_ms: loadMs, cifar10_parse_ms: parseMs, cifar10_records: cifarRecords,
                                batch_ms: batchMs, epoch_ms: epochMs, epoch_images: seen,
                                epoch_images_per_second: Double(seen) / (epochMs / 1000), epoch_source: source,
                                batch: batch, prefetch: prefetch, repeats: repeats, threads: Parallel.threadCount)
            if json { try printJSON(report); return }
            print("Data pipeline (\(report.threads) threads; median of \(repeats) runs; checksum \(checksum)):")
            if let loadMs {
                print(String(format: "  Fashion-MNIST train split, 60,000 images:   %9.1f ms to load", loadMs))
            } else {
                print("  Fashion-MNIST train split:                  not installed")
            }
            print(String(format: "  CIFAR-10 binary file, %6d records:      %9.1f ms to parse", cifarRecords, parseMs))
            print(String(format: "  batch of %4d images (float32 NCHW):       %9.3f ms to extract", batch, batchMs))
            print(String(format: "  augmented epoch (%@, %d images, prefetch %d): %9.1f ms, %10.0f images/s",
                         source, seen, prefetch, epochMs, report.epoch_images_per_second))
        }
    }
}
