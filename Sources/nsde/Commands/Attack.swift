import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Attack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accuracy under PGD adversarial attack against ε (paper Fig. 3), without and with test-time noise.",
            discussion: """
            For each --checkpoint model and each ε in --eps, the first --test-subset test images are attacked \
            with projected gradient descent in the --norm ball of radius ε (pixel units, pixels in [0, 1]) for \
            --steps iterations, and the adversaries are classified twice: the plain prediction (test σ = 0) and \
            the TTN prediction (softmax averaged over --ttn noisy passes at the model's test σ).

            --method adam (default) is the authors' released attack: Adam with learning rate --step-size \
            (default 0.005) on the perturbation, maximising the cross-entropy, projecting onto the ball and \
            clamping to [0, 1] after each step. --method madry is standard PGD: normalised (L2) or signed (L∞) \
            gradient steps of --step-size (default 2.5·ε/steps) from a random start in the ball \
            (--no-random-start: from 0).

            The attack's gradient passes run with the model's noise on (its test σ). For a noisy model each \
            gradient is averaged over --eot K passes (expectation over transformation, default 10), and the \
            attack without EOT (K = 1) is reported as well (accuracy_no_eot): a large gap means the noise \
            mostly obfuscates gradients. For an ODE model (or σ = 0) K is 1 and the *_no_eot fields are null.

            All noise comes from Philox streams keyed by --seed, so a run is reproducible. --out DIR writes \
            attack.csv, attack.json and attack.svg (accuracy against ε, one line per model, dashed with TTN), \
            each atomically.

            Under an MPI launcher, --distributed deals the attacked batches over the processes \
            (mpirun -np K nsde attack --distributed …): batch b's attack noise is keyed by b wherever it \
            runs, every process gets every batch's adversaries, and the evaluation deals them again, so \
            the numbers equal a single process's exactly; rank 0 prints and writes --out, and the JSON \
            gains `ranks`. A batch is the unit of work: give at least as many batches (--test-subset / \
            --batch-size) as processes.
            """)

        /// `--method`: the PGD update rule.
        enum UpdateRule: String, CaseIterable, ExpressibleByArgument { case adam, madry }

        @OptionGroup var models: CheckpointSetOptions
        @Option(help: "Threat-model norm (l2 is the paper's).")
        var norm: AttackNorm = .l2
        @Option(help: ArgumentHelp("Comma-separated radii ε ≥ 0 in pixel units (default L2: 0,0.5,1,1.5,2 for 1-channel datasets, 0,0.1,...,0.5 otherwise; L∞: 0,0.05,0.1,0.2,0.3 and 0,2/255,4/255,8/255).",
                                   valueName: "list"))
        var eps: String?
        @Option(help: "PGD iterations (the paper: 40).")
        var steps: Int = 40
        @Option(help: "K, noisy passes averaged per input gradient (EOT) for noisy models (default 10; ODE models always use 1).")
        var eot: Int?
        @Option(help: "Update rule: adam (the authors' attack) or madry (standard PGD).")
        var method: UpdateRule = .adam
        @Option(help: "Adam learning rate (default 0.005) or Madry step size (default 2.5·ε/steps), in pixel units per step.")
        var stepSize: Float?
        @Flag(inversion: .prefixedNo, help: "With --method madry: start from a uniform random point in the ε-ball.")
        var randomStart = true
        @Option(help: "Attack the first this many test images.")
        var testSubset: Int = 500
        @Option(help: "K of the TTN prediction: noisy passes at the model's test σ averaged per image (0: no TTN).")
        var ttn: Int = 10
        @Option(help: "Images attacked together (one batch of the gradient passes).")
        var batchSize: Int = 100
        @Option(help: "Key of the attack's and the TTN's noise.")
        var seed: UInt64 = 0
        @Option(help: ArgumentHelp("Write attack.csv, attack.json and attack.svg into this directory (created if missing).", valueName: "dir"))
        var out: String?
        @Flag(help: "Print one JSON object: norm, steps, method, epsilons, n, models [{checkpoint, noise, sigma, test_sigma, eot_samples, results}], results.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var distributedOptions: DistributedOptions

        /// The parsed --eps list, or `nil` for the default.
        func parsedEpsilons() throws -> [Float]? {
            guard let eps else { return nil }
            let values = try eps.split(separator: ",", omittingEmptySubsequences: false).map { text -> Float in
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                guard let value = Float(trimmed), value.isFinite else {
                    throw ValidationError("--eps must be a comma-separated list of numbers, got '\(trimmed)' in '\(eps)'")
                }
                guard value >= 0 else { throw ValidationError("--eps values must be >= 0, got \(trimmed)") }
                return value
            }
            return values
        }

        /// The default ε list for `dataset` and the norm.
        static func defaultEpsilons(dataset: String, norm: AttackNorm) -> [Float] {
            let grey = (DatasetName(rawValue: dataset)?.info.channels ?? 3) == 1
            switch (norm, grey) {
            case (.l2, true): return [0, 0.5, 1, 1.5, 2]
            case (.l2, false): return [0, 0.1, 0.2, 0.3, 0.4, 0.5]
            case (.linf, true): return [0, 0.05, 0.1, 0.2, 0.3]
            case (.linf, false): return [0, 2 / 255, 4 / 255, 8 / 255]
            }
        }

        func validate() throws {
            _ = try parsedEpsilons()
            guard steps >= 1 else { throw ValidationError("--steps must be >= 1, got \(steps)") }
            if let eot, eot < 1 { throw ValidationError("--eot must be >= 1, got \(eot)") }
            if let stepSize, !(stepSize.isFinite && stepSize > 0) { throw ValidationError("--step-size must be > 0, got \(stepSize)") }
            guard testSubset >= 1 else { throw ValidationError("--test-subset must be positive, got \(testSubset)") }
            guard ttn >= 0 else { throw ValidationError("--ttn must be >= 0, got \(ttn)") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
            if let out, out.isEmpty { throw ValidationError("--out needs a directory") }
        }

        struct ModelReport: Encodable {
            let checkpoint: String, name: String, noise: String, sigma: Float, test_sigma: Float, eot_samples: Int
            let ttn_samples: Int, results: [RobustAccuracyPoint], seconds: Double
        }

        struct Report: Encodable {
            let norm: String, steps: Int, method: String, step_size: Float?, random_start: Bool?, epsilons: [Float], n: Int
            let dataset: String, seed: UInt64, ttn_samples: Int, models: [ModelReport], results: [RobustAccuracyPoint]
            let files: [String], threads: Int
            /// The processes of a `--distributed` run (absent otherwise, and in attack.json).
            let ranks: Int?

            func encode(to encoder: Encoder) throws {
                // Every key is always present (null when there is no value), but ranks.
                enum K: String, CodingKey {
                    case norm, steps, method, step_size, random_start, epsilons, n, dataset, seed, ttn_samples, models, results, files, threads
                    case ranks
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(norm, forKey: .norm); try c.encode(steps, forKey: .steps); try c.encode(method, forKey: .method)
                try c.encode(step_size, forKey: .step_size); try c.encode(random_start, forKey: .random_start)
                try c.encode(epsilons, forKey: .epsilons); try c.encode(n, forKey: .n); try c.encode(dataset, forKey: .dataset)
                try c.encode(seed, forKey: .seed); try c.encode(ttn_samples, forKey: .ttn_samples); try c.encode(models, forKey: .models)
                try c.encode(results, forKey: .results); try c.encode(files, forKey: .files); try c.encode(threads, forKey: .threads)
                try c.encodeIfPresent(ranks, forKey: .ranks)
            }
        }

        func run() throws {
            try threadOptions.apply()
            try distributedOptions.run(attack)
        }

        /// The attacks as one of `communicator`'s processes: each model's batches are dealt over
        /// them; rank 0 prints and writes the files.
        private func attack(_ communicator: any Communicator) throws {
            let attackNorm = norm
            let outDirectory = out.map { URL(fileURLWithPath: NSString(string: $0).expandingTildeInPath).standardizedFileURL }
            if let outDirectory, communicator.isRoot {
                try FileManager.default.createDirectory(at: outDirectory, withIntermediateDirectories: true)
            }
            let loaded = try models.loadModels()
            let datasetName = models.datasetName(loaded)
            let test = try models.testSet(loaded, count: testSubset)
            let epsilons = try parsedEpsilons() ?? Self.defaultEpsilons(dataset: datasetName, norm: attackNorm)
            let update: PGDUpdateRule = method == .adam ? .adam(learningRate: stepSize ?? 0.005)
                                                         : .madry(stepSize: stepSize, randomStart: randomStart)
            let settings = RobustAccuracy(norm: attackNorm, epsilons: epsilons, steps: steps, update: update, eotSamples: eot,
                                          ttnSamples: ttn, batchSize: batchSize, seed: seed)

            var curves: [RobustAccuracyFigure.Curve] = []
            var reports: [ModelReport] = []
            for entry in loaded {
                let k = settings.effectiveEOTSamples(for: entry.model)
                if communicator.isRoot {
                    status("Attacking \(entry.name) on \(test.count) \(datasetName) test images: \(norm.rawValue) PGD (\(method.rawValue)), \(steps) steps, "
                           + "EOT K = \(k)\(k > 1 ? " and K = 1" : ""), ε ∈ {\(epsilons.map { String(format: "%g", Double($0)) }.joined(separator: ", "))}, "
                           + "\(Parallel.threadCount) threads" + (communicator.size > 1 ? ", \(communicator.size) processes" : ""))
                }
                var bar = ProgressBar(title: "attack", total: 1, unit: "batch")
                let result = try settings.run(entry.model, on: test, communicator: communicator) { done, total in
                    guard communicator.isRoot else { return }
                    bar.total = total
                    bar.update(done)
                }
                curves.append(.init(name: entry.name, result: result))
                reports.append(ModelReport(checkpoint: entry.directory.path, name: entry.name, noise: entry.configuration.noise.rawValue,
                                           sigma: entry.configuration.sigma, test_sigma: result.testSigma, eot_samples: result.eotSamples,
                                           ttn_samples: ttn, results: result.points, seconds: result.seconds))
            }
            guard communicator.isRoot else { return }
            var files: [String] = []
            let isAdam = method == .adam
            let report = { (files: [String], ranks: Int?) in
                Report(norm: norm.rawValue, steps: steps, method: method.rawValue, step_size: isAdam ? (stepSize ?? 0.005) : stepSize,
                       random_start: isAdam ? nil : randomStart, epsilons: epsilons, n: test.count, dataset: datasetName, seed: seed,
                       ttn_samples: ttn, models: reports, results: reports[0].results, files: files, threads: Parallel.threadCount,
                       ranks: ranks)
            }
            if let outDirectory {
                let csv = outDirectory.appendingPathComponent("attack.csv"), svg = outDirectory.appendingPathComponent("attack.svg")
                let jsonURL = outDirectory.appendingPathComponent("attack.json")
                files = [csv.path, jsonURL.path, svg.path]
                try RobustAccuracyFigure(curves: curves).write(csv: csv, svg: svg)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                try AtomicFile.write(try encoder.encode(report(files, nil)), to: jsonURL)
            }
            if json { try printJSON(report(files, distributedOptions.distributed ? communicator.size : nil)); return }

            print("\(norm.rawValue) PGD (\(method.rawValue), \(steps) steps) on \(test.count) \(datasetName) test images; accuracy in %")
            for curve in curves {
                let r = curve.result
                print("\(curve.name): test σ = \(r.testSigma), EOT K = \(r.eotSamples), TTN K = \(r.ttnSamples)")
                print("  " + ["ε", "plain", "TTN", "plain K=1", "TTN K=1", "mean ‖δ‖"].map { pad($0, 10) }.joined())
                for p in r.points {
                    let cells = [String(format: "%g", Double(p.epsilon)), percent(p.accuracy), percent(p.accuracyTTN),
                                 percent(p.accuracyNoEOT), percent(p.accuracyTTNNoEOT), String(format: "%.4f", p.meanNorm)]
                    print("  " + cells.map { pad($0, 10) }.joined())
                }
            }
            for file in files { print("wrote \(file)") }
        }
    }
}

/// `value` as a percentage with two decimals, or "-" for `nil`.
private func percent(_ value: Double?) -> String { value.map { String(format: "%.2f", 100 * $0) } ?? "-" }

/// `text` followed by spaces up to `width` characters.
private func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
