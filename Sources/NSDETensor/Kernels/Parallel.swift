import Dispatch
import Foundation
import CBLAS

/// How many threads the Swift kernels, OpenBLAS and oneDNN use, and the helper that splits a
/// loop across them.
///
/// OpenBLAS (pthreads) and oneDNN (OpenMP) keep their own pools. Calls into them never overlap
/// (the library issues one kernel at a time), and OpenMP threads are told to sleep rather than
/// spin when idle (`OMP_WAIT_POLICY=PASSIVE`, set before oneDNN starts), so the pools do not fight
/// over the cores.
public enum Parallel {
    nonisolated(unsafe) private static var _threads: Int = {
        configureRuntimeEnvironment()
        let env = ProcessInfo.processInfo.environment["NSDE_THREADS"].flatMap(Int.init)
        let n = max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
        openblas_set_num_threads(Int32(n))
        return n
    }()

    /// Number of threads used by every kernel. Defaults to `NSDE_THREADS` or the processor count.
    public static var threadCount: Int {
        get { _threads }
        set {
            precondition(newValue >= 1, "Parallel.threadCount must be at least 1, got \(newValue)")
            _threads = newValue
            openblas_set_num_threads(Int32(newValue))
            OneDNN.setThreadCount(newValue)
        }
    }

    /// Sets OpenMP's environment before oneDNN's runtime reads it.
    static func configureRuntimeEnvironment() {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 0)
        setenv("GOMP_SPINCOUNT", "0", 0)
    }

    /// Calls `body` on disjoint sub-ranges covering `0..<count`, in parallel when the work is
    /// large enough (`count >= 2 * grain`). `body` must only write to its own sub-range.
    @inlinable
    public static func forEachChunk(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
        let threads = threadCount
        if threads <= 1 || count < 2 * grain {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = min(threads, (count + grain - 1) / grain)
        let per = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = c * per
            let hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}
