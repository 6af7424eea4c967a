import Foundation
import Synchronization
import CKernels

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
///
/// Idle buffers are kept in one free list per thread (``partCount`` lists, chosen by a
/// thread-local slot number): a thread reuses the buffers it freed itself, still in its core's
/// cache, and batch shards running side by side do not contend for one lock or pass buffers
/// between cores. A thread whose own list has no buffer of the size takes one from another
/// thread's list before asking the system, so buffers freed by one thread and needed by another
/// are still recycled.
public final class BufferPool: @unchecked Sendable {
    /// The process-wide pool.
    public static let shared = BufferPool()

    /// Number of per-thread free lists (a power of two; thread slot `s` uses list `s % partCount`).
    static let partCount = 8

    /// One thread's free lists, behind its own spin lock.
    private final class Part: @unchecked Sendable {
        let lock = SpinLock()
        var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    }

    /// The parts, held unmanaged: they live as long as the pool (forever, for `shared`), and a
    /// strong reference read out of an array costs a retain and a release per allocation.
    private let parts: [Unmanaged<Part>] = (0..<BufferPool.partCount).map { _ in Unmanaged.passRetained(Part()) }
    /// Bytes of the buffers obtained from the system and not returned: live plus idle. (Idle
    /// bytes are `held − live`, so reusing or keeping a buffer updates one counter, not two.)
    private let held = Atomic<Int>(0)
    private let live = Atomic<Int>(0)
    private let peak = Atomic<Int>(0)

    /// Largest number of idle bytes kept for reuse; freed buffers beyond it go back to the
    /// system. Defaults to a quarter of physical memory, so that a training step's whole
    /// working set (several GiB for the paper model at batch 128) is recycled rather than
    /// faulted in again every step.
    public var idleLimitBytes = Int(ProcessInfo.processInfo.physicalMemory / 4)

    private init() {}

    /// Bytes owned by live tensors right now.
    public var liveBytes: Int { live.load(ordering: .relaxed) }

    /// The largest value of ``liveBytes`` since the last ``resetPeak()``.
    public var peakLiveBytes: Int { peak.load(ordering: .relaxed) }

    /// Starts a new peak measurement from the current live bytes.
    public func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }

    /// Returns every idle buffer to the system.
    public func trim() {
        for unmanaged in parts {
            let part = unmanaged.takeUnretainedValue()
            part.lock.lock()
            let all = part.free
            part.free = [:]
            part.lock.unlock()
            for (count, list) in all {
                held.subtract(max(count, 1) * MemoryLayout<Float>.stride * list.count, ordering: .relaxed)
                for p in list { Foundation.free(p) }
            }
        }
    }

    /// The calling thread's free lists.
    private var ownPart: Unmanaged<Part> { parts[BufferPool.callingThreadPart] }

    /// The index of the calling thread's free lists: threads are numbered as they first allocate,
    /// modulo ``partCount`` (so threads far apart in that order can share lists).
    static var callingThreadPart: Int { Int(nsde_thread_slot()) & (partCount - 1) }

    func allocate(count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let now = live.add(bytes, ordering: .relaxed).newValue
        var highest = peak.load(ordering: .relaxed)
        while now > highest {
            let (exchanged, original) = peak.compareExchange(expected: highest, desired: now, ordering: .relaxed)
            if exchanged { break }
            highest = original
        }
        let own = ownPart
        if let p = take(count: count, from: own) { return p }
        // None of this size freed by this thread: take one another thread freed.
        for part in parts where part.toOpaque() != own.toOpaque() {
            if let p = take(count: count, from: part) { return p }
        }
        held.add(bytes, ordering: .relaxed)
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, 64, bytes)
        guard status == 0, let raw else {
            fatalError("BufferPool: out of memory allocating \(bytes) bytes")
        }
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// A free buffer of `count` elements from `part`'s list, if it has one.
    private func take(count: Int, from part: Unmanaged<Part>) -> UnsafeMutablePointer<Float>? {
        part._withUnsafeGuaranteedRef { part in
            part.lock.lock()
            defer { part.lock.unlock() }
            // Looked up by index, then popped through `values`: `free[count]?.popLast()` would run
            // the dictionary's nested modify coroutines, whose frames cost three mallocs per call.
            guard let index = part.free.index(forKey: count) else { return nil }
            return part.free.values[index].popLast()
        }
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let nowLive = live.subtract(bytes, ordering: .relaxed).newValue
        // Idle bytes with this buffer kept: everything held that is not live.
        if held.load(ordering: .relaxed) - nowLive <= idleLimitBytes {
            ownPart._withUnsafeGuaranteedRef { own in
                own.lock.lock()
                // By index, as in `take` (no subscript modify coroutines).
                if let index = own.free.index(forKey: count) {
                    own.free.values[index].append(pointer)
                } else {
                    own.free[count] = [pointer]
                }
                own.lock.unlock()
            }
            return
        }
        held.subtract(bytes, ordering: .relaxed)
        Foundation.free(pointer)
    }
}

/// A test-and-test-and-set spin lock for the pool's short critical sections (a dictionary lookup
/// and an append). Batch shards allocate from two threads at once; a sleeping mutex there costs a
/// system call and a context switch per contended allocation (measured: 12 % of a two-shard MLP
/// SDE step in the kernel), while the holder releases a spin lock within nanoseconds.
struct SpinLock: ~Copyable, @unchecked Sendable {
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
