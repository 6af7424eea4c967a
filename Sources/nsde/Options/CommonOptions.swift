import ArgumentParser
import Foundation
import NeuralSDE

/// Options shared by commands that run kernels.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for kernels, OpenBLAS and oneDNN (default: NSDE_THREADS or all cores).")
    var threads: Int?

    func apply() throws {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            let cap = Parallel.maxUsefulThreads
            if threads > cap {
                status("warning: --threads \(threads) is more than 4 per core (\(ProcessInfo.processInfo.activeProcessorCount) cores); using \(cap)")
            }
            Parallel.threadCount = min(threads, cap)
        }
    }
}
