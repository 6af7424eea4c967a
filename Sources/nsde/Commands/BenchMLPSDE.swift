import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Bench {
    struct MLPSDE: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mlp-sde",
            abstract: "Time a neural SDE with an MLP drift: forward, backprop, checkpointed or adjoint (the peer benchmark).",
            discussion: """
            The spec shared with Benchmarks/mlp_sde_peers.py (torchsde, diffrax, hand-written PyTorch \
            and JAX loops): state --dim (64), batch --batch (256), drift MLP dim -> --hidden (128, tanh) \
            -> dim, Itô, diffusion additive 0.1 / multiplicative 0.1·y / dropout 0.1·f (the step's drift, \
            not re-evaluated), T = 1, Euler–Maruyama with --steps (100) fixed steps, loss = mean of y_T². \
            Modes: forward (solve without recording gradients), backprop (forward + backward through \
            every step), checkpointed (forward keeping every --every-th state, backward re-running \
            each stretch from its checkpoint), adjoint (forward + backward by the O(1)-memory \
            stochastic adjoint). Reports \
            the median of --repeats timed runs after --warmup untimed ones, the process's peak RSS and \
            the peak of live tensor memory during one timed run, and the FLOP floor: the drift's GEMM \
            FLOPs (4·batch·dim·hidden per evaluation; backward passes 2x that; checkpointing re-runs \
            every step once; the adjoint's backward \
            re-evaluates the drift as often as it reports) divided by the 512³ sgemm rate measured in \
            the same process after each timed run (flop_floor_ms at the median rate; floor_ratio: the \
            median of each run's time over the floor at the rate sampled right after it). Compare \
            peers with Benchmarks/compare_mlp_sde.sh.
            """)

        @Option(help: "Diffusion of the SDE.")
        var noise: NoiseKind = .additive
        @Option(help: "What to time: the forward solve, backpropagation through it, checkpointed backpropagation, or the adjoint.")
        var mode: Mode = .backprop
        @Option(help: "Steps between the stored states of --mode checkpointed.")
        var every: Int = 10
        @Option(help: "Noise scale σ.")
        var sigma: Float = 0.1
        @Option(help: "State dimension d.")
        var dim: Int = 64
        @Option(help: "Hidden width of the drift MLP.")
        var hidden: Int = 128
        @Option(help: "Batch size.")
        var batch: Int = 256
        @Option(help: "Euler–Maruyama steps on [0, 1].")
        var steps: Int = 100
        @Option(help: "Timed repetitions (after warm-up).")
        var repeats: Int = 5
        @Option(help: "Untimed warm-up runs.")
        var warmup: Int = 2
        @Option(help: "Seed of the initial state, the weights and the Brownian path.")
        var seed: UInt64 = 0
        @Option(help: ArgumentHelp("Batch shards run side by side, one per thread (BatchParallel); 1 splits each operation across the threads instead.",
                                   discussion: "Default: the thread count. Each sample's noise is the same for every shard count."))
        var shards: Int?
        @Flag(help: "Print one JSON object with median_ms, times_ms, flop_floor_ms, floor_ratio, gemm_gflops, gemm_gflops_samples, peak_rss_mib, peak_tensor_mib, steps, batch, dim, shards and the settings.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        /// `--noise`: the diffusions the benchmark can time.
        enum NoiseKind: String, CaseIterable, ExpressibleByArgument { case additive, multiplicative, dropout }
        /// `--mode`: what is timed.
        enum Mode: String, CaseIterable, ExpressibleByArgument { case forward, backprop, checkpointed, adjoint }

        struct Report: Encodable {
            let benchmark = "mlp-sde"
            let noise: String, mode: String, sigma: Float, dim: Int, hidden: Int, batch: Int, steps: Int
            let repeats: Int, warmup: Int, threads: Int, seed: UInt64
            /// Batch shards run side by side (``BatchParallel``).
            let shards: Int
            let median_ms: Double, min_ms: Double, times_ms: [Double]
            let peak_rss_mib: Double, peak_tensor_mib: Double, loss: Float
            /// Adjoint only: solver-step evaluations of the backward pass per step (reconstruction
            /// iterations, the last one on the tape).
            let backward_evaluations_per_step: Double?
            /// GEMM FLOPs of one timed run (see ``flopFloor``).
            let gemm_flops: Double
            /// 512³ sgemm GFLOP/s measured in this process: the median of `gemm_gflops_samples`.
            let gemm_gflops: Double
            /// The 512³ sgemm rate measured right after each timed run (untimed), in run order.
            let gemm_gflops_samples: [Double]
            /// The median over the timed runs of each run's time divided by the floor at the GEMM
            /// rate measured right after it: the run as a multiple of the floor, with the
            /// machine's speed at that moment in both.
            let floor_ratio: Double
            /// `gemm_flops` at `gemm_gflops`, in ms: the time the run would take if it did nothing
            /// but its matrix products at the machine's GEMM rate.
            let flop_floor_ms: Double
        }

        /// The GEMM FLOPs of one run: each drift evaluation is two products (`dim -> hidden ->
        /// dim`, 4·batch·dim·hidden FLOPs); backprop adds its two backward products (dX, dW) per
        /// evaluation, 2x the forward; the adjoint runs the forward solve, then per step
        /// `backwardEvaluations` evaluations of which the last is differentiated.
        static func flopFloor(mode: Mode, batch: Int, dim: Int, hidden: Int, steps: Int, backwardEvaluations: Double?) -> Double {
            let evaluation = 4 * Double(batch) * Double(dim) * Double(hidden)
            let perStep: Double
            switch mode {
            case .forward: perStep = 1
            case .backprop: perStep = 3
            case .checkpointed: perStep = 4
            case .adjoint: perStep = 1 + (backwardEvaluations ?? 1) + 2
            }
            return Double(steps) * perStep * evaluation
        }

        func validate() throws {
            guard dim > 0, hidden > 0, batch > 0, steps > 0, repeats > 0, warmup >= 0 else {
                throw ValidationError("--dim, --hidden, --batch, --steps and --repeats must be positive and --warmup non-negative")
            }
            guard every > 0 else { throw ValidationError("--every must be positive, got \(every)") }
            guard sigma >= 0, sigma.isFinite else { throw ValidationError("--sigma must be non-negative, got \(sigma)") }
            if let shards, !(1...batch).contains(shards) {
                throw ValidationError("--shards must be in 1...\(batch) (the batch size), got \(shards)")
            }
        }

        func run() throws {
            try threadOptions.apply()
            Initializer.manualSeed(seed)
            let drift = Sequential([Linear(dim, hidden), Tanh(), Linear(hidden, dim)])
            let y0 = Tensor.randomNormal([batch, dim], std: 1, seed: seed &+ 1)
            let gradient: GradientMethod = switch mode {
            case .adjoint: .adjoint
            case .checkpointed: .checkpointed(every: every)
            case .forward, .backprop: .backprop
            }
            var loss: Float = 0
            var backwardStats: BackwardStats?
            let shardCount = min(shards ?? Parallel.threadCount, batch)
            let parameters = drift.parameters
            func solveOnce<D: Diffusion>(_ diffusion: D) throws {
                let sde = NeuralDriftSDE(drift: drift, diffusion: diffusion)
                if mode != .forward { for p in parameters { p.zeroGrad() } }
                // Each shard solves its rows of the batch; the loss is the batch mean, so each
                // shard's mean is weighted by its share of the batch.
                let parts = try BatchParallel.run(batch: batch, shards: shardCount) { shard -> (Float, BackwardStats?) in
                    let start = shard.slice(y0)
                    if mode == .forward {
                        let sol = try noGrad {
                            try sdeint(sde, y0: start, times: [0, 1], solver: .eulerMaruyama, dt: 1 / Double(steps),
                                       brownian: .grid(seed: seed &+ 2))
                        }
                        return ((sol.final.squared().mean() * shard.fraction).scalars[0], nil)
                    }
                    let sol = try sdeint(sde, y0: start, times: [0, 1], solver: .eulerMaruyama, dt: 1 / Double(steps),
                                         brownian: .grid(seed: seed &+ 2), gradient: gradient)
                    let l = sol.final.squared().mean() * shard.fraction
                    l.backward()
                    return (l.scalars[0], sol.backwardStats)
                }
                loss = parts.map(\.0).reduce(0, +)
                backwardStats = parts[0].1
            }
            func once() throws {
                switch noise {
                case .additive: try solveOnce(AdditiveDiffusion(sigma: sigma))
                case .multiplicative: try solveOnce(MultiplicativeDiffusion(sigma: sigma))
                case .dropout: try solveOnce(DropoutDiffusion(sigma: sigma))
                }
            }
            var failure: Error?
            let pool = BufferPool.shared
            var peakTensorBytes = 0
            // The GEMM rate is sampled after every timed run (untimed), so the floor follows the
            // machine through the same phases as the runs it is compared with.
            _ = measureReferenceGEMMGFLOPs(repeats: 1)
            var gemmSamples: [Double] = []
            let times = measure(warmup: warmup, repeats: repeats, afterEach: {
                gemmSamples.append(measureGEMMGFLOPs(.reference, repeats: 5))
            }) {
                let before = pool.liveBytes
                pool.resetPeak()
                do { try once() } catch { failure = error }
                peakTensorBytes = max(peakTensorBytes, pool.peakLiveBytes - before)
            }
            if let failure { throw failure }
            let ms = times.map { $0 * 1000 }
            let evaluationsPerStep = mode == .adjoint ? backwardStats.map { Double($0.stepEvaluations) / Double(max($0.steps, 1)) } : nil
            let flops = Self.flopFloor(mode: mode, batch: batch, dim: dim, hidden: hidden, steps: steps,
                                       backwardEvaluations: evaluationsPerStep)
            let gemmRate = median(gemmSamples)
            /// The floor in ms at a GEMM rate in GFLOP/s.
            func floorMs(_ gflops: Double) -> Double { flops / (gflops * 1e9) * 1000 }
            let report = Report(noise: noise.rawValue, mode: mode.rawValue, sigma: sigma, dim: dim, hidden: hidden, batch: batch, steps: steps,
                                repeats: repeats, warmup: warmup, threads: Parallel.threadCount, seed: seed, shards: shardCount,
                                median_ms: median(ms), min_ms: ms.min() ?? 0, times_ms: ms,
                                peak_rss_mib: peakRSSMiB(), peak_tensor_mib: Double(peakTensorBytes) / 1_048_576, loss: loss,
                                backward_evaluations_per_step: evaluationsPerStep,
                                gemm_flops: flops, gemm_gflops: gemmRate, gemm_gflops_samples: gemmSamples,
                                floor_ratio: median(zip(ms, gemmSamples).map { $0 / floorMs($1) }),
                                flop_floor_ms: floorMs(gemmRate))
            if json { try printJSON(report); return }
            print(String(format: "mlp-sde %@ noise, %@: median %.2f ms (min %.2f) over %d runs; %d steps, batch %d, dim %d, hidden %d, %d threads, %d batch shards",
                         report.noise, report.mode, report.median_ms, report.min_ms, repeats, steps, batch, dim, hidden, report.threads,
                         shardCount))
            print(String(format: "  peak RSS %.1f MiB, peak live tensors %.2f MiB, loss %.6f", report.peak_rss_mib,
                         report.peak_tensor_mib, loss))
            print(String(format: "  %.2f GFLOP of GEMM per run at %.1f GFLOP/s (512³ sgemm, median of one sample per run): floor %.2f ms; runs %.2fx the floor (median of run / floor at the rate sampled after it)",
                         flops / 1e9, gemmRate, report.flop_floor_ms, report.floor_ratio))
        }
    }
}
