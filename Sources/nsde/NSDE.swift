import ArgumentParser
import NeuralSDE

/// Entry point: fixes the OpenMP environment (see ``OpenMPEnvironment``), then parses the
/// command line.
@main
enum Entry {
    static func main() {
        OpenMPEnvironment.relaunchIfNeeded()
        NSDE.main()
    }
}

/// The `nsde` command-line tool.
struct NSDE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsde",
        abstract: "Neural SDEs in Swift: continuous-depth networks with stochastic noise (Liu et al. 2019).",
        discussion: """
        Human-readable output is the default; commands that take --json print one JSON object on \
        stdout and nothing else there.
        """,
        version: NeuralSDEVersion.string,
        subcommands: [Version.self, Info.self, Model.self, Train.self, Eval.self, Bench.self, Demo.self, Toy.self,
                      Experiment.self, Attack.self, Perturb.self, EvalCorrupt.self, Corrupt.self, Stability.self]
    )
}
