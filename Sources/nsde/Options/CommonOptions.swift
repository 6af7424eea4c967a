import ArgumentParser
import Foundation
import NeuralSDE

/// Options shared by commands that run kernels.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Threads for kernels, OpenBLAS and oneDNN (default: NSDE_THREADS or all cores).",
                                            discussion: "Training and evaluation split each batch into one shard per thread, run side by side; the shard count changes the order of floating-point sums, so a run is bit-reproducible for a given thread count."))
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
