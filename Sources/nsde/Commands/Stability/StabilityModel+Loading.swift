import ArgumentParser
import Foundation
import NeuralSDE

/// How `nsde stability model` finds its classifier: a checkpoint directory, a model file, or random
/// initial weights of the configuration the options describe.
extension NSDE.Stability.ModelExponent {
    func loadModel() throws -> (net: PaperClassifier, configuration: ModelConfiguration, source: String, path: String?, dataset: String?) {
        let requestedDataset: DatasetName
        if case .dataset(let name) = dataset { requestedDataset = name } else { requestedDataset = .fashionMNIST }
        func described(sigma: Float) -> ModelConfiguration {
            ModelConfiguration(architecture: model ?? .paperSmall, inChannels: requestedDataset.info.channels,
                               classes: requestedDataset.info.classCount, width: width, noise: noise ?? .ode, sigma: sigma)
        }
        var configuration: ModelConfiguration
        var tensors: [String: Tensor]?
        var source = "random-init", path: String?, datasetName: String?
        if let stored = try modelSource.read(fallback: { described(sigma: 0) }) {
            configuration = stored.configuration
            tensors = stored.tensors
            datasetName = stored.checkpointState?.configuration.dataset
            source = stored.checkpointState == nil ? "weights" : "checkpoint"; path = stored.url.path
            if let model { configuration.architecture = model }
            if let width { configuration.width = width }
        } else {
            configuration = described(sigma: sigma ?? 0)
        }
        if let solver { configuration.solver = solver }
        try configuration.validate()
        let saved = Initializer.generator
        Initializer.manualSeed(initSeed)
        let net = configuration.makeModel()
        Initializer.generator = saved
        if let tensors { try net.loadStateDict(tensors) }
        net.eval()
        return (net, configuration, source, path, datasetName)
    }
}
