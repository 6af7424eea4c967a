import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    /// `nsde experiment`: the paper's experiments end to end.
    struct Experiment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one of the paper's experiments end to end.",
            subcommands: [Table1.self])
    }
}

extension NSDE.Experiment {
    /// `nsde experiment table1`: the paper's Table 1 (ODE vs additive, multiplicative and dropout
    /// SDE, without and with test-time noise).
    struct Table1: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "table1",
            abstract: "Train ODE, additive, multiplicative and dropout SDE models; evaluate each w/o and w/ TTN (paper Table 1).",
            discussion: """
            Every model gets the same seed, architecture, width, steps, optimiser, schedule and data; only \
            the SDE block's noise differs. Each model is trained into OUT/<noise>-<σ>/ (a `nsde train` \
            directory that `nsde eval`, `nsde attack` and `nsde eval-corrupt` accept), then evaluated \
            without test-time noise (σ = 0) and with TTN (softmax averaged over K noisy passes at the \
            training σ). Written into OUT: table1.md (the paper's layout plus a per-model table with 95 % \
            Wilson intervals), table1.csv, table1.json and curves.svg (training loss and test accuracy per \
            epoch).

            Presets:
              quick   Fashion-MNIST in about 30 minutes on 2 cores: width 16, 8,000 training images, \
            3 epochs (stages 2,1) in batches of 32 (the paper's model learns slowly in its first few hundred \
            updates, so a short budget needs more, smaller batches), 2,000 test images, TTN K = 10.
              paper   the authors' released setup: width 64 (paper-big 256 on STL-10), all data, stages \
            40,40,20,20 (STL-10 30,30,20,20), batch 128 (STL-10 64), TTN K = 100.
            Any option below overrides the preset (the report then names it "<preset>+overrides").

            An interrupted experiment continues where it stopped when run again with the same options and \
            --out: finished models are only re-evaluated, a partly trained one resumes from its last \
            checkpoint. A directory holding a different run is an error, never overwritten.
            """)

        @Option(help: "quick or paper.")
        var preset: String = ComparisonPreset.quick.rawValue
        @OptionGroup var options: ComparisonOptions

        func validate() throws {
            guard let p = ComparisonPreset(rawValue: preset), p != .demo else {
                throw ValidationError("--preset must be quick or paper, got '\(preset)'")
            }
        }

        func run() throws {
            let preset = ComparisonPreset(rawValue: self.preset)!
            try options.run(try options.configuration(preset: preset), name: "table1", preset: preset)
        }
    }
}
