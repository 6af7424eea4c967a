import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Bench {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval",
            abstract: "Time evaluation of a paper model without and with test-time noise (TTN), in images/s.",
            discussion: """
            Builds a model with random weights (--model, --width, --noise, --sigma, --steps) and one \
            synthetic batch of --batch images of --dataset's shape (random pixels), then times \
            `evaluate` as `nsde eval` and `nsde eval-corrupt` run it: the plain pass (test σ = 0, one \
            forward pass per image) and the evaluation with TTN (that pass plus K = --ttn noisy passes \
            whose softmaxes are averaged). Each is run --warmup times untimed, then --iterations times; \
            the medians are reported. With an ODE block or σ = 0 the TTN passes draw no noise and are \
            skipped, as in `evaluate`.
            """)

        @OptionGroup var modelOptions: BenchModelOptions
        @Option(help: "Dataset whose image shape and class count the synthetic inputs take.")
        var dataset: DatasetName = .cifar10
        @Option(help: "Images per forward pass (the synthetic set holds one batch).")
        var batch: Int = 128
        @Option(help: "K, noisy passes averaged per image for TTN.")
        var ttn: Int = 10
        @Option(help: "Timed repetitions of each measurement (after warm-up).")
        var iterations: Int = 3
        @Option(help: "Untimed warm-up repetitions of each measurement.")
        var warmup: Int = 1
        @Flag(help: "Print one JSON object: images_per_second, images_per_second_ttn, median_ms, median_ms_ttn, ttn, batch, threads, and the settings.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let model: String, width: Int, noise: String, sigma: Float, steps: Int, dataset: String
            let image_shape: [Int], parameters: Int, batch: Int, ttn: Int, iterations: Int, warmup: Int, threads: Int
            let median_ms: Double, min_ms: Double, images_per_second: Double
            let median_ms_ttn: Double, min_ms_ttn: Double, images_per_second_ttn: Double
            let passes_ttn: Int
        }

        func validate() throws {
            let (sigma, width, steps) = (modelOptions.sigma, modelOptions.width, modelOptions.steps)
            guard sigma.isFinite, sigma >= 0 else { throw ValidationError("--sigma must be a finite number >= 0, got \(sigma)") }
            if let width, width < 1 { throw ValidationError("--width must be positive, got \(width)") }
            guard batch > 0, steps > 0, iterations > 0, ttn >= 0, warmup >= 0 else {
                throw ValidationError("--batch, --steps and --iterations must be positive, --ttn and --warmup non-negative")
            }
        }

        func run() throws {
            try threadOptions.apply()
            Initializer.manualSeed(0)
            let (model, noise, sigma, steps) = (modelOptions.model, modelOptions.noise, modelOptions.sigma, modelOptions.steps)
            let info = dataset.info
            let configuration = ModelConfiguration(architecture: model, inChannels: info.channels, classes: info.classCount,
                                                   width: modelOptions.width, noise: noise, sigma: sigma, steps: steps)
            try configuration.validate()
            let net = configuration.makeModel()
            var generator = PhiloxGenerator(seed: 1)
            let per = info.imageShape.reduce(1, *)
            let pixels = (0..<batch * per).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let set = InMemoryImageDataset(pixels: pixels, labels: (0..<batch).map { $0 % info.classCount },
                                           imageShape: info.imageShape, classes: (0..<info.classCount).map(String.init))

            var failure: Error?
            func time(_ k: Int) -> [Double] {
                measure(warmup: warmup, repeats: iterations) {
                    do { _ = try evaluate(net, on: set, testSigma: sigma, ttnSamples: k, batchSize: batch) } catch { failure = error }
                }
            }
            let plain = time(0), withTTN = time(ttn)
            if let failure { throw failure }
            let (m, mt) = (median(plain), median(withTTN))
            let report = Report(
                model: model.rawValue, width: configuration.width, noise: noise.rawValue, sigma: sigma, steps: steps, dataset: dataset.rawValue,
                image_shape: info.imageShape, parameters: net.parameterCount, batch: batch, ttn: ttn, iterations: iterations,
                warmup: warmup, threads: Parallel.threadCount,
                median_ms: 1000 * m, min_ms: 1000 * (plain.min() ?? 0), images_per_second: Double(batch) / m,
                median_ms_ttn: 1000 * mt, min_ms_ttn: 1000 * (withTTN.min() ?? 0), images_per_second_ttn: Double(batch) / mt,
                passes_ttn: 1 + (ttn > 0 && net.injectsNoise(testSigma: sigma) ? ttn : 0))
            if json { try printJSON(report); return }
            print(String(format: "%@ width %d (%d parameters), %@ noise σ = %g, %d steps, batch %d of %@ %@ (%d threads):",
                         report.model, report.width, report.parameters, report.noise, Double(sigma), steps, batch, report.dataset,
                         info.imageShape.map(String.init).joined(separator: "x"), report.threads))
            print(String(format: "  w/o TTN:        median %9.2f ms per batch, %10.1f images/s", report.median_ms, report.images_per_second))
            print(String(format: "  TTN (K = %3d):  median %9.2f ms per batch, %10.1f images/s (%d passes per image)", ttn,
                         report.median_ms_ttn, report.images_per_second_ttn, report.passes_ttn))
        }
    }
}
