import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a tiny conv net on a Fashion-MNIST subset and print its test accuracy.",
            discussion: """
            The end-to-end check of the foundation: real data (Debian package \
            dataset-fashion-mnist), oneDNN convolutions, GroupNorm, autodiff and Adam.
            """)

        @Option(help: "Directory holding the Fashion-MNIST IDX files (.gz or raw).")
        var dataDir: String = FashionMNIST.defaultDirectory.path
        @Option(help: "Number of training images used (the first N of a seeded shuffle).")
        var trainSubset: Int = 5_000
        @Option(help: "Number of test images evaluated.")
        var testSubset: Int = 10_000
        @Option(help: "Training epochs.")
        var epochs: Int = 4
        @Option(help: "Mini-batch size.")
        var batchSize: Int = 64
        @Option(help: "Adam learning rate.")
        var lr: Float = 3e-3
        @Option(help: "Seed for initialisation and shuffling.")
        var seed: UInt64 = 0
        @Flag(help: "Print one JSON object with the final metrics.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let train_examples: Int, test_examples: Int, epochs: Int
            let train_accuracy: Double, test_accuracy: Double, seconds: Double
        }

        func validate() throws {
            guard trainSubset > 0, testSubset > 0 else { throw ValidationError("--train-subset and --test-subset must be positive") }
            guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
            guard lr > 0 else { throw ValidationError("--lr must be positive, got \(lr)") }
        }

        func run() throws {
            try threadOptions.apply()
            let dir = URL(fileURLWithPath: dataDir)
            let train = try FashionMNIST.load(split: .train, directory: dir).subset(min(trainSubset, 60_000), seed: seed)
            let test = try FashionMNIST.load(split: .test, directory: dir).subset(min(testSubset, 10_000))
            Initializer.manualSeed(seed)
            let model = TinyConvNet(inChannels: 1, classes: 10)
            let optimizer = Adam(parameters: model.parameters, learningRate: lr)
            let loader = DataLoader(dataset: train, batchSize: batchSize, shuffle: true, seed: seed)
            status("Training TinyConvNet (\(model.parameterCount) parameters) on \(train.count) Fashion-MNIST images, \(epochs) epochs, \(Parallel.threadCount) threads")
            let start = Date()
            var last = ClassifierTraining.EpochStatistics(loss: 0, accuracy: 0, examples: 0, seconds: 0)
            for epoch in 0..<epochs {
                var bar = ProgressBar(title: "epoch \(epoch + 1)/\(epochs)", total: loader.batchesPerEpoch, unit: "img")
                last = ClassifierTraining.trainEpoch(model, loader: loader, epoch: epoch, optimizer: optimizer) { done, _, loss in
                    bar.update(done, itemsPerStep: batchSize, detail: String(format: "loss %.4f", loss))
                }
                status(String(format: "epoch %d: loss %.4f, train accuracy %.2f%%, %.0f images/s",
                              epoch + 1, last.loss, 100 * last.accuracy, last.examplesPerSecond))
            }
            let result = ClassifierTraining.evaluate(model, on: test)
            let seconds = Date().timeIntervalSince(start)
            if json {
                try printJSON(Report(train_examples: train.count, test_examples: test.count, epochs: epochs,
                                     train_accuracy: last.accuracy, test_accuracy: result.accuracy, seconds: seconds))
            } else {
                print(String(format: "Test accuracy on %d Fashion-MNIST images: %.2f%% (%.1f s in total)",
                             test.count, 100 * result.accuracy, seconds))
            }
        }
    }
}
