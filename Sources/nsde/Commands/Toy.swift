import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Toy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate dx = x dt + σ x dB (Itô, paper Fig. 1) and report E log|x_T|.",
            discussion: """
            This is the paper's Figure 1 (the solution itself: does log|x_T| change sign?). `nsde stability \
            toy` studies the same SDE's stability instead: the top Lyapunov exponent of a perturbation, \
            the quantity §3.3's theory bounds.

            Euler–Maruyama on --paths independent paths from x0 = 1, with Brownian increments from \
            the counter-based RNG (--seed). Reports the mean of log|x_T| with its standard error, the \
            same mean for the exact solution x_T = exp((1 − σ²/2)T + σ W_T) on the same Brownian paths, \
            and the Itô theory E log x_T = (1 − σ²/2)T. Large σ makes the sign of log|x_T| flip although \
            the drift is positive: noise stabilises the process. Euler–Maruyama's bias in E log|x_T| is \
            about −(3/4)σ⁴·T·dt, so increase --steps to approach the exact value at large σ.

            --plot FILE.svg also draws the paper's Figure 1: for each σ in --plot-sigmas, a few sample \
            paths and the mean over all --paths paths against t, with the same --t-end, --steps and \
            --seed. The file is written atomically (no partial file on failure).
            """)

        @OptionGroup var toy: ToySDEOptions
        @Option(help: "End time T, in model time units.")
        var tEnd: Double = 5.0
        @Option(help: "Euler–Maruyama steps on [0, T] (dt = T / steps).")
        var steps: Int = 1000
        @Option(help: ArgumentHelp("Also write the Figure 1 plot (SVG) to this file; its directory must exist.",
                                   valueName: "file.svg"))
        var plot: String?
        @Option(help: "Comma-separated σ values, one plot panel each (dimensionless; default the paper's 0 and 2.8).")
        var plotSigmas: String = "0,2.8"
        @Option(help: "What the plot's y axis shows: x (x_t, as in the paper) or log-abs (log|x_t| with the Itô theory).")
        var plotQuantity: StabilityToyFigure.Quantity = .value
        @Option(help: "Sample paths drawn per plot panel (0 to --paths).")
        var plotSamples: Int = 8
        @Flag(help: "Print one JSON object with mean_log_abs, stderr, exact_mean_log_abs, exact_stderr, theory and the settings (and plot with --plot).")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let sigma: Float, t_end: Double, paths: Int, steps: Int, seed: UInt64, dt: Double
            let mean_log_abs: Double, stderr: Double
            let exact_mean_log_abs: Double, exact_stderr: Double
            let theory: Double
            let drift_evaluations: Int
            /// The SVG written by --plot (absolute path); absent without --plot.
            let plot: String?
        }

        var experiment: StabilityToy {
            StabilityToy(sigma: toy.sigma, tEnd: tEnd, paths: toy.paths, steps: steps, seed: toy.seed)
        }

        /// The σ values of --plot-sigmas.
        var parsedPlotSigmas: [Float]? {
            let parts = plotSigmas.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let values = parts.compactMap(Float.init)
            guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return nil }
            return values
        }

        func validate() throws {
            guard toy.paths > 1, steps > 0, tEnd > 0, tEnd.isFinite else {
                throw ValidationError("--paths must be at least 2, and --steps and --t-end positive")
            }
            guard parsedPlotSigmas != nil else {
                throw ValidationError("--plot-sigmas must be a comma-separated list of non-negative numbers, got '\(plotSigmas)'")
            }
            guard (0...toy.paths).contains(plotSamples) else {
                throw ValidationError("--plot-samples must be between 0 and --paths (\(toy.paths)), got \(plotSamples)")
            }
            if let plot, plot.isEmpty { throw ValidationError("--plot needs a file name") }
        }

        func run() throws {
            try threadOptions.apply()
            let plotURL = plot.map { URL(fileURLWithPath: $0) }
            if let plotURL { try AtomicFile.checkWritable(plotURL) }    // fail before simulating
            let result = try experiment.run()
            var written: String?
            if let plotURL {
                let figure = StabilityToyFigure(sigmas: parsedPlotSigmas ?? StabilityToy.paperSigmas,
                                                quantity: plotQuantity, samplePaths: plotSamples)
                try figure.render(experiment).write(to: plotURL)
                written = plotURL.standardizedFileURL.path
            }
            let c = result.configuration
            let report = Report(sigma: c.sigma, t_end: c.tEnd, paths: c.paths, steps: c.steps, seed: c.seed, dt: c.dt,
                                mean_log_abs: result.meanLogAbs, stderr: result.standardError,
                                exact_mean_log_abs: result.exactMeanLogAbs, exact_stderr: result.exactStandardError,
                                theory: result.theory, drift_evaluations: result.driftEvaluations, plot: written)
            if json {
                if let written { status("wrote Figure 1 plot to \(written)") }
                try printJSON(report)
                return
            }
            let s = Double(c.sigma)
            print(String(format: "dx = x dt + %.3g x dB, T = %g, %d paths, %d Euler–Maruyama steps (dt = %.3g), seed %llu",
                         s, c.tEnd, c.paths, c.steps, c.dt, c.seed))
            print(String(format: "  E log|x_T| (Euler–Maruyama)  %.4f ± %.4f", result.meanLogAbs, result.standardError))
            print(String(format: "  E log|x_T| (exact, same paths) %.4f ± %.4f", result.exactMeanLogAbs, result.exactStandardError))
            print(String(format: "  Itô theory (1 − σ²/2)T          %.4f", result.theory))
            if let written { print("  Figure 1 plot written to \(written)") }
        }
    }
}

extension StabilityToyFigure.Quantity: ExpressibleByArgument {}
