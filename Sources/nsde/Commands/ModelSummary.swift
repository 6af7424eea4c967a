import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE.Model {
    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a paper classifier's parameter counts per module and its state_dict names and shapes.",
            discussion: """
            The paper's counts: paper-small 115,594 parameters (3 input channels, 10 classes), 114,442 \
            (1 channel); paper-big 2,440,202 (10 classes). Names are PyTorch state_dict names, as in \
            model.safetensors.
            """)

        @Option(help: "Model architecture.")
        var model: ModelConfiguration.Architecture = .paperSmall
        @Option(help: "Input channels (1 grey, 3 colour).")
        var inChannels: Int = 3
        @Option(help: "Number of classes.")
        var classes: Int = 10
        @Option(help: "Channels of the SDE block (default 64 for paper-small, 256 for paper-big).")
        var width: Int?
        @Option(help: "GroupNorm groups of the SDE block and head; must divide the width (default: the paper's min(32, width)). Parameter counts do not depend on it.")
        var gnGroups: Int?
        @Option(help: "Noise of the SDE block (learned adds a diffusion network).")
        var noise: BlockNoise = .ode
        @Flag(help: "Print one JSON object: model, in_channels, classes, width, gn_groups, noise, parameters, modules [{name, parameters}], state_dict [{name, shape}].")
        var json = false

        struct ModuleCount: Encodable { let name: String, parameters: Int }
        struct Entry: Encodable { let name: String, shape: [Int] }
        struct Report: Encodable {
            let model: String, in_channels: Int, classes: Int, width: Int, gn_groups: Int, noise: String
            let parameters: Int
            let modules: [ModuleCount]
            let state_dict: [Entry]
        }

        func validate() throws {
            guard inChannels > 0, classes > 0 else { throw ValidationError("--in-channels and --classes must be positive") }
            if let width, width < 1 { throw ValidationError("--width must be positive, got \(width)") }
            let configuration = ModelConfiguration(architecture: model, width: width, groupNormGroups: gnGroups)
            if let gnGroups, !(gnGroups >= 1 && configuration.width % gnGroups == 0) {
                throw ValidationError("--gn-groups must be a positive divisor of the width \(configuration.width), got \(gnGroups)")
            }
            var full = configuration
            full.inChannels = inChannels
            full.classes = classes
            do { try full.validate() } catch { throw ValidationError("\(error)") }
        }

        func run() throws {
            let configuration = ModelConfiguration(architecture: model, inChannels: inChannels, classes: classes, width: width,
                                                   noise: noise, groupNormGroups: gnGroups)
            let net = configuration.makeModel()
            let named = net.namedParameters()
            // Every module path that owns parameters (directly or below), in first-appearance order.
            var order: [String] = [], counts: [String: Int] = [:]
            for (name, parameter) in named {
                let parts = name.split(separator: ".").dropLast()
                for depth in parts.indices {
                    let prefix = parts[...depth].joined(separator: ".")
                    if counts[prefix] == nil { order.append(prefix) }
                    counts[prefix, default: 0] += parameter.value.count
                }
            }
            let report = Report(model: model.rawValue, in_channels: inChannels, classes: classes, width: configuration.width,
                                gn_groups: configuration.effectiveGroupNormGroups, noise: noise.rawValue, parameters: net.parameterCount,
                                modules: order.map { ModuleCount(name: $0, parameters: counts[$0]!) },
                                state_dict: named.map { Entry(name: $0.name, shape: $0.parameter.shape) })
            if json { try printJSON(report); return }
            print("\(model): \(inChannels) input channels, \(classes) classes, width \(configuration.width) "
                  + "(\(configuration.effectiveGroupNormGroups) GroupNorm groups), \(noise) noise")
            print("parameters: \(report.parameters)")
            print("modules:")
            for m in report.modules {
                let depth = m.name.split(separator: ".").count - 1
                print(String(repeating: "  ", count: depth + 1) + padded(m.name, 28 - 2 * depth)
                      + String(format: "%10d", m.parameters))
            }
            print("state_dict:")
            for e in report.state_dict { print("  \(padded(e.name, 28)) \(e.shape)") }
        }
    }
}

/// `text` followed by spaces up to `width` characters (never truncated).
private func padded(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}
