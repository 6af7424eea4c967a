import Foundation
import Synchronization

/// A reference-counted, 64-byte aligned buffer of `Float` elements that backs one or more
/// ``Tensor`` values.
///
/// Buffers come from ``BufferPool``, which recycles freed buffers of the same size: a training
/// loop allocates the same shapes every step, so after the first step almost no memory is
/// requested from the system.
public final class TensorStorage: @unchecked Sendable {
    /// Number of `Float` elements.
    public let count: Int
    /// The first element. Valid for `count` elements while this object is alive.
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` elements with unspecified contents.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        self.pointer = BufferPool.shared.allocate(count: count)
    }

    /// Allocates `count` elements set to `value`.
    public convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        pointer.update(repeating: value, count: count)
    }

    deinit {
        BufferPool.shared.release(pointer, count: count)
    }
}

/// Recycles tensor buffers by exact element count and tracks the bytes held by live tensors.
///
/// `liveBytes` and `peakLiveBytes` count the buffers currently owned by tensors (not the idle
/// buffers kept for reuse), so tests and benchmarks can check, for example, that a memory-saving
/// gradient method does not grow with the number of solver steps.
public final class BufferPool: @unchecked Sendable {
    /// The process-wide pool.
    public static let shared = BufferPool()

    private let lock = SpinLock()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var idleBytes = 0
    private var _liveBytes = 0
    private var _peakLiveBytes = 0

    /// Largest number of idle bytes kept for reuse; freed buffers beyond it go back to the
    /// system. Defaults to a quarter of physical memory, so that a training step's whole
    /// working set (several GiB for the paper model at batch 128) is recycled rather than
    /// faulted in again every step.
    public var idleLimitBytes = Int(ProcessInfo.processInfo.physicalMemory / 4)

    private init() {}

    /// Bytes owned by live tensors right now.
    public var liveBytes: Int { lock.lock(); defer { lock.unlock() }; return _liveBytes }

    /// The largest value of ``liveBytes`` since the last ``resetPeak()``.
    public var peakLiveBytes: Int { lock.lock(); defer { lock.unlock() }; return _peakLiveBytes }

    /// Starts a new peak measurement from the current live bytes.
    public func resetPeak() { lock.lock(); _peakLiveBytes = _liveBytes; lock.unlock() }

    /// Returns every idle buffer to the system.
    public func trim() {
        lock.lock()
        let all = free
        free = [:]
        idleBytes = 0
        lock.unlock()
        for (_, list) in all { for p in list { Foundation.free(p) } }
    }

    func allocate(count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        lock.lock()
        _liveBytes += bytes
        if _liveBytes > _peakLiveBytes { _peakLiveBytes = _liveBytes }
        if let p = free[count]?.popLast() {
            idleBytes -= bytes
            lock.unlock()
            return p
        }
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, bytes)
        guard status == 0, let raw else {
            fatalError("BufferPool: out of memory allocating \(bytes) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        lock.lock()
        _liveBytes -= bytes
        if idleBytes + bytes <= idleLimitBytes {
            free[count, default: []].append(pointer)
            idleBytes += bytes
            lock.unlock()
            return
        }
        lock.unlock()
        Foundation.free(pointer)
    }
}

/// A test-and-test-and-set spin lock for the pool's short critical sections (a dictionary lookup
/// and an append). Batch shards allocate from two threads at once; a sleeping mutex there costs a
/// system call and a context switch per contended allocation (measured: 12 % of a two-shard MLP
/// SDE step in the kernel), while the holder releases a spin lock within nanoseconds.
final class SpinLock: @unchecked Sendable {
    private let state = Atomic<Bool>(false)

    func lock() {
        while true {
            if !state.exchange(true, ordering: .acquiring) { return }
            var spins = 0
            while state.load(ordering: .relaxed) {
                spins += 1
                if spins > 1_000 { sched_yield(); spins = 0 }
            }
        }
    }

    func unlock() { state.store(false, ordering: .releasing) }
}
