import Foundation
import XCTest
@testable import NSDETensor

/// The buffer pool's per-thread free lists: a thread gets back the buffer it freed, a buffer
/// freed on one thread is reused by another before the system is asked, and the live and peak
/// byte counts add up over threads.
final class BufferPoolTests: XCTestCase {
    /// Runs `body` on a new thread whose free lists are not the calling thread's and waits for it.
    /// (Threads share lists when their numbers differ by a multiple of `BufferPool.partCount`;
    /// a thread with the caller's lists is let go without running `body`, and another one tried.)
    private func onOtherThread(_ body: @escaping @Sendable () -> Void) {
        let callerPart = BufferPool.callingThreadPart
        final class Ran: @unchecked Sendable { var value = false }
        for _ in 0..<(2 * BufferPool.partCount) {
            let done = DispatchSemaphore(value: 0)
            let ran = Ran()
            let thread = Thread {
                if BufferPool.callingThreadPart != callerPart {
                    body()
                    ran.value = true
                }
                done.signal()
            }
            thread.start()
            done.wait()
            if ran.value { return }
        }
        XCTFail("no thread with free lists other than the caller's")
    }

    /// Element counts no other test allocates, so no other buffer of the size is idle.
    private static let countA = 99_991, countB = 99_989, countC = 99_961, countD = 99_929

    func testAThreadGetsBackTheBufferItFreed() {
        let first: UnsafeMutablePointer<Float>
        do {
            let storage = TensorStorage(uninitializedCount: Self.countA)
            first = storage.pointer
        }
        let again = TensorStorage(uninitializedCount: Self.countA)
        XCTAssertEqual(again.pointer, first)
    }

    func testAThreadPrefersItsOwnBufferToOneFreedLaterElsewhere() {
        final class Box: @unchecked Sendable { var storage: TensorStorage? }
        let box = Box()
        var held: TensorStorage? = TensorStorage(uninitializedCount: Self.countD)
        let mine = held!.pointer
        onOtherThread { box.storage = TensorStorage(uninitializedCount: Self.countD) }
        let theirs = box.storage!.pointer
        XCTAssertNotEqual(theirs, mine)
        held = nil                              // freed here first,
        onOtherThread { box.storage = nil }     // then the other thread frees its buffer
        // This thread gets its own, cache-warm buffer back, not the one freed last.
        let again = TensorStorage(uninitializedCount: Self.countD)
        XCTAssertEqual(again.pointer, mine)
        withExtendedLifetime(held) {}
    }

    func testABufferFreedOnAnotherThreadIsReused() {
        final class Box: @unchecked Sendable { var pointer: UnsafeMutablePointer<Float>? }
        let box = Box()
        onOtherThread {
            let storage = TensorStorage(uninitializedCount: Self.countB)
            box.pointer = storage.pointer
        }
        // This thread's own list has no buffer of the size: it takes the other thread's.
        let reused = TensorStorage(uninitializedCount: Self.countB)
        XCTAssertEqual(reused.pointer, box.pointer)
    }

    func testLiveAndPeakBytesAddUpOverThreads() {
        let pool = BufferPool.shared
        let before = pool.liveBytes
        pool.resetPeak()
        let bytes = Self.countC * MemoryLayout<Float>.stride
        do {
            let here = TensorStorage(uninitializedCount: Self.countC)
            onOtherThread {
                let there = TensorStorage(uninitializedCount: Self.countC)
                XCTAssertEqual(pool.liveBytes, before + 2 * bytes)
                withExtendedLifetime(there) {}
            }
            XCTAssertEqual(pool.liveBytes, before + bytes)
            withExtendedLifetime(here) {}
        }
        XCTAssertEqual(pool.liveBytes, before)
        XCTAssertGreaterThanOrEqual(pool.peakLiveBytes, before + 2 * bytes)
    }
}
