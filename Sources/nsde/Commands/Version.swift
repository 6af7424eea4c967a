import ArgumentParser
import NeuralSDE

extension NSDE {
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the version of nsde and the library.")
        func run() { print(NeuralSDEVersion.string) }
    }
}
