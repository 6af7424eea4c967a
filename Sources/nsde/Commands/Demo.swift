import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    /// `nsde demo`: the README's main job, a short Neural ODE vs Neural SDE comparison.
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a Neural ODE and a dropout Neural SDE on real Fashion-MNIST; compare them w/o and w/ test-time noise.",
            discussion: """
            A few minutes on 2 cores: the paper's small classifier at width 16 (11 Euler–Maruyama steps), \
            3,000 training images, 3 epochs in batches of 32 (SGD, lr 0.1 then 0.01), evaluated on 1,000 test images \
            without test-time noise and with TTN (K = 10). The data come from the Debian package \
            dataset-fashion-mnist. It prints the comparison table and where the checkpoints, the tables \
            and the training-curve plot (curves.svg) are; the same as \
            `nsde experiment table1 --preset quick --models ode,dropout` on a smaller budget. Options \
            override the budget.
            """)

        @OptionGroup var options: ComparisonOptions

        func run() throws {
            try options.run(try options.configuration(preset: .demo), name: "demo", preset: .demo)
        }
    }
}
