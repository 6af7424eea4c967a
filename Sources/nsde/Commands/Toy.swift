import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Toy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Simulate dx = x dt + σ x dB (Itô, paper Fig. 1) and report E log|x_T|.",
            discussion: """
            Euler–Maruyama on --paths independent paths from x0 = 1, with Brownian increments from \
            the counter-based RNG (--seed). Reports the mean of log|x_T| with its standard error, the \
            same mean for the exact solution x_T = exp((1 − σ²/2)T + σ W_T) on the same Brownian paths, \
            and the Itô theory E log x_T = (1 − σ²/2)T. Large σ makes the sign of log|x_T| flip although \
            the drift is positive: noise stabilises the process. Euler–Maruyama's bias in E log|x_T| is \
            about −(3/4)σ⁴·T·dt, so increase --steps to approach the exact value at large σ.
            """)

        @Option(help: "Diffusion scale σ (dimensionless, per √time).")
        var sigma: Float = 2.8
        @Option(help: "End time T, in model time units.")
        var tEnd: Double = 5.0
        @Option(help: "Number of sample paths.")
        var paths: Int = 1000
        @Option(help: "Euler–Maruyama steps on [0, T] (dt = T / steps).")
        var steps: Int = 1000
        @Option(help: "Seed of the Brownian paths (Philox key).")
        var seed: UInt64 = 0
        @Flag(help: "Print one JSON object with mean_log_abs, stderr, exact_mean_log_abs, exact_stderr, theory and the settings.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        struct Report: Encodable {
            let sigma: Float, t_end: Double, paths: Int, steps: Int, seed: UInt64, dt: Double
            let mean_log_abs: Double, stderr: Double
            let exact_mean_log_abs: Double, exact_stderr: Double
            let theory: Double
            let drift_evaluations: Int
        }

        func validate() throws {
            guard paths > 1, steps > 0, tEnd > 0, tEnd.isFinite else {
                throw ValidationError("--paths must be at least 2, and --steps and --t-end positive")
            }
            guard sigma >= 0, sigma.isFinite else { throw ValidationError("--sigma must be non-negative, got \(sigma)") }
        }

        /// dx = x dt + σ x dB in Itô form.
        struct PaperToySDE: SDE {
            let sigma: Float
            var calculus: StochasticCalculus { .ito }
            var noise: NoiseType { .diagonal }
            func drift(_ t: Double, _ y: Tensor) -> Tensor { y }
            func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { y * sigma }
        }

        /// Mean and standard error of `xs`, in Double.
        static func meanAndStderr(_ xs: [Double]) -> (Double, Double) {
            let n = Double(xs.count)
            let m = xs.reduce(0, +) / n
            let v = xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)
            return (m, (v / n).squareRoot())
        }

        func run() throws {
            try threadOptions.apply()
            let dt = tEnd / Double(steps)
            let grid = BrownianGrid(shape: [paths], dt: dt, seed: seed)
            let solution = try noGrad {
                try sdeint(PaperToySDE(sigma: sigma), y0: Tensor(repeating: 1, shape: [paths]), times: [0, tEnd],
                           solver: .eulerMaruyama, dt: dt, brownian: .custom(grid))
            }
            let logs = solution.final.scalars.map { Foundation.log(Swift.abs(Double($0))) }
            let s = Double(sigma)
            let wT = noGrad { grid.increment(from: 0, to: tEnd).w }.scalars
            let exactLogs = wT.map { (1 - s * s / 2) * tEnd + s * Double($0) }   // log x_T, x0 = 1
            let (m, se) = Self.meanAndStderr(logs)
            let (em, ese) = Self.meanAndStderr(exactLogs)
            let report = Report(sigma: sigma, t_end: tEnd, paths: paths, steps: steps, seed: seed, dt: dt,
                                mean_log_abs: m, stderr: se, exact_mean_log_abs: em, exact_stderr: ese,
                                theory: (1 - s * s / 2) * tEnd, drift_evaluations: solution.stats.driftEvaluations)
            if json { try printJSON(report); return }
            print(String(format: "dx = x dt + %.3g x dB, T = %g, %d paths, %d Euler–Maruyama steps (dt = %.3g), seed %llu",
                         s, tEnd, paths, steps, dt, seed))
            print(String(format: "  E log|x_T| (Euler–Maruyama)  %.4f ± %.4f", m, se))
            print(String(format: "  E log|x_T| (exact, same paths) %.4f ± %.4f", em, ese))
            print(String(format: "  Itô theory (1 − σ²/2)T          %.4f", report.theory))
        }
    }
}
