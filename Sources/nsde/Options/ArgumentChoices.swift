import ArgumentParser
import NeuralSDE

// The library's choice enums as option values: each is parsed from its raw value, and `--help`
// and the error for an unknown value list the raw values. The library modules stay free of
// ArgumentParser; the conformances live here.

extension BlockNoise: ExpressibleByArgument {}
extension SolverKind: ExpressibleByArgument {}
extension DatasetName: ExpressibleByArgument {}
extension ModelConfiguration.Architecture: ExpressibleByArgument {}
extension OptimizerConfiguration.Kind: ExpressibleByArgument {}
extension AttackNorm: ExpressibleByArgument {}
extension RobustnessPreset: ExpressibleByArgument {}

/// A preset of `nsde experiment table1` (and `sigma-search`, `robustness --models-preset`): one of
/// ``ComparisonPreset/tablePresets``; the demo's preset belongs to `nsde demo` alone.
struct TablePreset: ExpressibleByArgument {
    /// The preset.
    let preset: ComparisonPreset

    init(_ preset: ComparisonPreset) { self.preset = preset }

    init?(argument: String) {
        guard let preset = ComparisonPreset(rawValue: argument), ComparisonPreset.tablePresets.contains(preset) else { return nil }
        self.preset = preset
    }

    var defaultValueDescription: String { preset.rawValue }
    static var allValueStrings: [String] { ComparisonPreset.tablePresets.map(\.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

/// A dataset `nsde train` can learn from: every ``DatasetName`` but cifar10c, which has no training
/// split.
struct TrainableDataset: ExpressibleByArgument {
    /// The dataset.
    let name: DatasetName

    init?(argument: String) {
        guard let name = DatasetName(rawValue: argument), name != .cifar10c else { return nil }
        self.name = name
    }

    var defaultValueDescription: String { name.rawValue }
    static var allValueStrings: [String] { DatasetName.allCases.filter { $0 != .cifar10c }.map(\.rawValue) }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

/// Where `nsde stability model` takes its initial states h_0 from: a trainable dataset's test
/// images, or `random` images.
enum InitialStateSource: ExpressibleByArgument, Equatable {
    case dataset(DatasetName)
    case random

    init?(argument: String) {
        if argument == "random" {
            self = .random
        } else if let trainable = TrainableDataset(argument: argument) {
            self = .dataset(trainable.name)
        } else {
            return nil
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .dataset(let name): return name.rawValue
        case .random: return "random"
        }
    }

    static var allValueStrings: [String] { TrainableDataset.allValueStrings + ["random"] }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}
