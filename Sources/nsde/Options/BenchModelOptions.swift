import ArgumentParser
import NeuralSDE

/// The randomly initialised paper model that `nsde bench eval` and `nsde bench train-step` time:
/// architecture, width, noise, σ and steps of its SDE block. Each command checks the values
/// against its other options.
struct BenchModelOptions: ParsableArguments {
    @Option(help: "Model preset.")
    var model: ModelConfiguration.Architecture = .paperSmall
    @Option(help: "Channels of the SDE block (default: the paper's, 64 for paper-small, 256 for paper-big).")
    var width: Int?
    @Option(help: "Noise of the SDE block.")
    var noise: BlockNoise = .dropout
    @Option(help: "Noise scale σ of the SDE block (`bench eval` also uses it for the TTN passes).")
    var sigma: Float = 0.5
    @Option(help: "Euler–Maruyama steps in the SDE block.")
    var steps: Int = 11
}
