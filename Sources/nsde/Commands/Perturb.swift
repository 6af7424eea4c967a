import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Perturb: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Relative hidden-state distance between clean and adversarial inputs along depth t (paper Fig. 4).",
            discussion: """
            For each --checkpoint model, the first --images test images x are attacked with the authors' L2 PGD \
            (Adam, learning rate 0.005, --attack-steps iterations, radius --eps in pixel units; for a noisy model \
            each gradient is averaged over --eot noisy passes). The SDE block is then solved from the stem's \
            output on the grid t = 0, 0.02, ..., 1 (50 Euler steps, 51 states), --draws times at the model's \
            test σ (once for an ODE block), for x and for its adversary x_adv, and

              r(t) = ‖E h_t(x_adv) − E h_t(x)‖ / ‖E h_t(x)‖

            is averaged over the images (E: the mean over the draws; the clean and adversarial solves share \
            their Brownian paths). A stable block keeps r(t) small or shrinking along t.

            Writes perturb.csv (one row per model and t), perturb.svg (r(t), one line per model) and \
            perturb.json into --out, each atomically.
            """)

        @OptionGroup var models: CheckpointSetOptions
        @Option(help: "L2 radius ε of the attack, in pixel units (the paper: 0.1 for CIFAR-10).")
        var eps: Float = 0.1
        @Option(help: "Number of test images (the first ones).")
        var images: Int = 16
        @Option(help: "M, noise draws averaged per hidden state (noisy models; ODE models use 1).")
        var draws: Int = 20
        @Option(help: "PGD iterations of the attack.")
        var attackSteps: Int = 40
        @Option(help: "K, noisy passes averaged per attack gradient (EOT) for noisy models (default 10; ODE models use 1).")
        var eot: Int?
        @Option(help: "Key of the attack's and the hidden-state solves' noise.")
        var seed: UInt64 = 0
        @Option(help: ArgumentHelp("Directory for perturb.csv, perturb.svg and perturb.json (created if missing).", valueName: "dir"))
        var out: String
        @Flag(help: "Print one JSON object: eps, images, draws, attack_steps, models [{checkpoint, t, relative_distance, relative_distance_std, …}].")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        func validate() throws {
            guard eps.isFinite, eps >= 0 else { throw ValidationError("--eps must be a number >= 0, got \(eps)") }
            guard images >= 1 else { throw ValidationError("--images must be positive, got \(images)") }
            guard draws >= 1 else { throw ValidationError("--draws must be positive, got \(draws)") }
            guard attackSteps >= 1 else { throw ValidationError("--attack-steps must be positive, got \(attackSteps)") }
            if let eot, eot < 1 { throw ValidationError("--eot must be >= 1, got \(eot)") }
            guard !out.isEmpty else { throw ValidationError("--out needs a directory") }
        }

        struct ModelReport: Encodable {
            let checkpoint: String, name: String, noise: String, sigma: Float, test_sigma: Float, eot_samples: Int, draws: Int
            let t: [Double], relative_distance: [Double], relative_distance_std: [Double], mean_attack_norm: Double
        }

        struct Report: Encodable {
            let eps: Float, images: Int, draws: Int, attack_steps: Int, dataset: String, seed: UInt64
            let models: [ModelReport], files: [String], threads: Int
        }

        func run() throws {
            try threadOptions.apply()
            let outDirectory = URL(fileURLWithPath: NSString(string: out).expandingTildeInPath).standardizedFileURL
            try FileManager.default.createDirectory(at: outDirectory, withIntermediateDirectories: true)
            let loaded = try models.loadModels()
            let datasetName = models.datasetName(loaded)
            let test = try models.testSet(loaded, count: images)
            let (clean, labels) = test.batch(indices: Array(0..<test.count))
            let settings = RobustAccuracy(norm: .l2, epsilons: [eps], steps: attackSteps, update: .paper, eotSamples: eot, seed: seed)
            let analysis = HiddenStatePerturbation(draws: draws, seed: seed)

            var curves: [HiddenStatePerturbationFigure.Curve] = []
            var reports: [ModelReport] = []
            for entry in loaded {
                let k = settings.effectiveEOTSamples(for: entry.model)
                status("\(entry.name): L2 PGD ε = \(eps), \(attackSteps) steps, EOT K = \(k) on \(test.count) images, then "
                       + "\(entry.model.injectsNoise(testSigma: entry.model.testSigma) ? draws : 1) draw(s) of 51 hidden states")
                let attack = settings.attack(epsilon: eps, eotSamples: k, batch: 0)
                let adversarial = try attack.perturb(clean, labels: labels, model: entry.model)
                let result = try analysis.measure(entry.model, clean: clean, adversarial: adversarial)
                curves.append(.init(name: entry.name, result: result))
                reports.append(ModelReport(checkpoint: entry.directory.path, name: entry.name, noise: entry.configuration.noise.rawValue,
                                           sigma: entry.configuration.sigma, test_sigma: result.testSigma, eot_samples: k,
                                           draws: result.draws, t: result.times, relative_distance: result.meanRelativeDistance,
                                           relative_distance_std: result.stdRelativeDistance,
                                           mean_attack_norm: AttackNorm.l2.meanDistance(adversarial, clean)))
            }
            let csv = outDirectory.appendingPathComponent("perturb.csv"), svg = outDirectory.appendingPathComponent("perturb.svg")
            let jsonURL = outDirectory.appendingPathComponent("perturb.json")
            try HiddenStatePerturbationFigure(curves: curves, epsilon: eps).write(csv: csv, svg: svg)
            let report = Report(eps: eps, images: test.count, draws: draws, attack_steps: attackSteps, dataset: datasetName, seed: seed,
                                models: reports, files: [csv.path, svg.path, jsonURL.path], threads: Parallel.threadCount)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try AtomicFile.write(try encoder.encode(report), to: jsonURL)
            if json { try printJSON(report); return }
            for m in reports {
                let last = m.relative_distance.last ?? .nan
                print(String(format: "%@: r(0) = %.4f, r(%g) = %.4f (±%.4f over %d images), mean ‖δ‖₂ = %.4f", m.name,
                             m.relative_distance.first ?? .nan, m.t.last ?? 1, last, m.relative_distance_std.last ?? .nan,
                             test.count, m.mean_attack_norm))
            }
            for file in report.files { print("wrote \(file)") }
        }
    }
}
