import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure kernel and training throughput.",
            discussion: "Benchmarks, not tests: run them in a release build on an otherwise idle machine.",
            subcommands: [Kernels.self, Conv.self, TrainStep.self, Eval.self, MLPSDE.self, DataPipeline.self])
    }
}

/// Median of a list of durations.
func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

/// Runs `body` `warmup` times, then `repeats` times, and returns the durations in seconds;
/// `afterEach` (untimed) runs after each timed repetition.
func measure(warmup: Int, repeats: Int, afterEach: () -> Void = {}, _ body: () -> Void) -> [Double] {
    for _ in 0..<warmup { body() }
    return (0..<repeats).map { _ in
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        afterEach()
        return elapsed
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

/// The operands of one GEMM benchmark: `A` (`m x k` after `op`), `B` (`k x n` after `op`),
/// uniform on [0, 1), and the output `C`.
struct GEMMOperands: Sendable {
    let m: Int, n: Int, k: Int, transA: Bool, transB: Bool
    let a: Tensor, b: Tensor, c: Tensor

    init(_ m: Int, _ n: Int, _ k: Int, transA: Bool = false, transB: Bool = false) {
        self.m = m; self.n = n; self.k = k; self.transA = transA; self.transB = transB
        a = Tensor.randomUniform([m, k], seed: 1)
        b = Tensor.randomUniform([k, n], seed: 2)
        c = Tensor(uninitializedShape: [m, n])
    }

    /// The 512³ product the benchmarks quote as the machine's GEMM rate, made once per process
    /// (the rate is sampled after every timed run of `bench mlp-sde`).
    static let reference = GEMMOperands(512, 512, 512)
}

/// GFLOP/s of `C = op(A) · op(B)` on `backend` (`2·m·n·k` FLOPs), the median of `repeats` timed
/// calls after 2 untimed ones, on the current thread count.
func measureGEMMGFLOPs(_ operands: GEMMOperands, backend: GEMMBackend = .automatic, repeats: Int) -> Double {
    let (m, n, k) = (operands.m, operands.n, operands.k)
    let (transA, transB) = (operands.transA, operands.transB)
    let t = median(measure(warmup: 2, repeats: repeats) {
        GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: operands.a.storage.pointer, lda: transA ? m : k,
                   b: operands.b.storage.pointer, ldb: transB ? k : n, c: operands.c.storage.pointer, ldc: n,
                   backend: backend)
    })
    return 2 * Double(m * n * k) / t / 1e9
}

/// ``measureGEMMGFLOPs(_:backend:repeats:)`` on new operands of an `m x n x k` product.
func measureGEMMGFLOPs(_ m: Int, _ n: Int, _ k: Int, transA: Bool = false, transB: Bool = false,
                       backend: GEMMBackend = .automatic, repeats: Int) -> Double {
    measureGEMMGFLOPs(GEMMOperands(m, n, k, transA: transA, transB: transB), backend: backend, repeats: repeats)
}

/// The machine's GEMM rate as the benchmarks quote it: GFLOP/s of a 512³ product on the
/// automatic backend, after 40 untimed calls that settle the thread team (a freshly started
/// OpenMP worker can share a core with the main thread for the first tens of milliseconds).
func measureReferenceGEMMGFLOPs(repeats: Int = 10) -> Double {
    _ = measureGEMMGFLOPs(.reference, repeats: 40)
    return measureGEMMGFLOPs(.reference, repeats: repeats)
}
