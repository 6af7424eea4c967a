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
            head, on random 3x32x32 inputs (--in-channels 1 --size 28 --width 16 --gn-groups 8 is the \
            model the presets and the demo train). Reports images/s, the direct-convolution FLOPs of \
            a step per second (effective_gflops: forward, backward-data and backward-weights of every \
            convolution counted as direct convolutions, whatever algorithm ran) and, measured in the \
            same process afterwards, the GEMM rate (gemm_gflops, 512³ sgemm), so the efficiency is \
            effective_gflops / gemm_gflops. Compare with Benchmarks/pytorch_train_step.py.

            Under an MPI launcher, --distributed times the data-parallel step of `nsde train \
            --distributed`: each process runs its part of the batch, then the gradients are summed \
            over the processes. Rank 0 reports images_per_s (its share of the batch per second), \
            images_per_s_total (the whole batch per second), ranks and allreduce_ms_per_step (the \
            median time of the gradient sum, waiting for the slowest process included).
            """)

        @OptionGroup var modelOptions: BenchModelOptions
        @Option(help: "Mini-batch size.")
        var batch: Int = 128
        @Option(help: "Input channels.")
        var inChannels: Int = 3
        @Option(help: "Input height and width in pixels (default 32 for paper-small, 96 for paper-big).")
        var size: Int?
        @Option(help: "GroupNorm groups on the block's channels (default: the paper's min(32, width)).")
        var gnGroups: Int?
        @Option(help: "Timed repetitions (after warm-up).")
        var repeats: Int = 5
        @Option(help: "Untimed warm-up steps.")
        var warmup: Int = 1
        @Option(help: ArgumentHelp("Batch shards run side by side, one per thread, as `nsde train` does (BatchParallel); 1 splits each operation across the threads instead.",
                                   discussion: "Default: what `nsde train` uses, the thread count (at most the batch size)."))
        var shards: Int?
        @Flag(help: "Print one JSON object with images_per_s, median_s, effective_gflops, gemm_gflops, flops_per_image, parameters, shards, peak_rss_mib, peak_tensor_mib, and the settings (with --distributed also ranks, images_per_s_total, allreduce_ms_per_step).")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var distributedOptions: DistributedOptions

        struct Report: Encodable {
            let model: String, batch: Int, steps: Int, noise: String, sigma: Float, threads: Int
            let parameters: Int, median_s: Double, min_s: Double, images_per_s: Double, peak_rss_mib: Double
            let in_channels: Int, size: Int, width: Int, gn_groups: Int
            /// Batch shards run side by side (``BatchParallel``).
            let shards: Int
            /// Direct-convolution FLOPs of one training step per image (``PaperClassifier/trainingStepFlops(height:width:)``).
            let flops_per_image: Double
            /// `flops_per_image · images_per_s`, in GFLOP/s.
            let effective_gflops: Double
            /// 512³ sgemm GFLOP/s measured in the same process after the timed steps.
            let gemm_gflops: Double
            /// The largest amount of memory held by live tensors during a timed step, in MiB (the
            /// step's data: activations kept for the backward pass, gradients; no code or caches).
            let peak_tensor_mib: Double
            /// `--distributed` only (absent otherwise).
            let ranks: Int?, images_per_s_total: Double?, allreduce_ms_per_step: Double?
        }

        func validate() throws {
            let (width, steps) = (modelOptions.width, modelOptions.steps)
            guard batch > 0, steps > 0, repeats > 0, warmup >= 0, inChannels > 0 else {
                throw ValidationError("--batch, --steps, --repeats and --in-channels must be positive and --warmup non-negative")
            }
            if let width, !(1...ModelConfiguration.maxWidth).contains(width) {
                throw ValidationError("--width must be in 1...\(ModelConfiguration.maxWidth), got \(width)")
            }
            let channels = width ?? modelOptions.model.defaultWidth
            if let gnGroups, gnGroups < 1 || channels % gnGroups != 0 {
                throw ValidationError("--gn-groups must divide the width \(channels), got \(gnGroups)")
            }
            if let size, !(3...4096).contains(size) { throw ValidationError("--size must be in 3...4096 pixels, got \(size)") }
            if let shards, !(1...batch).contains(shards) {
                throw ValidationError("--shards must be in 1...\(batch) (the batch size), got \(shards)")
            }
        }

        func run() throws {
            try threadOptions.apply()
            try distributedOptions.run(measureStep)
        }

        private func measureStep(_ communicator: any Communicator) throws {
            Initializer.manualSeed(0)
            let (model, noise, sigma, steps) = (modelOptions.model, modelOptions.noise, modelOptions.sigma, modelOptions.steps)
            let pixels = self.size ?? (model == .paperSmall ? 32 : 96)
            let net = PaperClassifier(architecture: model, inChannels: inChannels, classes: 10, width: modelOptions.width,
                                      noise: noise, sigma: sigma, steps: steps, groupNormGroups: gnGroups)
            let optimizer = SGD(parameters: net.parameters, learningRate: 0.01, momentum: 0.9)
            let x = Tensor.randomUniform([batch, inChannels, pixels, pixels], seed: 1)
            let labels = (0..<batch).map { $0 % 10 }
            // This process's rows of the batch (all of them in one process).
            let mine = BatchParallel.shardRange(communicator.rank, of: communicator.size, batch: batch)
            guard !mine.isEmpty else { throw ValidationError("--batch \(batch) gives no image to some of the \(communicator.size) processes") }
            let shardCount = min(shards ?? BatchParallel.defaultShardCount(batch: mine.count), mine.count)
            var failure: Error?
            var allReduceTimes: [Double] = []
            let pool = BufferPool.shared
            var peakTensorBytes = 0
            let times = measure(warmup: warmup, repeats: repeats) {
                let before = pool.liveBytes
                pool.resetPeak()
                defer { peakTensorBytes = max(peakTensorBytes, pool.peakLiveBytes - before) }
                optimizer.zeroGrad()
                // The training step of `nsde train` (Trainer): one noise stream, the batch's shards
                // side by side, their gradients added in shard order.
                let stream = net.reserveNoiseStream()
                do {
                    _ = try BatchParallel.run(batch: batch, rows: mine, shards: shardCount) { shard in
                        let rows = shard.rows.range
                        let logits = try net.forward(shard.slice(x), noiseStream: stream)
                        let loss = crossEntropy(logits: logits, labels: Array(labels[rows])) * shard.fraction
                        loss.backward()
                    }
                    if communicator.size > 1 {
                        var none: [Float] = []
                        let start = DispatchTime.now().uptimeNanoseconds
                        try communicator.allReduceGradients(of: net.parameters, extra: &none)
                        allReduceTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    }
                } catch { failure = error }
                optimizer.step()
            }
            if let failure { throw failure }
            guard communicator.isRoot else { return }
            let med = median(times)
            let rss = peakRSSMiB()
            let flops = net.trainingStepFlops(height: pixels, width: pixels)
            let imagesPerSecond = Double(mine.count) / med
            let report = Report(model: model.rawValue, batch: batch, steps: steps, noise: noise.rawValue, sigma: sigma,
                                threads: Parallel.threadCount, parameters: net.parameterCount, median_s: med,
                                min_s: times.min() ?? 0, images_per_s: imagesPerSecond, peak_rss_mib: rss,
                                in_channels: inChannels, size: pixels, width: net.channels, gn_groups: net.groupNormGroups,
                                shards: shardCount,
                                flops_per_image: flops, effective_gflops: flops * imagesPerSecond / 1e9,
                                gemm_gflops: measureReferenceGEMMGFLOPs(),
                                peak_tensor_mib: Double(peakTensorBytes) / 1_048_576,
                                ranks: distributedOptions.distributed ? communicator.size : nil,
                                images_per_s_total: distributedOptions.distributed ? Double(batch) / med : nil,
                                allreduce_ms_per_step: distributedOptions.distributed
                                    ? median(Array(allReduceTimes.suffix(repeats))) : nil)
            if json { try printJSON(report); return }
            print(String(format: "%@ width %d (%d parameters), %dx%dx%d, batch %d, %d EM steps, %@ noise: median %.3f s/step, %.1f images/s (%d threads, %d batch shards)",
                         model.rawValue, report.width, report.parameters, inChannels, pixels, pixels, batch, steps, noise.rawValue, med,
                         report.images_per_s, report.threads, report.shards))
            print(String(format: "  %.1f MFLOP per image and step (direct convolution): %.1f effective GFLOP/s, %.0f%% of the 512³ GEMM rate (%.1f GFLOP/s)",
                         flops / 1e6, report.effective_gflops, 100 * report.effective_gflops / report.gemm_gflops, report.gemm_gflops))
        }
    }
}
