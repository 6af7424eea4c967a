import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct EvalCorrupt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval-corrupt",
            abstract: "Accuracy under common corruptions (CIFAR-10-C) without and with test-time noise: the paper's Table 2.",
            discussion: """
            For each --checkpoint (a `nsde train` output directory) and each corruption × severity, the \
            test set is corrupted and scored without TTN (test σ = 0) and with TTN (softmax averaged over \
            --ttn K noisy passes at --test-sigma, default each model's own test σ), as `nsde eval` does; \
            the clean test set is scored too, for reference.

            Corrupted sets: by default the clean test images of --dataset are corrupted in memory with \
            this library's 15 CIFAR-10-C corruptions (any size, RGB or greyscale, e.g. Fashion-MNIST); \
            image i of corruption c at severity s uses the Philox stream (--seed XOR FNV-1a(c), s << 48 | i), \
            so the sets equal those `nsde corrupt --seed` writes. With --cifar10c-dir DIR the sets are read \
            from a CIFAR-10-C release instead (<corruption>.npy + labels.npy, 32x32 RGB; any of its 19 \
            names may be requested); the clean CIFAR-10 set is then scored only if it can be loaded.

            Writes, atomically, into --out: corruption.md (Table 2: rows = models w/o and with TTN, \
            columns = Clean, Level 1 … 5, Mean; then one row per corruption), corruption.csv (long format: \
            model, corruption, severity, accuracy, accuracy_ttn, n; fractions), corruption.json (what \
            --json prints) and corruption.svg (accuracy vs severity averaged over corruptions, solid w/o \
            TTN, dashed with TTN, then one panel per corruption). Prints the Markdown table, or with \
            --json one object: {dataset, source, corruptions, severities, seed, ttn, batch_size, models: \
            [{label, checkpoint, noise, sigma, test_sigma, clean: {accuracy, accuracy_ttn, n, ci95, …}, \
            mean: {accuracy, accuracy_ttn}, by_severity, by_corruption, results: [{corruption, severity, \
            accuracy, accuracy_ttn, n, ci95, ci95_ttn}], seconds}]}. Progress goes to stderr.

            Under an MPI launcher, --distributed deals each set's batches over the processes \
            (mpirun -np K nsde eval-corrupt --distributed …): the numbers equal a single process's \
            exactly; rank 0 prints and writes, and the JSON gains `ranks`.
            """)

        @Option(help: ArgumentHelp("A `nsde train` output directory (checkpoint.json + model.safetensors); repeat for several models.",
                                   valueName: "dir"))
        var checkpoint: [String] = []
        @Option(help: "Dataset of the clean test set (default: the first checkpoint's).")
        var dataset: DatasetName?
        @Option(help: ArgumentHelp("Directory of the dataset's files (default: the checkpoint's, else the dataset's standard place).",
                                   valueName: "dir"))
        var dataDir: String?
        @Option(help: ArgumentHelp("Read the corrupted sets from this CIFAR-10-C directory (or its parent) instead of corrupting in memory.",
                                   valueName: "dir"))
        var cifar10cDir: String?
        @Option(help: ArgumentHelp("Comma-separated corruption names, or 'all' (the 15 benchmark corruptions).", valueName: "list"))
        var corruptions: String = "all"
        @Option(help: ArgumentHelp("Comma-separated severities, each 1 (mildest) ... 5.", valueName: "list"))
        var severities: String = "1,2,3,4,5"
        @Option(help: "Evaluate the first this many test images of each set (default: all).")
        var testSubset: Int?
        @Option(help: "K, noisy passes averaged per image for TTN (0: no TTN; the paper's scripts use 100).")
        var ttn: Int = 10
        @Option(help: "σ of the TTN passes (default: each model's test σ, i.e. its training σ unless training set --test-sigma).")
        var testSigma: Float?
        @Option(help: "Seed of the in-memory corruptions and key of the TTN noise.")
        var seed: UInt64 = 0
        @Option(help: "Images per forward pass (the TTN noise of an image depends on its batch).")
        var batchSize: Int = 128
        @Option(help: ArgumentHelp("Output directory for corruption.{md,csv,json,svg} (created if missing).", valueName: "dir"))
        var out: String = "eval-corrupt"
        @Flag(help: "Print one JSON object (the content of corruption.json) instead of the Markdown table.")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var distributedOptions: DistributedOptions

        /// The names in --corruptions ("all": the 15 benchmark corruptions), checked against the
        /// valid names (CIFAR-10-C's 19 with --cifar10c-dir).
        func corruptionNames() throws -> [String] {
            guard corruptions != "all" else { return Corruptions.names }
            let valid = cifar10cDir == nil ? Corruptions.names : CIFAR10C.Corruption.allCases.map(\.rawValue)
            let names = corruptions.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            for name in names where !valid.contains(name) {
                throw ValidationError("--corruptions: unknown corruption '\(name)' (valid: \(valid.joined(separator: ", ")), or all)")
            }
            guard Set(names).count == names.count else { throw ValidationError("--corruptions: '\(corruptions)' names a corruption twice") }
            return names
        }

        /// The severities in --severities.
        func severityList() throws -> [Int] {
            let parts = severities.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let values = try parts.map { part -> Int in
                guard let s = Int(part), Corruptions.severities.contains(s) else {
                    throw ValidationError("--severities: severity must be 1...5, got '\(part)'")
                }
                return s
            }
            guard Set(values).count == values.count else { throw ValidationError("--severities: '\(severities)' repeats a severity") }
            return values
        }

        func validate() throws {
            guard !checkpoint.isEmpty else { throw ValidationError("give at least one --checkpoint DIR") }
            for dir in checkpoint {
                let url = Self.url(dir).appendingPathComponent(Checkpoint.stateFileName)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ValidationError("--checkpoint \(dir): no checkpoint found (\(url.path) does not exist; expected a `nsde train` output directory)")
                }
            }
            _ = try corruptionNames()
            _ = try severityList()
            guard ttn >= 0 else { throw ValidationError("--ttn must be >= 0, got \(ttn)") }
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
            if let testSubset, testSubset < 1 { throw ValidationError("--test-subset must be positive, got \(testSubset)") }
            if let testSigma, !(testSigma.isFinite && testSigma >= 0) { throw ValidationError("--test-sigma must be a finite number >= 0, got \(testSigma)") }
            guard !out.isEmpty else { throw ValidationError("--out needs a directory name") }
        }

        static func url(_ path: String) -> URL {
            URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardizedFileURL
        }

        func run() throws {
            try threadOptions.apply()
            try distributedOptions.run(evaluateCorruptions)
        }

        /// The evaluation as one of `communicator`'s processes: each set's batches are dealt over
        /// them; rank 0 prints and writes the reports.
        private func evaluateCorruptions(_ communicator: any Communicator) throws {
            let outURL = Self.url(out)
            if communicator.isRoot {
                try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
                for name in CorruptionReport.fileNames { try AtomicFile.checkWritable(outURL.appendingPathComponent(name)) }
            }
            let cifar10cURL = cifar10cDir.map(Self.url)
            let bench = try CorruptionEvaluation(corruptions: corruptionNames(), severities: severityList(),
                                                 cifar10cDirectory: cifar10cURL, testSubset: testSubset, testSigma: testSigma,
                                                 ttnSamples: ttn, batchSize: batchSize, seed: seed,
                                                 corruptionThreads: threadOptions.threads)
            try bench.checkSource()   // a missing CIFAR-10-C file fails before anything is evaluated

            // The models.
            let loaded = try checkpoint.map { dir -> (url: URL, model: PaperClassifier, state: CheckpointState) in
                let url = Self.url(dir)
                let (model, state) = try Checkpoint.loadClassifier(from: url)
                return (url, model, state)
            }
            let first = loaded[0].state.configuration
            let name = dataset?.rawValue ?? first.dataset
            if cifar10cURL != nil {
                for m in loaded where m.state.configuration.model.inChannels != 3 || m.state.configuration.model.classes != 10 {
                    let c = m.state.configuration.model
                    throw ValidationError("--cifar10c-dir: the model in \(m.url.path) takes \(c.inChannels) channel(s) and \(c.classes) classes; CIFAR-10-C needs 3 and 10")
                }
            }

            // The clean test set (required in memory; for reference with --cifar10c-dir).
            let directory = dataDir ?? (name == first.dataset ? first.dataDirectory : nil)
            var clean: InMemoryImageDataset?
            do {
                clean = try TrainingData.load(name, split: .test, dataDirectory: directory)
            } catch where cifar10cURL != nil {
                status("note: clean accuracy not reported (\(error))")
            }
            if let testSubset, let c = clean, testSubset < c.count { clean = c.subset(testSubset) }
            if let clean {
                for m in loaded {
                    do { try m.state.configuration.model.checkCompatible(with: clean, split: "\(name) test") } catch {
                        throw ValidationError("\(m.url.path): \(error)")
                    }
                }
            }

            let cells = bench.corruptions.count * bench.severities.count
            if communicator.isRoot { status("Evaluating \(loaded.count) model(s) on \(bench.corruptions.count) corruption(s) x \(bench.severities.count) severit"
                   + (bench.severities.count == 1 ? "y" : "ies") + " (\(cells) sets"
                   + (cifar10cURL.map { " from \($0.path)" } ?? " of \(clean?.count ?? 0) \(name) images corrupted in memory")
                   + "), w/o TTN" + (ttn > 0 ? " and TTN with K = \(ttn)" : "") + ", \(Parallel.threadCount) threads"
                   + (communicator.size > 1 ? ", \(communicator.size) processes" : "")) }
            // The bar starts now (so its rate counts from here); its total grows if a CIFAR-10-C
            // release has blocks other than 10,000 images.
            let perSet = cifar10cURL == nil ? (clean?.count ?? 0) : (testSubset ?? 10_000)
            var bar = ProgressBar(title: "eval-corrupt", total: loaded.count * ((clean?.count ?? 0) + cells * perSet), unit: "img")
            let results = try bench.run(loaded.map(\.model), clean: clean, communicator: communicator) { done, total, stage in
                guard communicator.isRoot else { return }
                bar.total = total
                bar.update(done, detail: stage)
            }
            guard communicator.isRoot else { return }

            let report = CorruptionReport(dataset: cifar10cURL == nil ? name : "cifar10c", entries: Self.entries(loaded, results))
            let files = try report.write(to: outURL)
            if json {
                FileHandle.standardOutput.write(try distributedOptions.addingRanks(to: report.json(), communicator))
                FileHandle.standardOutput.write(Data("\n".utf8))
                return
            }
            print(report.markdown(), terminator: "")
            status("wrote " + files.map(\.path).joined(separator: ", "))
        }

        /// Report entries with unique labels: "ODE" or "<noise> σ=<sigma>", with the checkpoint's
        /// directory name appended where two would read the same.
        static func entries(_ loaded: [(url: URL, model: PaperClassifier, state: CheckpointState)],
                            _ results: [CorruptionEvaluationResult]) -> [CorruptionReport.Entry] {
            let labels = loaded.map { m -> String in
                let c = m.state.configuration.model
                return c.noise == .ode ? "ODE" : "\(c.noise.rawValue) σ=\(c.sigma)"
            }
            return loaded.indices.map { i in
                let c = loaded[i].state.configuration.model
                let label = labels.filter { $0 == labels[i] }.count > 1 ? "\(labels[i]) [\(loaded[i].url.lastPathComponent)]" : labels[i]
                return CorruptionReport.Entry(label: label, checkpoint: loaded[i].url.path, noise: c.noise.rawValue,
                                              sigma: c.sigma, result: results[i])
            }
        }
    }
}
