import Foundation
import NSDENN

/// `size` communicators in one process, one per thread, for testing code that splits work over
/// processes without MPI: ``run(size:_:)`` calls the body on `size` threads, rank r with
/// `members[r]`, and returns the results in rank order. Collectives meet at a shared barrier.
public final class LocalGroup: @unchecked Sendable {
    private let condition = NSCondition()
    private let size: Int
    private var arrived = 0
    private var generation = 0
    private var slots: [[UInt8]]

    private init(size: Int) {
        self.size = size
        slots = Array(repeating: [], count: size)
    }

    /// Runs `body(communicator)` on `size` threads at once and returns each rank's result (or
    /// rethrows the first error, by rank).
    public static func run<R>(size: Int, _ body: @escaping @Sendable (any Communicator) throws -> R) throws -> [R] {
        let group = LocalGroup(size: size)
        let results = Results<R>(size: size)
        let done = DispatchGroup()
        for r in 0..<size {
            done.enter()
            let thread = Thread {
                results.set(r, Result { try body(Member(group: group, rank: r)) })
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.values.map { try $0!.get() }
    }

    /// Waits for every member; `deposit` runs under the lock before waiting, `collect` after
    /// everyone arrived (then a second barrier keeps the slots until all have collected).
    fileprivate func exchange<T>(rank: Int, deposit: (inout [[UInt8]]) -> Void, collect: ([[UInt8]]) -> T) -> T {
        condition.lock()
        deposit(&slots)
        wait()
        let value = collect(slots)
        wait()
        condition.unlock()
        return value
    }

    /// A barrier; call with the lock held.
    private func wait() {
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
    }

    private final class Results<R>: @unchecked Sendable {
        private let lock = NSLock()
        var values: [Result<R, any Error>?]
        init(size: Int) { values = Array(repeating: nil, count: size) }
        func set(_ i: Int, _ r: Result<R, any Error>) { lock.lock(); values[i] = r; lock.unlock() }
    }

    private final class Member: Communicator, @unchecked Sendable {
        let group: LocalGroup
        let rank: Int
        var size: Int { group.size }
        init(group: LocalGroup, rank: Int) {
            self.group = group
            self.rank = rank
        }

        func barrier() throws { group.exchange(rank: rank, deposit: { _ in }, collect: { _ in () }) }

        func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
            let mine = values.withMemoryRebound(to: UInt8.self) { Array($0) }
            let all = group.exchange(rank: rank, deposit: { $0[rank] = mine }, collect: { $0 })
            let parts = all.map { bytes in bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
            for i in values.indices {
                var sum = parts[0][i]
                for r in 1..<parts.count { sum += parts[r][i] }
                values[i] = sum
            }
        }

        func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
            group.exchange(rank: rank, deposit: { if rank == root { $0[root] = bytes } }, collect: { $0[root] })
        }

        func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
            let all = group.exchange(rank: rank, deposit: { $0[rank] = bytes }, collect: { $0 })
            return rank == root ? all : []
        }

        func abort(_ message: String, code: Int32) -> Never {
            fatalError("LocalGroup rank \(rank) aborted: \(message)")
        }
    }
}
