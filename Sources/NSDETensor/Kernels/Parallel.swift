import Dispatch
import Foundation
import CBLAS

/// How many threads the Swift kernels, OpenBLAS and oneDNN use, and the helper that splits a
/// loop across them.
///
/// OpenBLAS (pthreads) and oneDNN (OpenMP) keep their own pools. Calls into them never overlap
/// (the library issues one kernel at a time); the Swift kernels run on the OpenMP team, and
/// `nsde` shortens the OpenMP spin-wait (``OpenMPEnvironment``), so the pools do not fight over
/// the cores.
public enum Parallel {
    nonisolated(unsafe) private static var _threads: Int = {
        let env = ProcessInfo.processInfo.environment["NSDE_THREADS"].flatMap(Int.init)
        let n = min(max(1, env ?? ProcessInfo.processInfo.activeProcessorCount), maxUsefulThreads)
        openblas_set_num_threads(Int32(n))
        return n
    }()

    /// The most threads worth running: 4 per core. More only adds contention (1,000 threads on 2
    /// cores ran 70 times slower than 2), so ``threadCount`` settings above it are capped.
    public static var maxUsefulThreads: Int { 4 * max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// A cap on ``threadCount`` for the current thread (or task) only: set with
    /// ``withThreadLimit(_:_:)``. `BatchParallel` runs each batch shard with a limit of 1, so the
    /// shard's kernels stay on the thread that runs it.
    @TaskLocal static var threadLimit: Int?

    /// Runs `body` with ``threadCount`` capped at `limit` on the calling thread; other threads
    /// are unaffected. Kernels that read ``threadCount`` inside `body` (the Swift kernels, the
    /// oneDNN GEMM split and convolutions) use at most `limit` threads.
    public static func withThreadLimit<R>(_ limit: Int, _ body: () throws -> R) rethrows -> R {
        precondition(limit >= 1, "Parallel.withThreadLimit: the limit must be at least 1, got \(limit)")
        return try $threadLimit.withValue(limit, operation: body)
    }

    /// Number of threads used by every kernel. Defaults to `NSDE_THREADS` or the processor count;
    /// inside ``withThreadLimit(_:_:)`` at most that limit.
    public static var threadCount: Int {
        get { threadLimit.map { min($0, _threads) } ?? _threads }
        set {
            precondition(newValue >= 1, "Parallel.threadCount must be at least 1, got \(newValue)")
            _threads = newValue
            openblas_set_num_threads(Int32(newValue))
            OneDNN.setThreadCount(newValue)
        }
    }

    /// Calls `body` on disjoint sub-ranges covering `0..<count`, in parallel when the work is
    /// large enough (`count >= 2 * grain`). `body` must only write to its own sub-range.
    ///
    /// The chunks run on oneDNN's OpenMP thread team when the OpenMP runtime is loaded, so the
    /// Swift kernels and the convolutions share one pool: a second pool would compete with the
    /// OpenMP threads that spin between parallel regions. Without OpenMP, Dispatch is used.
    /// Which chunk covers which range depends only on `count`, `grain` and ``threadCount``.
    public static func forEachChunk(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
        let threads = threadCount
        if threads <= 1 || count < 2 * grain {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = min(threads, (count + grain - 1) / grain)
        let per = (count + chunks - 1) / chunks
        withoutActuallyEscaping(body) { body in
            if let omp = OpenMP.runtime {
                var context = ChunkContext(body: body, count: count, chunks: chunks, per: per)
                withUnsafeMutablePointer(to: &context) { ctx in
                    ThreadSanitizer.release(ctx)
                    omp.parallel(ompTrampoline, UnsafeMutableRawPointer(ctx), UInt32(chunks), 0)
                    ThreadSanitizer.acquire(ctx)
                }
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    let lo = c * per
                    let hi = min(count, lo + per)
                    if lo < hi { body(lo..<hi) }
                }
            }
        }
    }

    /// What each OpenMP thread needs to run its share of the chunks.
    struct ChunkContext {
        let body: (Range<Int>) -> Void
        let count: Int, chunks: Int, per: Int
    }
}

/// Runs the chunks `thread, thread + team size, ...` of a ``Parallel/ChunkContext``.
private let ompTrampoline: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    let ctx = raw!.assumingMemoryBound(to: Parallel.ChunkContext.self)
    ThreadSanitizer.acquire(ctx)
    defer { ThreadSanitizer.release(ctx) }
    let omp = OpenMP.runtime!
    let team = Int(omp.numThreads())
    var c = Int(omp.threadNum())
    while c < ctx.pointee.chunks {
        let lo = c * ctx.pointee.per
        let hi = min(ctx.pointee.count, lo + ctx.pointee.per)
        if lo < hi { ctx.pointee.body(lo..<hi) }
        c += max(team, 1)
    }
}

/// ThreadSanitizer's happens-before annotations, found at run time: present only in a process
/// built with `--sanitize=thread`, no-ops otherwise. libgomp is not instrumented, so TSan cannot
/// see that `GOMP_parallel` hands the chunk context to the team and joins it again; without these
/// edges every parallel region would be reported as a data race (`scripts/sanitize.sh thread`).
enum ThreadSanitizer {
    typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private static let acquireFunction: Annotation? = dlsym(nil, "__tsan_acquire").map { unsafeBitCast($0, to: Annotation.self) }
    private static let releaseFunction: Annotation? = dlsym(nil, "__tsan_release").map { unsafeBitCast($0, to: Annotation.self) }

    /// Everything released at `address` before happens before what follows.
    @inline(__always) static func acquire<T>(_ address: UnsafeMutablePointer<T>) {
        if let f = acquireFunction { f(UnsafeMutableRawPointer(address)) }
    }

    /// What precedes happens before a later ``acquire(_:)`` of `address`.
    @inline(__always) static func release<T>(_ address: UnsafeMutablePointer<T>) {
        if let f = releaseFunction { f(UnsafeMutableRawPointer(address)) }
    }
}

/// The entry points of the OpenMP runtime (GNU libgomp) that oneDNN loaded, found at run time.
enum OpenMP {
    struct Runtime {
        let parallel: @convention(c) (@convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
        let threadNum: @convention(c) () -> Int32
        let numThreads: @convention(c) () -> Int32
    }

    /// `nil` when no OpenMP runtime is loaded in the process.
    static let runtime: Runtime? = {
        _ = OneDNN.engine   // make sure oneDNN (and its OpenMP runtime) is initialised
        guard let p = dlsym(nil, "GOMP_parallel"), let t = dlsym(nil, "omp_get_thread_num"),
              let n = dlsym(nil, "omp_get_num_threads") else { return nil }
        typealias Parallel = @convention(c) (@convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
        typealias IntFn = @convention(c) () -> Int32
        return Runtime(parallel: unsafeBitCast(p, to: Parallel.self), threadNum: unsafeBitCast(t, to: IntFn.self),
                       numThreads: unsafeBitCast(n, to: IntFn.self))
    }()
}

/// OpenMP settings that must be in the environment before the process starts.
///
/// GNU libgomp (loaded with oneDNN) reads `OMP_WAIT_POLICY` and `GOMP_SPINCOUNT` once, when the
/// library loads, and by default idle threads spin for about 300,000 iterations between
/// parallel regions. On a 2-core machine that is busy with anything else, that spinning steals
/// the cores the kernels need (measured here: 60 % of all cycles under a load of 4). A program
/// can only change it by setting the variables and starting again.
public enum OpenMPEnvironment {
    /// The spin count used when the user has set neither variable: short enough that idle
    /// threads sleep within microseconds, long enough to bridge back-to-back kernels.
    public static let defaultSpinCount = "10000"

    /// Re-executes the current program with `GOMP_SPINCOUNT` set, unless the user set
    /// `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` themselves (or `NSDE_NO_RELAUNCH`). Call it first
    /// thing in `main`. Returns normally when no relaunch is needed or possible.
    public static func relaunchIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["OMP_WAIT_POLICY"] == nil, env["GOMP_SPINCOUNT"] == nil, env["NSDE_NO_RELAUNCH"] == nil else { return }
        setenv("GOMP_SPINCOUNT", defaultSpinCount, 1)
        setenv("NSDE_NO_RELAUNCH", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv only returns on failure: carry on with the default settings.
    }
}
