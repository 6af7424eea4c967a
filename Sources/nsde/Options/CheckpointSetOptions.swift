import ArgumentParser
import Foundation
import NeuralSDE

/// `--checkpoint DIR` (repeatable), `--dataset`, `--data-dir`: the trained models to compare and
/// the test set they are compared on, for `nsde attack` and `nsde perturb`.
struct CheckpointSetOptions: ParsableArguments {
    @Option(name: .customLong("checkpoint"),
            help: ArgumentHelp("A `nsde train` output directory (checkpoint.json + model.safetensors); repeat to compare models.",
                               valueName: "dir"))
    var checkpoints: [String] = []
    @Option(help: "Dataset (default: the first checkpoint's).")
    var dataset: DatasetName?
    @Option(help: ArgumentHelp("Directory of the dataset's files (default: the first checkpoint's, else the dataset's standard place).",
                               valueName: "dir"))
    var dataDir: String?

    /// One loaded model: its directory, legend name and configuration.
    struct LoadedModel {
        let directory: URL
        let model: PaperClassifier
        let configuration: ModelConfiguration
        let dataset: String
        let dataDirectory: String?

        /// "directory-name (noise σ = s)".
        var name: String {
            let noise = configuration.noise == .ode ? "ode" : String(format: "%@ σ = %g", configuration.noise.rawValue, Double(configuration.sigma))
            return "\(directory.lastPathComponent) (\(noise))"
        }
    }

    /// The checkpoint directories as standardized file URLs.
    var directories: [URL] {
        checkpoints.map { URL(fileURLWithPath: NSString(string: $0).expandingTildeInPath).standardizedFileURL }
    }

    func validate() throws {
        guard !checkpoints.isEmpty else { throw ValidationError("give at least one --checkpoint DIR (a `nsde train` output directory)") }
        for url in directories where !FileManager.default.fileExists(atPath: url.appendingPathComponent(Checkpoint.stateFileName).path) {
            throw ValidationError("--checkpoint: no nsde checkpoint at \(url.path) (expected \(url.appendingPathComponent(Checkpoint.stateFileName).path), written by `nsde train --out`)")
        }
    }

    /// Loads every checkpoint (in evaluation mode).
    func loadModels() throws -> [LoadedModel] {
        try directories.map { url in
            let (model, state) = try Checkpoint.loadClassifier(from: url)
            return LoadedModel(directory: url, model: model, configuration: state.configuration.model,
                               dataset: state.configuration.dataset, dataDirectory: state.configuration.dataDirectory)
        }
    }

    /// The dataset's name: --dataset, else the first model's.
    func datasetName(_ models: [LoadedModel]) -> String { dataset?.rawValue ?? models[0].dataset }

    /// The first `count` test images of ``datasetName(_:)`` (all when `nil`), from --data-dir, else the
    /// first model's data directory when it trained on that dataset.
    func testSet(_ models: [LoadedModel], count: Int?) throws -> InMemoryImageDataset {
        let name = datasetName(models)
        let stored = models.first { $0.dataset == name }?.dataDirectory
        var test = try TrainingData.load(name, split: .test, dataDirectory: dataDir ?? stored)
        if let count, count < test.count { test = test.subset(count) }
        for m in models {
            do { try m.configuration.checkCompatible(with: test, split: "\(name) test") } catch {
                throw ValidationError("\(m.directory.path): \(error)")
            }
        }
        return test
    }
}
