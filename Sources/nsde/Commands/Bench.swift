import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure kernel and training throughput.",
            discussion: "Benchmarks, not tests: run them in a release build on an otherwise idle machine.",
            subcommands: [Kernels.self, TrainStep.self, Eval.self, MLPSDE.self])
    }
}

/// Median of a list of durations.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

/// Runs `body` `warmup` times, then `repeats` times, and returns the durations in seconds.
func measure(warmup: Int, repeats: Int, _ body: () -> Void) -> [Double] {
    for _ in 0..<warmup { body() }
    return (0..<repeats).map { _ in
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }
}

/// Peak resident set size of this process in MiB (from /proc/self/status VmHWM).
func peakRSSMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
