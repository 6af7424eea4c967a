import ArgumentParser

extension NSDE {
    struct Model: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect the paper's classifiers.",
            subcommands: [Summary.self])
    }
}
