import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    /// `nsde experiment`: the paper's experiments end to end.
    struct Experiment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one of the paper's experiments end to end.",
            subcommands: [Table1.self, SigmaSearch.self, Robustness.self])
    }
}

extension NSDE.Experiment {
    /// `nsde experiment table1`: the paper's Table 1 (ODE vs additive, multiplicative and dropout
    /// SDE, without and with test-time noise).
    struct Table1: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "table1",
            abstract: "Train ODE, additive, multiplicative and dropout SDE models; evaluate each w/o and w/ TTN (paper Table 1).",
            discussion: """
            Every model gets the same seed, architecture, width, steps, optimiser, schedule and data; only \
            the SDE block's noise differs. Each model is trained into OUT/<noise>-<σ>/ (a `nsde train` \
            directory that `nsde eval`, `nsde attack` and `nsde eval-corrupt` accept), then evaluated \
            without test-time noise (σ = 0) and with TTN (softmax averaged over K noisy passes at the \
            training σ). Written into OUT: table1.md (the paper's layout plus a per-model table with 95 % \
            Wilson intervals), table1.csv, table1.json and curves.svg (training loss and test accuracy per \
            epoch).

            Presets:
              quick   Fashion-MNIST in about 30 minutes on 2 cores: width 16, 8,000 training images, \
            3 epochs (stages 2,1) in batches of 32 (the paper's model learns slowly in its first few hundred \
            updates, so a short budget needs more, smaller batches), 2,000 test images, TTN K = 10.
              overfit a regime where the ODE overfits, sized for 2 cores (about an hour for 12 runs with \
            --shard on 2 cores): width 16 with 8 GroupNorm groups, 4 Euler–Maruyama steps, 500 training images \
            for 100 epochs (stages 75,25, SGD lr 0.05, batch 32), 2,000 validation images held out of the \
            training data, 2,000 test images, TTN K = 10, 3 seeds. Choose σ first with \
            `nsde experiment sigma-search --preset overfit` and the same --out, then pass its `models` line.
              more-data the overfit preset's model and optimiser with 16 times the data: 8,000 training images \
            for 16 epochs (stages 12,4), 2,000 validation images, 2,000 test images, TTN K = 10, 3 seeds (about an \
            hour for 12 runs with --shard on 2 cores).
              paper   the authors' released setup: width 64 (paper-big 256 on STL-10), all data, stages \
            40,40,20,20 (STL-10 30,30,20,20), batch 128 (STL-10 64), TTN K = 100.
            Any option below overrides the preset (the report then names it "<preset>+overrides").

            Seeds (--seeds K): every model is trained with seeds S, S+1, … (S = --seed) into \
            OUT/<noise>-<σ>/seed-<s>/; runs of one seed share initial weights, subset, validation split and data \
            order, so the tables give mean ± sd over seeds and each SDE's difference to the ODE paired by seed \
            with its 95 % t interval ("better"/"worse" only when it excludes 0). --json adds per model: seeds, \
            accuracy_mean, accuracy_sd, accuracy_ttn_mean, train_accuracy_mean, diff_vs_ode_mean, \
            diff_vs_ode_ci95, verdict and per_seed (percent).

            An interrupted experiment continues where it stopped when run again with the same options and \
            --out: finished models are only re-evaluated, a partly trained one resumes from its last \
            checkpoint. A directory holding a different run is an error, never overwritten.

            Under an MPI launcher, --distributed spreads the runs (models x seeds) over the processes \
            (mpirun -np K nsde experiment table1 --distributed …; run i goes to process i mod K, as \
            --shard does), then rank 0 reads every run's results and writes the reports; the JSON \
            gains `ranks`. Runs a killed job left half done resume on the next launch.
            """)

        @Option(help: "Preset: the budget, described above.")
        var preset = TablePreset(.quick)
        @OptionGroup var options: ComparisonOptions
        @OptionGroup var distributedOptions: DistributedOptions

        func run() throws {
            let preset = self.preset.preset
            let configuration = try options.configuration(preset: preset)
            try distributedOptions.run { communicator in
                try options.run(configuration, name: "table1", preset: preset, communicator: communicator,
                                distributedOptions: distributedOptions)
            }
        }
    }
}

extension NSDE.Experiment {
    /// `nsde experiment sigma-search`: σ per noise type chosen on a validation split.
    struct SigmaSearch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sigma-search",
            abstract: "Train each noise type at a grid of σ (and the ODE) and choose σ per noise type on a validation split.",
            discussion: """
            As the paper searched σ per noise type and data set: every noise type of --noises is trained at \
            every σ of --sigmas, and the ODE once, each with the preset's budget and the same seeds (--seeds), \
            then evaluated w/o and w/ TTN on the validation split (--val-size training images held out of the \
            training data, seeded) — never on the test set. The σ with the best mean validation accuracy w/o \
            TTN is chosen per noise type (ties: the smaller σ). Written into OUT (default \
            runs/sigma-search-<preset>): sigma-search.md, .csv, .json (grid, chosen, and `models`, the \
            --models text for `nsde experiment table1`) and sigma-search.svg (validation accuracy against σ). \
            Each run is a `nsde train` directory OUT/<noise>-<σ>[/seed-N]; an interrupted search continues \
            where it stopped, and `nsde experiment table1` with the same options and --out reuses the runs it \
            shares with the search (the ODE and the chosen σ) instead of training them again.

            Under an MPI launcher, --distributed spreads the runs over the processes (as --shard does), \
            then rank 0 reads every run's results and writes the reports; the JSON gains `ranks`.
            """)

        @Option(help: "Preset: the budget (see `nsde experiment table1 --help`).")
        var preset = TablePreset(.overfit)
        @Option(help: ArgumentHelp("Comma-separated noise types to search (default additive,multiplicative,dropout).", valueName: "list"))
        var noises: String = "additive,multiplicative,dropout"
        @Option(help: ArgumentHelp("Comma-separated σ grid (default 0.05,0.1,0.2,0.5,1).", valueName: "list"))
        var sigmas: String = SigmaSearchConfiguration.defaultSigmas.map { String(format: "%g", Double($0)) }.joined(separator: ",")
        @OptionGroup var options: ComparisonOptions
        @OptionGroup var distributedOptions: DistributedOptions

        var parsedNoises: [BlockNoise]? {
            let names = noises.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let values = names.compactMap(BlockNoise.init(rawValue:))
            return values.count == names.count && !values.isEmpty && !values.contains(.ode) && Set(values).count == values.count ? values : nil
        }
        var parsedSigmas: [Float]? {
            let values = sigmas.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! > 0 }) else { return nil }
            return values.map { $0! }
        }

        func validate() throws {
            guard parsedNoises != nil else {
                throw ValidationError("--noises must be distinct names among additive, multiplicative, dropout, learned, got '\(noises)'")
            }
            guard parsedSigmas != nil else { throw ValidationError("--sigmas must be comma-separated numbers > 0 like 0.05,0.1,0.5, got '\(sigmas)'") }
            if options.models != nil { throw ValidationError("--models does not apply to sigma-search: the grid is --noises x --sigmas") }
        }

        func run() throws {
            try options.threadOptions.apply()
            let preset = self.preset.preset
            var base = try options.configuration(preset: preset)
            if (base.training.validationSize ?? 0) < 1 { base.training.validationSize = ComparisonPreset.defaultValidationSize }
            let search = SigmaSearchConfiguration(base: base, noises: parsedNoises!, sigmas: parsedSigmas!)
            do { try search.validate() } catch { throw ValidationError("\(error)") }
            try distributedOptions.run { communicator in try run(search, preset: preset, communicator: communicator) }
        }

        /// Runs the search as one of `communicator`'s processes: its shard of the runs (or the
        /// `--shard`), then, on rank 0 once every run is done, the reports.
        private func run(_ search: SigmaSearchConfiguration, preset: ComparisonPreset, communicator: any Communicator) throws {
            let base = search.comparison
            let outURL = url(options.out ?? "runs/sigma-search-\(preset.rawValue)")
            if communicator.isRoot {
                status("sigma-search (preset \(base.preset)) on \(base.training.dataset): \(search.noises.map(\.rawValue).joined(separator: ", ")) at σ "
                       + search.sigmas.map { String(format: "%g", Double($0)) }.joined(separator: ", ") + " and the ODE; "
                       + base.budgetDescription + "; \(Parallel.threadCount) threads"
                       + (communicator.size > 1 ? ", \(communicator.size) processes" : "") + "; output in \(outURL.path)")
            }
            let display = NoiseComparisonDisplay(ttnSamples: base.ttnSamples, split: "validation")
            let dataDirectory = options.dataDir.map { url($0).path }
            let shard = try options.shard(for: communicator)
            var result = try runSigmaSearch(search, dataDirectory: dataDirectory, outputDirectory: outURL, shard: shard,
                                            progress: communicator.isRoot ? display.handler : nil)
            if communicator.size > 1 {
                try communicator.barrier()
                guard communicator.isRoot else { return }
                // Every run is finished: this only reads their results.
                result = try runSigmaSearch(search, dataDirectory: dataDirectory, outputDirectory: outURL, progress: display.handler)
            } else if let shard {
                status("shard \(shard) done (\(result.comparison.rows.count) runs); run again without --shard for the report")
                return
            }
            let files = try result.write(to: outURL)
            if options.json {
                FileHandle.standardOutput.write(try distributedOptions.addingRanks(to: result.jsonData(pretty: false), communicator))
                print()
                return
            }
            print(result.markdown())
            print("Reports: " + files.map(\.path).joined(separator: ", "))
        }

        private func url(_ path: String) -> URL { URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardizedFileURL }
    }
}

extension NSDE.Experiment {
    /// `nsde experiment robustness`: Table 2, Figure 3 and Figure 4 for an ODE and a dropout SDE.
    struct Robustness: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "robustness",
            abstract: "ODE vs dropout SDE under corruptions (Table 2), L2 PGD with EOT (Figure 3) and hidden-state perturbation (Figure 4).",
            discussion: """
            Trains a Neural ODE and a dropout Neural SDE with the Table 1 preset's budget into --runs (or \
            reuses them: complete runs of the same configuration there are only re-evaluated, so after \
            `nsde experiment table1 --preset quick` the default --runs runs/table1-quick costs no training), \
            then measures on the test set:
              Table 2   accuracy on every corruption (15) and severity (1-5), corrupted in memory with \
            the CIFAR-10-C parameters, w/o and w/ TTN;
              Figure 3  accuracy against L2 PGD (the authors' rule: Adam on the input, lr 0.005, \
            projection, clamp to [0, 1]) for each ε, w/o and w/ TTN, with EOT for the SDE (and the same \
            attack without EOT, to show how much robustness noisy gradients only fake);
              Figure 4  r(t) = ||E h_t(x_adv) - E h_t(x)|| / ||E h_t(x)|| along the SDE block (51 states).
            Written into --out (default runs/robustness-<preset>): robustness.md (the report), corruption.{md,csv,json,svg}, \
            attack.{csv,json,svg}, perturb.{csv,svg}, models.{md,csv,json} and curves.svg.

            Presets:
              quick   about 30 minutes on 2 cores once the models exist: 200 images per corruption set \
            (TTN K = 4), 20-step PGD on 100 images at ε 0, 0.5, 1, 1.5, 2 (Fashion-MNIST scale) with EOT \
            K = 4, Figure 4 on 16 images at ε = 0.5 with 10 draws.
            The model options (--models, default ode,dropout; --width, --stages, …) change the models' \
            training as in `nsde experiment table1`; --models-preset P takes the models' budget and seeds from \
            `nsde experiment table1 --preset P` (e.g. --models-preset overfit --models ode,dropout:0.3 --runs \
            runs/table1-overfit reuses those runs); --ttn sets K of every TTN prediction.

            Seeds: with several (--seeds K or the models preset's), every seed's models are measured, each \
            seed's report goes to OUT/seed-<s>/, and robustness.md, seeds.csv and seeds.json give each model's \
            mean ± sd over seeds and every SDE's difference to the ODE paired by seed with its 95 % t interval \
            (mean corrupted accuracy, its drop from clean accuracy, accuracy at each ε, r(1)); attack-mean.svg is \
            Figure 3 averaged over seeds. Each seed's measurements are kept in OUT/seed-<s>/robustness-seed.json as \
            soon as they are done: run again with the same options and a finished seed is only read.

            --json prints one JSON object (preset, dataset, files, models, corruption, attack, perturbation of \
            the first seed; seeds and summary over every seed) on stdout.
              paper   the paper's protocol (full test sets, 40-step PGD on 1,000 images, K = 100): days here.

            Under an MPI launcher, --distributed spreads the models' runs over the processes \
            (mpirun -np K nsde experiment robustness --distributed …; run i goes to process i mod K, each \
            a normal resumable run directory in --runs, which every process must see), then deals Table 2's \
            and Figure 3's batches and Figure 4's models over them; the numbers equal a single process's. \
            Rank 0 prints and writes the reports, and the JSON gains `ranks`.
            """)

        @Option(help: "The measurement budget (and, without --models-preset, the models' training budget).")
        var preset: RobustnessPreset = .quick
        @Option(help: ArgumentHelp("Train (or reuse) the models with this `nsde experiment table1` preset's budget and seeds instead of --preset's; the default --runs is then runs/table1-<it>.", valueName: "preset"))
        var modelsPreset: TablePreset?
        @Option(help: ArgumentHelp("Where the models' `nsde train` runs are or go (default: runs/table1-<preset>).", valueName: "dir"))
        var runs: String?
        @OptionGroup var options: ComparisonOptions
        @Option(help: ArgumentHelp("Comma-separated corruptions (default: all 15).", valueName: "list"))
        var corruptions: String?
        @Option(help: "Test images per corruption set (default: the preset's).")
        var corruptionImages: Int?
        @Option(help: ArgumentHelp("Comma-separated L2 radii of Figure 3 (default: the preset's).", valueName: "list"))
        var eps: String?
        @Option(help: "Test images attacked for Figure 3 (default: the preset's).")
        var attackImages: Int?
        @Option(help: "PGD iterations for Figures 3 and 4 (default: the preset's).")
        var attackSteps: Int?
        @Option(help: "K of the EOT attack on the SDE (default: the preset's).")
        var eot: Int?
        @Option(help: "Test images of Figure 4 (default: the preset's).")
        var perturbImages: Int?
        @Option(help: "Noise draws per expectation in Figure 4 (default: the preset's).")
        var draws: Int?
        @OptionGroup var distributedOptions: DistributedOptions
        func validate() throws {
            for (flag, value) in [("--corruption-images", corruptionImages), ("--attack-images", attackImages), ("--attack-steps", attackSteps),
                                  ("--eot", eot), ("--perturb-images", perturbImages), ("--draws", draws)] {
                if let value, value < 1 { throw ValidationError("\(flag) must be a positive integer, got \(value)") }
            }
            if let eps, parsedEpsilons(eps) == nil {
                throw ValidationError("--eps must be comma-separated numbers >= 0 like 0,0.5,1, got '\(eps)'")
            }
        }

        func parsedEpsilons(_ text: String) -> [Float]? {
            let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }) else { return nil }
            return values.map { $0! }
        }

        func configuration() throws -> RobustnessExperimentConfiguration {
            var c = try preset.configuration(dataset: options.dataset)
            let trainingOverrides = try options.configuration(preset: modelsComparisonPreset)
            if modelsPreset != nil {
                // The whole comparison of that preset (budget, seeds, TTN), with the robustness models.
                let models = c.models.models
                c.models = trainingOverrides
                if options.models == nil { c.models.models = models }
                c.preset += ", models \(trainingOverrides.preset)"
            } else {
                c.models.training = trainingOverrides.training
                c.models.seeds = trainingOverrides.seeds
                c.models.seedDirectories = trainingOverrides.seedDirectories
                if options.models != nil { c.models.models = trainingOverrides.models }
            }
            let ttn = options.ttn
            if let ttn { c.models.ttnSamples = ttn }
            let e = c.corruption
            do {
                c.corruption = try CorruptionEvaluation(
                    corruptions: corruptions.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? e.corruptions,
                    severities: e.severities, testSubset: corruptionImages ?? e.testSubset, ttnSamples: ttn ?? e.ttnSamples,
                    batchSize: e.batchSize, seed: e.seed)
            } catch {
                throw ValidationError("\(error)")
            }
            if let eps { c.attack.epsilons = parsedEpsilons(eps)! }
            if let attackSteps { c.attack.steps = attackSteps; c.perturbationAttackSteps = attackSteps }
            if let eot { c.attack.eotSamples = eot }
            if let ttn { c.attack.ttnSamples = ttn }
            if let attackImages { c.attackImages = attackImages }
            if let perturbImages { c.perturbationImages = perturbImages }
            if let draws { c.perturbation.draws = draws }
            if corruptions != nil || corruptionImages != nil || eps != nil || attackSteps != nil || eot != nil || ttn != nil
                || attackImages != nil || perturbImages != nil || draws != nil
                || (modelsPreset == nil && trainingOverrides.preset.hasSuffix("+overrides")) {
                // With --models-preset the models' overrides are already named after it.
                if let comma = c.preset.firstIndex(of: ",") {
                    c.preset.insert(contentsOf: "+overrides", at: comma)
                } else {
                    c.preset += "+overrides"
                }
            }
            return c
        }

        /// The comparison preset the models are trained with.
        var modelsComparisonPreset: ComparisonPreset {
            if let modelsPreset { return modelsPreset.preset }
            return preset == .quick ? .quick : .paper
        }

        struct Report: Encodable {
            struct Model: Encodable { let name: String, noise: String, sigma: Float, seed: UInt64, accuracy: Double, accuracy_ttn: Double? }
            struct Corruption: Encodable { let model: String, mean: Double, mean_ttn: Double?, by_severity: [Double], by_severity_ttn: [Double?] }
            struct Attack: Encodable { let model: String, results: [RobustAccuracyPoint] }
            struct Perturbation: Encodable { let model: String, t: [Double], relative_distance: [Double], relative_distance_std: [Double] }
            let preset: String, dataset: String, seconds: Double, files: [String]
            let models: [Model], corruption: [Corruption], attack: [Attack], perturbation: [Perturbation]
            /// The first seed's corruption, attack and perturbation above; every seed's summary here.
            let seeds: [UInt64], summary: RobustnessSeedSummary.JSONReport
            /// The processes of a `--distributed` run (absent otherwise).
            let ranks: Int?
        }

        func run() throws {
            try options.threadOptions.apply()
            let configuration = try configuration()
            try distributedOptions.run { communicator in try run(configuration, communicator: communicator) }
        }

        /// The experiment as one of `communicator`'s processes: its share of the runs, then its
        /// share of every measurement; rank 0 prints and writes the reports.
        private func run(_ configuration: RobustnessExperimentConfiguration, communicator: any Communicator) throws {
            _ = try options.shard(for: communicator)   // --shard and several processes exclude each other
            let dataset = options.dataset.rawValue, dataDir = options.dataDir
            func url(_ path: String) -> URL { URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardizedFileURL }
            let runsURL = url(runs ?? "runs/table1-\(modelsPreset?.preset.rawValue ?? preset.rawValue)"), outURL = url(options.out ?? "runs/robustness-\(preset.rawValue)")
            if communicator.isRoot {
                status("robustness (preset \(configuration.preset)) on \(dataset), \(Parallel.threadCount) threads"
                       + (communicator.size > 1 ? ", \(communicator.size) processes" : "") + "; models in \(runsURL.path), reports in \(outURL.path)")
                for line in configuration.budgetDescription { status("  " + line) }
            }
            let models = NoiseComparisonDisplay(ttnSamples: configuration.models.ttnSamples)
            var bar: ProgressBar?
            let result = try runRobustnessExperiment(configuration, dataDirectory: dataDir.map { url($0).path }, runsDirectory: runsURL,
                                                     outputDirectory: outURL, communicator: communicator) { event in
                switch event {
                case let .models(e): models.handle(e)
                case let .partStarted(part, model):
                    bar = ProgressBar(title: part, total: 1, unit: part.hasPrefix("Table 2") ? "img" : "batch")
                    status(part + (model.map { ": " + $0 } ?? ""))
                case let .progress(done, total):
                    if bar == nil { bar = ProgressBar(title: "models", total: total, unit: "") }
                    bar!.total = total
                    bar!.update(done)
                }
            }
            guard communicator.isRoot else { return }
            let files = try result.write(to: outURL)
            if options.json {
                let report = Report(
                    preset: configuration.preset, dataset: dataset, seconds: result.seconds, files: files.map(\.path),
                    models: result.models.rows.map {
                        .init(name: $0.setting.description, noise: $0.setting.noise.rawValue, sigma: $0.setting.sigma, seed: $0.seed,
                              accuracy: $0.evaluation.plain.accuracy, accuracy_ttn: $0.evaluation.ttn?.accuracy)
                    },
                    corruption: result.corruption.entries.map { e in
                        .init(model: e.label, mean: e.result.mean.accuracy, mean_ttn: e.result.mean.accuracyTTN,
                              by_severity: e.result.meanBySeverity.map(\.accuracy), by_severity_ttn: e.result.meanBySeverity.map(\.accuracyTTN))
                    },
                    attack: result.attack.curves.map { .init(model: $0.name, results: $0.result.points) },
                    perturbation: result.perturbation.curves.map {
                        .init(model: $0.name, t: $0.result.times, relative_distance: $0.result.meanRelativeDistance,
                              relative_distance_std: $0.result.stdRelativeDistance)
                    },
                    seeds: result.seeds.map(\.seed), summary: result.summary.jsonReport(),
                    ranks: distributedOptions.distributed ? communicator.size : nil)
                try printJSON(report)
                return
            }
            print(result.markdown())
            let prefix = outURL.path + "/"
            print("Reports in \(outURL.path): " + files.map { $0.path.hasPrefix(prefix) ? String($0.path.dropFirst(prefix.count)) : $0.path }
                .joined(separator: ", "))
        }
    }
}
