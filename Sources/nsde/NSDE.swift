import ArgumentParser
import Foundation
import NeuralSDE

/// Entry point: fixes the OpenMP environment (see ``OpenMPEnvironment``), then parses the
/// command line.
@main
enum Entry {
    static func main() {
        OpenMPEnvironment.relaunchIfNeeded()
        var command: ParsableCommand
        do {
            command = try NSDE.parseAsRoot()
        } catch {
            NSDE.exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            NSDE.exit(withError: CommandFailure.readable(error))
        }
    }
}

/// An error of a command's run, shown as one readable line: Foundation file errors and decoding
/// errors become "path: reason" (``readableError(_:)``) instead of their raw
/// `NSCocoaErrorDomain` / `DecodingError` text, and any message is clipped at 2,000 characters.
/// Argument-parser errors (usage, `--help`, exit codes) pass through unchanged.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    static func readable(_ error: Error) -> Error {
        if error is ValidationError || error is CleanExit || error is ExitCode { return error }
        let text = "\(error)"
        let ns = error as NSError
        let foundation = error is DecodingError || ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain
        guard foundation || text.count > 2_000 else { return error }
        return CommandFailure(description: readableError(error))
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
