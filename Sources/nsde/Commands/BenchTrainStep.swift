import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Bench {
    struct TrainStep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train-step",
            abstract: "Time one SGD training step (forward, backward, update) of a paper model.",
            discussion: """
            paper-small: stem conv, an SDE block whose drift (3 ConcatConv + 4 GroupNorm) is \
            evaluated --steps times by Euler–Maruyama with dropout noise, GroupNorm–ReLU–pool–Linear \
            head, on random 3x32x32 inputs. Compare with Benchmarks/pytorch_train_step.py.
            """)

        @Option(help: "Model preset: paper-small or paper-big.")
        var model: String = "paper-small"
        @Option(help: "Mini-batch size.")
        var batch: Int = 128
        @Option(help: "Input channels.")
        var inChannels: Int = 3
        @Option(help: "Input height and width in pixels (default 32 for paper-small, 96 for paper-big).")
        var size: Int?
        @Option(help: "Euler–Maruyama steps in the SDE block.")
        var steps: Int = 11
        @Option(help: "Noise type: ode, additive, multiplicative, dropout.")
        var noise: String = "dropout"
        @Option(help: "Noise scale sigma.")
        var sigma: Float = 0.5
        @Option(help: "Timed repetitions (after warm-up).")
        var repeats: Int = 5
        @Option(help: "Untimed warm-up steps.")
        var warmup: Int = 1
        @Flag(help: "Print one JSON object with images_per_s, median_s, parameters, and the settings.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let model: String, batch: Int, steps: Int, noise: String, sigma: Float, threads: Int
            let parameters: Int, median_s: Double, min_s: Double, images_per_s: Double, peak_rss_mib: Double
        }

        func validate() throws {
            guard ["paper-small", "paper-big"].contains(model) else {
                throw ValidationError("--model must be paper-small or paper-big, got '\(model)'")
            }
            guard BlockNoise(rawValue: noise) != nil else {
                throw ValidationError("--noise must be one of \(BlockNoise.allCases.map(\.rawValue).joined(separator: ", ")), got '\(noise)'")
            }
            guard batch > 0, steps > 0, repeats > 0, warmup >= 0 else {
                throw ValidationError("--batch, --steps and --repeats must be positive and --warmup non-negative")
            }
        }

        func run() throws {
            try threadOptions.apply()
            Initializer.manualSeed(0)
            let size: PaperClassifier.Size = model == "paper-small" ? .small : .big
            let pixels = self.size ?? (size == .small ? 32 : 96)
            let net = PaperClassifier(size: size, inChannels: inChannels, classes: 10,
                                      noise: BlockNoise(rawValue: noise)!, sigma: sigma, steps: steps)
            let optimizer = SGD(parameters: net.parameters, learningRate: 0.01, momentum: 0.9)
            let x = Tensor.randomUniform([batch, inChannels, pixels, pixels], seed: 1)
            let labels = (0..<batch).map { $0 % 10 }
            let times = measure(warmup: warmup, repeats: repeats) {
                optimizer.zeroGrad()
                let loss = crossEntropy(logits: net(x), labels: labels)
                loss.backward()
                optimizer.step()
            }
            let med = median(times)
            let report = Report(model: model, batch: batch, steps: steps, noise: noise, sigma: sigma,
                                threads: Parallel.threadCount, parameters: net.parameterCount, median_s: med,
                                min_s: times.min() ?? 0, images_per_s: Double(batch) / med, peak_rss_mib: peakRSSMiB())
            if json { try printJSON(report); return }
            print(String(format: "%@ (%d parameters), batch %d, %d EM steps, %@ noise: median %.3f s/step, %.1f images/s (%d threads)",
                         model, report.parameters, batch, steps, noise, med, report.images_per_s, report.threads))
        }
    }
}
