import ArgumentParser
import Foundation
import NeuralSDE

/// `--checkpoint DIR` or `--model-file FILE`: the trained classifier of `nsde eval` and
/// `nsde stability model`. `--weights FILE` is a hidden older spelling of `--model-file`.
struct ModelSourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A `nsde train` output directory (checkpoint.json + model.safetensors).", valueName: "dir"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("A model.safetensors file (a state_dict) instead of --checkpoint; one written by nsde carries its configuration in its metadata.",
                               valueName: "file"))
    var modelFile: String?
    @Option(name: .customLong("weights"), help: ArgumentHelp("The older spelling of --model-file.", valueName: "file", visibility: .hidden))
    var weights: String?

    /// A model read from a checkpoint directory or a model file.
    struct StoredModel {
        /// The model's configuration: the checkpoint's, the file's metadata, or the fallback.
        var configuration: ModelConfiguration
        /// The state_dict.
        let tensors: [String: Tensor]
        /// The checkpoint directory or the model file, standardized.
        let url: URL
        /// The checkpoint's state; `nil` for a model file.
        let checkpointState: CheckpointState?
    }

    /// The model file: --model-file, else --weights.
    var file: String? { modelFile ?? weights }

    /// How many of --checkpoint and --model-file were given (0, 1 or 2); the commands say how many
    /// they take.
    var givenCount: Int { (checkpoint == nil ? 0 : 1) + (file == nil ? 0 : 1) }

    func validate() throws {
        if modelFile != nil && weights != nil {
            throw ValidationError("--weights is the older spelling of --model-file: give one of them, not both")
        }
    }

    /// Reads the checkpoint or the model file (`nil` when neither was given). A model file without
    /// nsde metadata takes the configuration `fallback()` describes.
    func read(fallback: () -> ModelConfiguration) throws -> StoredModel? {
        if let checkpoint {
            let url = expandedURL(checkpoint)
            let saved = try Checkpoint.read(from: url)
            return StoredModel(configuration: saved.state.configuration.model, tensors: saved.model, url: url, checkpointState: saved.state)
        }
        guard let file else { return nil }
        let url = expandedURL(file)
        let (tensors, metadata) = try SafeTensors.read(from: url)
        let configuration = try Checkpoint.modelConfiguration(metadata: metadata) ?? fallback()
        return StoredModel(configuration: configuration, tensors: tensors, url: url, checkpointState: nil)
    }

    private func expandedURL(_ path: String) -> URL {
        URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardizedFileURL
    }
}
