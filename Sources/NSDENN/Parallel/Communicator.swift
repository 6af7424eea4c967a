import Foundation
import NSDETensor

/// The processes of one job and the collective operations between them: what data-parallel
/// training, evaluation and sweeps need to split work over several processes (possibly on several
/// machines) and combine the results.
///
/// Every process calls the same collective operations in the same order. ``SingleProcess`` is the
/// one-process communicator (every operation is the identity); `MPICommunicator` (module
/// `NSDEDistributed`) runs over MPI under `mpirun` or `srun`.
///
/// Reproducibility: ``allReduceSum(_:)`` adds the processes' values in rank order on every
/// process, so a run with a given number of processes is bit-identical run to run.
public protocol Communicator: AnyObject, Sendable {
    /// This process's index, `0 ..< size`. Rank 0 writes files and prints.
    var rank: Int { get }
    /// The number of processes (at least 1).
    var size: Int { get }
    /// Returns when every process has called it.
    func barrier() throws
    /// Replaces `values` on every process with the elementwise sum over the processes, added in
    /// rank order (`((v₀ + v₁) + v₂) + …`). Every process passes the same count.
    func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    /// Rank `root`'s `bytes` on every process (the others' arguments are ignored).
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Every process's `bytes` (any length), in rank order, on `root`; an empty array elsewhere.
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]
    /// Ends the whole job: prints `message` on standard error and makes every process exit with
    /// status `code` (MPI_Abort under MPI).
    func abort(_ message: String, code: Int32) -> Never
}

extension Communicator {
    /// Whether this process is rank 0, the one that writes files and prints.
    public var isRoot: Bool { rank == 0 }

    /// ``allReduceSum(_:)`` on an array.
    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// Every process's `bytes` (any length), in rank order, on every process: ``gather(_:root:)``
    /// to rank 0, then ``broadcast(_:root:)`` of the concatenation.
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard size > 1 else { return [bytes] }
        let parts = try gather(bytes, root: 0)
        var packed: [UInt8] = []
        for part in parts {
            withUnsafeBytes(of: Int64(part.count).littleEndian) { packed += $0 }
            packed += part
        }
        let all = try broadcast(packed, root: 0)
        var result: [[UInt8]] = [], offset = 0
        while offset + 8 <= all.count {
            var length: Int64 = 0
            withUnsafeMutableBytes(of: &length) { $0.copyBytes(from: all[offset..<offset + 8]) }
            let n = Int(Int64(littleEndian: length))
            offset += 8
            precondition(n >= 0 && offset + n <= all.count, "Communicator.allGather: corrupt message")
            result.append(Array(all[offset..<offset + n]))
            offset += n
        }
        return result
    }

    /// Replaces each parameter's gradient with its sum over the processes (rank order; a missing
    /// gradient counts as zeros) and `extra` (any other per-process sums, such as a loss) with
    /// theirs, in one ``allReduceSum(_:)``: the data-parallel step after each process's backward
    /// pass. Every process passes the same parameters (shapes, order) and `extra` count.
    public func allReduceGradients(of parameters: [Parameter], extra: inout [Float]) throws {
        let counts = parameters.map { $0.shape.reduce(1, *) }
        var flat = [Float]()
        flat.reserveCapacity(counts.reduce(0, +) + extra.count)
        for (p, n) in zip(parameters, counts) { flat += p.grad?.scalars ?? [Float](repeating: 0, count: n) }
        flat += extra
        try allReduceSum(&flat)
        var offset = 0
        noGrad {
            for (p, n) in zip(parameters, counts) {
                p.zeroGrad()
                p.accumulateGradient(Tensor(shape: p.shape, scalars: Array(flat[offset..<offset + n])))
                offset += n
            }
        }
        extra = Array(flat[offset...])
    }

    /// The indices of `0 ..< count` this process takes when `count` work items (batches, runs)
    /// are dealt round-robin over the processes: `rank, rank + size, rank + 2·size, …`.
    public func share(of count: Int) -> StrideTo<Int> { stride(from: rank, to: count, by: size) }
}

/// The communicator of a job with one process: every collective operation returns its input.
public final class SingleProcess: Communicator, @unchecked Sendable {
    /// The one-process communicator.
    public static let shared = SingleProcess()

    /// 0.
    public var rank: Int { 0 }
    /// 1.
    public var size: Int { 1 }

    private init() {}

    /// Returns at once.
    public func barrier() throws {}
    /// Leaves `values` unchanged (the sum over one process).
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    /// Returns `bytes`.
    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        precondition(root == 0, "SingleProcess.broadcast: root \(root) of 1 process")
        return bytes
    }
    /// Returns `[bytes]`.
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
        precondition(root == 0, "SingleProcess.gather: root \(root) of 1 process")
        return [bytes]
    }
    /// Prints `message` on standard error and exits with `code`.
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
        exit(code)
    }
}
