import ArgumentParser
import Foundation
import NeuralSDE

/// How `nsde stability model` finds its classifier: a checkpoint directory, a weights file, or random
/// initial weights of the configuration the options describe.
extension NSDE.Stability.ModelExponent {
    func loadModel() throws -> (net: PaperClassifier, configuration: ModelConfiguration, source: String, path: String?, dataset: String?) {
        func expand(_ path: String) -> URL { URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardizedFileURL }
        let requestedDataset = dataset.flatMap(DatasetName.init(rawValue:)) ?? .fashionMNIST
        var configuration: ModelConfiguration
        var tensors: [String: Tensor]?
        var source = "random-init", path: String?, datasetName: String?
        if let checkpoint {
            let dir = expand(checkpoint)
            let saved = try Checkpoint.read(from: dir)
            configuration = saved.state.configuration.model
            tensors = saved.model
            datasetName = saved.state.configuration.dataset
            source = "checkpoint"; path = dir.path
        } else if let weights {
            let url = expand(weights)
            let (read, metadata) = try SafeTensors.read(from: url)
            tensors = read
            configuration = try Checkpoint.modelConfiguration(metadata: metadata)
                ?? ModelConfiguration(architecture: model.flatMap(ModelConfiguration.Architecture.init(rawValue:)) ?? .paperSmall,
                                      inChannels: requestedDataset.info.channels, classes: requestedDataset.info.classCount, width: width,
                                      noise: noise.flatMap(BlockNoise.init(rawValue:)) ?? .ode)
            source = "weights"; path = url.path
        } else {
            configuration = ModelConfiguration(architecture: model.flatMap(ModelConfiguration.Architecture.init(rawValue:)) ?? .paperSmall,
                                               inChannels: requestedDataset.info.channels, classes: requestedDataset.info.classCount,
                                               width: width, noise: noise.flatMap(BlockNoise.init(rawValue:)) ?? .ode,
                                               sigma: sigma ?? 0)
        }
        if tensors != nil {
            if let model, let a = ModelConfiguration.Architecture(rawValue: model) { configuration.architecture = a }
            if let width { configuration.width = width }
        }
        if let solver, let s = SolverKind(rawValue: solver) { configuration.solver = s }
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
