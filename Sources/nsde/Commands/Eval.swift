import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a trained classifier without and with test-time noise (TTN).",
            discussion: """
            Accuracy without TTN uses test σ = 0. With --ttn K > 0, each test image's softmax is \
            averaged over K noisy passes at --test-sigma and the argmax taken (the paper's TTN, K = 100); \
            the noise is the Brownian streams 0, 1, … of key --seed, batch by batch, so a result is \
            reproducible for the same --seed and --batch-size. When the passes draw no noise (σ = 0 or an \
            ODE block) one pass serves for all K and the TTN accuracy equals the plain one.

            The 95 % confidence intervals are Wilson score intervals for a binomial proportion over the \
            test images (they do not cover the variation between training runs or noise draws).

            The model comes from --checkpoint DIR (a `nsde train` output directory: its configuration \
            gives the architecture, noise, σ and dataset) or from --model-file FILE.safetensors (a \
            model.safetensors written by nsde carries its configuration in its metadata; for other \
            files give --model, --width, --noise, --steps). --confusion writes the confusion matrix \
            (rows true class, columns predicted; TTN predictions when --ttn > 0) as CSV, atomically.

            Under an MPI launcher, --distributed deals the batches over the processes \
            (mpirun -np K nsde eval --distributed …): the numbers equal a single process's exactly, \
            rank 0 prints them and writes --confusion, and the JSON gains `ranks`.
            """)

        @OptionGroup var modelSource: ModelSourceOptions
        @Option(help: "Dataset (default: the checkpoint's; fashion-mnist for a model file without one).")
        var dataset: DatasetName?
        @Option(help: ArgumentHelp("Directory of the dataset's files (default: the checkpoint's, else the dataset's standard place).", valueName: "dir"))
        var dataDir: String?
        @Option(help: "σ of the TTN passes (default: the model's test σ, i.e. its training σ unless training set --test-sigma).")
        var testSigma: Float?
        @Option(help: "K, noisy passes averaged per image (0: no TTN).")
        var ttn: Int = 100
        @Option(help: "Seed of the TTN noise.")
        var seed: UInt64 = 0
        @Option(help: "Evaluate the first this many test images (default: all).")
        var testSubset: Int?
        @Option(help: "Images per forward pass (the TTN noise of an image depends on its batch).")
        var batchSize: Int = 128
        @Option(help: ArgumentHelp("Write the confusion matrix as CSV to this file (its directory must exist).", valueName: "file.csv"))
        var confusion: String?
        @Option(help: "With --model-file without nsde metadata: the architecture.")
        var model: ModelConfiguration.Architecture?
        @Option(help: "With --model-file without nsde metadata: channels of the SDE block.")
        var width: Int?
        @Option(help: "With --model-file without nsde metadata: noise of the SDE block.")
        var noise: BlockNoise?
        @Option(help: "Solver steps on [0, 1] (default: the model's, else 11).")
        var steps: Int?
        @Option(help: "SDE solver (default: the model's, else euler-maruyama).")
        var solver: SolverKind?
        @Flag(help: "Print one JSON object: accuracy, accuracy_ttn, ttn_samples, ci95, ci95_ttn, per_class, n, nll, nll_ttn, test_sigma, …")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var distributedOptions: DistributedOptions

        struct ClassReport: Encodable {
            let label: Int, name: String, n: Int
            let accuracy: Double?, accuracy_ttn: Double?

            func encode(to encoder: Encoder) throws {
                enum K: String, CodingKey { case label, name, n, accuracy, accuracy_ttn }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(label, forKey: .label); try c.encode(name, forKey: .name); try c.encode(n, forKey: .n)
                try c.encode(accuracy, forKey: .accuracy); try c.encode(accuracy_ttn, forKey: .accuracy_ttn)
            }
        }

        struct Report: Encodable {
            let accuracy: Double, accuracy_ttn: Double?, ttn_samples: Int
            let ci95: [Double], ci95_ttn: [Double]?, ci_method: String
            let correct: Int, correct_ttn: Int?, n: Int
            let nll: Double, nll_ttn: Double?
            let per_class: [ClassReport]
            let test_sigma: Float, seed: UInt64, batch_size: Int
            let dataset: String, model: String, width: Int, noise: String, sigma: Float, steps: Int, solver: String
            let parameters: Int, checkpoint: String?, model_file: String?, epoch: Int?
            let confusion: String?, seconds: Double, threads: Int
            /// The processes of a `--distributed` run (absent otherwise).
            let ranks: Int?

            func encode(to encoder: Encoder) throws {
                // Every key is always present (null when there is no value).
                enum K: String, CodingKey {
                    case accuracy, accuracy_ttn, ttn_samples, ci95, ci95_ttn, ci_method, correct, correct_ttn, n, nll, nll_ttn
                    case per_class, test_sigma, seed, batch_size, dataset, model, width, noise, sigma, steps, solver
                    case parameters, checkpoint, model_file, epoch, confusion, seconds, threads, ranks
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(accuracy, forKey: .accuracy); try c.encode(accuracy_ttn, forKey: .accuracy_ttn)
                try c.encode(ttn_samples, forKey: .ttn_samples); try c.encode(ci95, forKey: .ci95)
                try c.encode(ci95_ttn, forKey: .ci95_ttn); try c.encode(ci_method, forKey: .ci_method)
                try c.encode(correct, forKey: .correct); try c.encode(correct_ttn, forKey: .correct_ttn); try c.encode(n, forKey: .n)
                try c.encode(nll, forKey: .nll); try c.encode(nll_ttn, forKey: .nll_ttn); try c.encode(per_class, forKey: .per_class)
                try c.encode(test_sigma, forKey: .test_sigma); try c.encode(seed, forKey: .seed); try c.encode(batch_size, forKey: .batch_size)
                try c.encode(dataset, forKey: .dataset); try c.encode(model, forKey: .model); try c.encode(width, forKey: .width)
                try c.encode(noise, forKey: .noise); try c.encode(sigma, forKey: .sigma); try c.encode(steps, forKey: .steps)
                try c.encode(solver, forKey: .solver); try c.encode(parameters, forKey: .parameters)
                try c.encode(checkpoint, forKey: .checkpoint); try c.encode(model_file, forKey: .model_file)
                try c.encode(epoch, forKey: .epoch); try c.encode(confusion, forKey: .confusion)
                try c.encode(seconds, forKey: .seconds); try c.encode(threads, forKey: .threads)
                try c.encodeIfPresent(ranks, forKey: .ranks)
            }
        }

        func validate() throws {
            guard modelSource.givenCount == 1 else {
                throw ValidationError("give exactly one of --checkpoint DIR and --model-file FILE")
            }
            if let testSigma, !(testSigma.isFinite && testSigma >= 0) { throw ValidationError("--test-sigma must be a finite number >= 0, got \(testSigma)") }
            guard ttn >= 0 else { throw ValidationError("--ttn must be >= 0, got \(ttn)") }
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
            if let testSubset, testSubset < 1 { throw ValidationError("--test-subset must be positive, got \(testSubset)") }
            for (flag, value) in [("--width", width), ("--steps", steps)] {
                if let value, value < 1 { throw ValidationError("\(flag) must be a positive integer, got \(value)") }
            }
            if let confusion, confusion.isEmpty { throw ValidationError("--confusion needs a file name") }
        }

        func run() throws {
            try threadOptions.apply()
            try distributedOptions.run(evaluate)
        }

        private func evaluate(_ communicator: any Communicator) throws {
            let confusionURL = confusion.map { URL(fileURLWithPath: NSString(string: $0).expandingTildeInPath).standardizedFileURL }
            if let confusionURL, communicator.isRoot { try AtomicFile.checkWritable(confusionURL) }   // fail before evaluating

            // The model's configuration and weights.
            let fileDataset = dataset ?? .fashionMNIST
            let stored = try modelSource.read {
                ModelConfiguration(architecture: model ?? .paperSmall, inChannels: fileDataset.info.channels,
                                   classes: fileDataset.info.classCount, width: width, noise: noise ?? .ode)
            }!
            let trained = stored.checkpointState?.configuration
            let name = dataset?.rawValue ?? trained?.dataset ?? fileDataset.rawValue
            let storedDataDirectory = name == trained?.dataset ? trained?.dataDirectory : nil
            let epoch = stored.checkpointState?.epoch
            let checkpointPath = trained == nil ? nil : stored.url.path, modelFilePath = trained == nil ? stored.url.path : nil
            var modelConfiguration = stored.configuration
            if let model { modelConfiguration.architecture = model }
            if let width { modelConfiguration.width = width }
            if let noise { modelConfiguration.noise = noise }
            if let steps { modelConfiguration.steps = steps }
            if let solver { modelConfiguration.solver = solver }
            try modelConfiguration.validate()
            let net = modelConfiguration.makeModel()
            try net.loadStateDict(stored.tensors)

            // The data.
            var test = try TrainingData.load(name, split: .test, dataDirectory: dataDir ?? storedDataDirectory)
            if let testSubset, testSubset < test.count { test = test.subset(testSubset) }
            try modelConfiguration.checkCompatible(with: test, split: "\(name) test")
            let sigma = testSigma ?? modelConfiguration.testSigma

            let start = Date()
            var bar = ProgressBar(title: "eval", total: test.count, unit: "img")
            let processes = communicator.size > 1 ? ", \(communicator.size) processes" : ""
            if communicator.isRoot { status("Evaluating \(modelConfiguration.architecture.rawValue) (\(net.parameterCount) parameters, \(modelConfiguration.noise.rawValue) noise) "
                   + "on \(test.count) \(name) test images: w/o TTN" + (ttn > 0 ? " and TTN with K = \(ttn), σ = \(sigma)" : "")
                   + ", \(Parallel.threadCount) threads\(processes)") }
            let result = try NeuralSDE.evaluate(net, on: test, testSigma: sigma, ttnSamples: ttn, batchSize: batchSize, seed: seed,
                                                communicator: communicator) { done, _ in
                if communicator.isRoot { bar.update(done) }
            }
            guard communicator.isRoot else { return }
            let headline = result.ttn ?? result.plain
            if let confusionURL { try AtomicFile.write(headline.confusion.csv(classNames: test.classes), to: confusionURL) }

            let plainPerClass = result.plain.perClassAccuracy, ttnPerClass = result.ttn?.perClassAccuracy
            let support = result.plain.confusion.support
            let perClass = test.classes.indices.map { c in
                ClassReport(label: c, name: test.classes[c], n: support[c], accuracy: plainPerClass[c], accuracy_ttn: ttnPerClass?[c] ?? nil)
            }
            func interval(_ ci: ConfidenceInterval) -> [Double] { [ci.lower, ci.upper] }
            let report = Report(
                accuracy: result.accuracy, accuracy_ttn: result.accuracyTTN, ttn_samples: ttn,
                ci95: interval(result.plain.ci95), ci95_ttn: result.ttn.map { interval($0.ci95) }, ci_method: "wilson",
                correct: result.plain.correct, correct_ttn: result.ttn?.correct, n: result.count,
                nll: result.plain.meanNegativeLogLikelihood, nll_ttn: result.ttn?.meanNegativeLogLikelihood,
                per_class: perClass, test_sigma: sigma, seed: seed, batch_size: batchSize, dataset: name,
                model: modelConfiguration.architecture.rawValue, width: modelConfiguration.width,
                noise: modelConfiguration.noise.rawValue, sigma: modelConfiguration.sigma, steps: modelConfiguration.steps,
                solver: modelConfiguration.solver.rawValue, parameters: net.parameterCount, checkpoint: checkpointPath,
                model_file: modelFilePath, epoch: epoch, confusion: confusionURL?.path,
                seconds: Date().timeIntervalSince(start), threads: Parallel.threadCount,
                ranks: distributedOptions.distributed ? communicator.size : nil)
            if json { try printJSON(report); return }

            func line(_ label: String, _ m: ClassificationMetrics) -> String {
                String(format: "  %@ %6.2f%%  (95%% CI %.2f–%.2f%%, %d/%d correct, NLL %.4f)", label, 100 * m.accuracy,
                       100 * m.ci95.lower, 100 * m.ci95.upper, m.correct, m.count, m.meanNegativeLogLikelihood)
            }
            print("\(name) test set, \(result.count) images; \(modelConfiguration.architecture.rawValue), \(modelConfiguration.noise.rawValue) noise"
                  + (epoch.map { ", epoch \($0)" } ?? ""))
            print(line("w/o TTN (σ = 0):      ", result.plain))
            if let t = result.ttn { print(line(padded(String(format: "TTN (K = %d, σ = %g):", ttn, Double(sigma)), 22), t)) }
            print("  per class" + (result.ttn != nil ? " (w/o TTN / TTN):" : ":"))
            for r in perClass {
                let a = r.accuracy.map { String(format: "%6.2f%%", 100 * $0) } ?? "     -"
                let b = result.ttn == nil ? "" : " / " + (r.accuracy_ttn.map { String(format: "%6.2f%%", 100 * $0) } ?? "     -")
                print("    \(padded(r.name, 14)) n = \(String(format: "%5d", r.n))  \(a)\(b)")
            }
            if let confusionURL { print("  confusion matrix written to \(confusionURL.path)") }
        }
    }
}

/// `text` followed by spaces up to `width` characters (never truncated).
private func padded(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}
