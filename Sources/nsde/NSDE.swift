import ArgumentParser
import NeuralSDE

@main
struct NSDE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsde",
        abstract: "Neural SDEs in Swift: continuous-depth networks with stochastic noise.")
}
