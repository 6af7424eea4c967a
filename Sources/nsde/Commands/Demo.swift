import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    /// `nsde demo`: the README's main job: converged Neural ODE and Neural SDE classifiers shipped
    /// with the repository, evaluated w/o and w/ test-time noise, and a short training run from
    /// scratch so that training is seen working.
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate the shipped Fashion-MNIST Neural ODE and Neural SDE, and train both briefly from scratch.",
            discussion: """
            Part 1 (about a minute): the converged checkpoints in --pretrained (default models/demo: a Neural \\
            ODE and the dropout Neural SDE, width 16 with 8 GroupNorm groups, 4 Euler–Maruyama steps, trained on \\
            55,000 Fashion-MNIST images by scripts/make-demo-models.sh, which reproduces them from their seed) \\
            are evaluated on the first --pretrained-test-images test images without test-time noise and with \\
            TTN (K = --ttn). Part 2 (a few minutes on 2 cores): the same architecture is trained from scratch \\
            for the short demo budget — 20,000 training images, 3 epochs in batches of 32 (SGD, lr 0.05 then \\
            0.005) — and evaluated on 2,000 test images, so that training is seen working; it does not reach \\
            the converged accuracy. Each part prints its table and a one-line verdict from the paired \\
            difference on the same test images. The data come from the Debian package dataset-fashion-mnist; \\
            nothing is downloaded. Options below override part 2's budget.

            --json prints one JSON object: ode_accuracy, sde_noise, sde_sigma, sde_accuracy, sde_accuracy_ttn \\
            (percent; from part 1, or part 2 with --no-pretrained), their 95 % Wilson intervals (ode_ci95, \\
            sde_ci95, sde_ci95_ttn), diff_vs_ode and diff_vs_ode_ci95 (points, paired over the test images), \\
            verdict, test_images, train_seconds (the training of part 2), pretrained (the directory or null), \\
            short_run (the same fields for part 2), preset, budget and files.
            """)

        @Option(help: ArgumentHelp("Directory of the shipped converged runs (one `nsde train` directory per model).", valueName: "dir"))
        var pretrained: String = "models/demo"
        @Flag(help: "Skip part 1 (the shipped checkpoints).")
        var noPretrained = false
        @Option(help: "Test images part 1 evaluates (the first N).")
        var pretrainedTestImages: Int = 2_000
        @OptionGroup var options: ComparisonOptions

        func validate() throws {
            guard pretrainedTestImages >= 1 else {
                throw ValidationError("--pretrained-test-images must be a positive integer, got \(pretrainedTestImages)")
            }
        }

        /// The run directories under `pretrained`, the ODE first.
        func pretrainedRuns() throws -> [URL]? {
            guard !noPretrained else { return nil }
            let root = URL(fileURLWithPath: NSString(string: pretrained).expandingTildeInPath).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                status("no shipped checkpoints in \(root.path) (run scripts/make-demo-models.sh to make them); training only")
                return nil
            }
            let runs = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
                .filter { Checkpoint.exists(in: $0) }
                .sorted { ($0.lastPathComponent == "ode" ? "" : $0.lastPathComponent) < ($1.lastPathComponent == "ode" ? "" : $1.lastPathComponent) }
            guard !runs.isEmpty else {
                throw ValidationError("--pretrained \(root.path) holds no `nsde train` run directory (checkpoint.json)")
            }
            return runs
        }

        func run() throws {
            try options.threadOptions.apply()
            var saved: NoiseComparisonResult?
            if let runs = try pretrainedRuns() {
                status("part 1: the shipped converged models in \(pretrained): " + runs.map(\.lastPathComponent).joined(separator: ", ")
                       + "; evaluated on the first \(pretrainedTestImages) test images, TTN K = \(options.ttn ?? 10)")
                let display = NoiseComparisonDisplay(ttnSamples: options.ttn ?? 10)
                saved = try evaluateSavedRuns(runs, dataDirectory: options.dataDir.map(absolutePath), testSubset: pretrainedTestImages,
                                              ttnSamples: options.ttn ?? 10, preset: "pretrained", progress: display.handler)
            }
            status("part 2: training from scratch on the short demo budget")
            let configuration = try options.configuration(preset: .demo)
            guard let (result, files) = try options.execute(configuration, name: "demo", preset: .demo) else { return }
            let short = DemoReport(result)
            let main = saved.map(DemoReport.init) ?? short
            if options.json {
                try printJSON(DemoJSON(main: main, short: short, pretrained: saved == nil ? nil : pretrained,
                                       trainSeconds: short.trainSeconds, preset: result.configuration.preset,
                                       budget: result.configuration.budgetDescription, files: files.map(\.path)))
                return
            }
            if let saved {
                print("## Part 1: the shipped converged models (\(pretrained))\n")
                print(saved.markdownTable())
                print(main.verdict + "\n")
            }
            print("## Part 2: trained from scratch just now (short budget)\n")
            options.printSummary(result, files: files)
            print(short.verdict)
        }

        private func absolutePath(_ path: String) -> String {
            URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardizedFileURL.path
        }
    }
}

/// The headline numbers of one demo comparison: the ODE and the best noisy model of the first
/// seed (by validation accuracy when there is a validation split, else the first noisy model), in
/// percent, with the paired difference on the same test images and a verdict that says what
/// the interval says.
struct DemoReport: Encodable {
    let ode_accuracy: Double?, ode_ci95: [Double]?
    let sde_noise: String?, sde_sigma: Float?, sde_accuracy: Double?, sde_ci95: [Double]?
    let sde_accuracy_ttn: Double?, sde_ci95_ttn: [Double]?
    let diff_vs_ode: Double?, diff_vs_ode_ci95: [Double]?
    let verdict: String, test_images: Int, train_seconds: Double

    var trainSeconds: Double { train_seconds }

    init(_ result: NoiseComparisonResult) {
        let seed = result.configuration.seeds.first
        let rows = result.rows.filter { $0.seed == seed }
        let ode = rows.first { $0.setting.noise == .ode }
        let noisy = rows.filter { $0.setting.noise != .ode }
        let sde = noisy.max { ($0.validation?.accuracy ?? 0) < ($1.validation?.accuracy ?? 0) } ?? noisy.first
        func pct(_ x: Double?) -> Double? { x.map { 100 * $0 } }
        func ci(_ m: ClassificationMetrics?) -> [Double]? { m.map { [100 * $0.ci95.lower, 100 * $0.ci95.upper] } }
        ode_accuracy = pct(ode?.evaluation.accuracy)
        ode_ci95 = ci(ode?.evaluation.plain)
        sde_noise = sde?.setting.noise.rawValue
        sde_sigma = sde?.setting.sigma
        sde_accuracy = pct(sde?.evaluation.accuracy)
        sde_ci95 = ci(sde?.evaluation.plain)
        sde_accuracy_ttn = pct(sde?.evaluation.accuracyTTN)
        sde_ci95_ttn = ci(sde?.evaluation.ttn)
        var difference: PairedAccuracyDifference?
        if let ode, let sde, ode.labels == sde.labels {
            difference = PairedAccuracyDifference(first: sde.evaluation.plain.predictions, second: ode.evaluation.plain.predictions,
                                                  labels: sde.labels)
        }
        diff_vs_ode = pct(difference?.difference)
        diff_vs_ode_ci95 = difference.map { [100 * $0.interval95.lower, 100 * $0.interval95.upper] }
        test_images = ode?.evaluation.count ?? sde?.evaluation.count ?? 0
        train_seconds = rows.reduce(0) { $0 + $1.trainSeconds }
        if let d = difference, let sde {
            let (low, high) = d.interval95
            let range = String(format: "%+.2f points [%+.2f, %+.2f]", 100 * d.difference, 100 * low, 100 * high)
            let name = "the \(sde.setting.noise.rawValue) SDE (σ \(String(format: "%g", Double(sde.setting.sigma))))"
            let ttn = sde.evaluation.accuracyTTN.map { String(format: " With TTN the SDE scores %.2f %%.", 100 * $0) } ?? ""
            if low > 0 {
                verdict = "Verdict: \(name) beats the ODE on these \(d.count) test images by \(range) (paired 95 % interval; one training run each, so run-to-run variation is not covered).\(ttn)"
            } else if high < 0 {
                verdict = "Verdict: the ODE beats \(name) on these \(d.count) test images: SDE − ODE = \(range) (paired 95 % interval; one training run each).\(ttn)"
            } else {
                verdict = "Verdict: no significant difference between \(name) and the ODE on these \(d.count) test images: SDE − ODE = \(range) (paired 95 % interval).\(ttn)"
            }
        } else {
            verdict = "Verdict: the demo needs an ODE and a noisy model to compare."
        }
    }
}

/// `nsde demo --json`: the headline comparison's fields at the top level, the short run's under
/// `short_run`.
struct DemoJSON: Encodable {
    let main: DemoReport, short: DemoReport, pretrained: String?, trainSeconds: Double
    let preset: String, budget: String, files: [String]

    func encode(to encoder: Encoder) throws {
        try main.encode(to: encoder)
        enum K: String, CodingKey { case train_seconds, pretrained, short_run, preset, budget, files }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(trainSeconds, forKey: .train_seconds)
        try c.encode(pretrained, forKey: .pretrained)
        try c.encode(short, forKey: .short_run)
        try c.encode(preset, forKey: .preset)
        try c.encode(budget, forKey: .budget)
        try c.encode(files, forKey: .files)
    }
}
