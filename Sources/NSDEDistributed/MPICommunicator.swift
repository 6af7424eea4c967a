import CMPI
import Foundation
import NSDENN

/// Why a job could not start or talk over MPI.
public enum DistributedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--distributed` was given but the process was not started by an MPI launcher.
    case noLauncher
    /// An MPI call failed: `call` names it, `code` is MPI's error code, `message` its text.
    case mpiFailed(call: String, code: Int32, message: String)
    /// The processes were started with different settings (`differences`: what differs, as
    /// "setting: rank 0 value vs rank r value").
    case configurationMismatch(differences: [String])

    /// One line naming what went wrong and what to do.
    public var description: String {
        switch self {
        case .noLauncher:
            return "--distributed needs an MPI launcher: start the job with mpirun -np K nsde … (or srun); "
                + "without one, leave out --distributed"
        case let .mpiFailed(call, code, message):
            return "\(call) failed (MPI error \(code)): \(message)"
        case let .configurationMismatch(differences):
            return "the processes were started with different settings: \(differences.joined(separator: "; "))"
        }
    }
}

/// A ``Communicator`` over MPI's `MPI_COMM_WORLD` (Open MPI): the processes started by
/// `mpirun -np K`, `srun` or another MPI launcher, on one machine or several.
///
/// ``start()`` initialises MPI once per process (`MPI_Init_thread` with `MPI_THREAD_FUNNELED`:
/// only the thread that started it calls MPI; the kernels' OpenMP threads never do) and finalises
/// it when the process exits normally. Collectives use blocking MPI calls on the calling thread.
///
/// ``allReduceSum(_:)`` gathers every process's values (`MPI_Allgather`) and adds them in rank
/// order on each process, so the result is the same on every rank and bit-identical run to run,
/// whatever reduction algorithm the MPI library would pick; it moves `size` times the data of a
/// ring all-reduce, which is negligible at the gradient sizes of these models on a few processes.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: MPICommunicator?

    /// Whether this process was started by an MPI launcher (Open MPI's `mpirun`, a PMIx or PMI
    /// launcher such as Slurm's `srun`), judged from the environment it sets.
    public static var isLaunched: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { !(environment[$0] ?? "").isEmpty }
    }

    /// The world communicator, initialising MPI on the first call.
    ///
    /// - Throws: ``DistributedError/noLauncher`` when no MPI launcher started the process;
    ///   ``DistributedError/mpiFailed(call:code:message:)`` when MPI cannot start.
    public static func start() throws -> MPICommunicator {
        lock.lock()
        defer { lock.unlock() }
        if let started { return started }
        guard isLaunched else { throw DistributedError.noLauncher }
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_rank(nsde_mpi_comm_world(), &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(nsde_mpi_comm_world(), &size), "MPI_Comm_size")
        let world = MPICommunicator(rank: Int(rank), size: Int(size))
        started = world
        atexit {
            var finalized: Int32 = 0
            MPI_Finalized(&finalized)
            if finalized == 0 { MPI_Finalize() }
        }
        return world
    }

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    public func barrier() throws {
        try Self.check(MPI_Barrier(nsde_mpi_comm_world()), "MPI_Barrier")
    }

    /// The chunk, in floats, that one step of ``allReduceSum(_:)``'s chain passes on.
    static let reductionChunk = 8_192

    /// The sum in rank order, as a pipelined chain: the values flow from rank 0 to rank K−1 in
    /// chunks of ``reductionChunk`` floats (32 KiB), each process adding its own values to the partial sum
    /// it receives (`(v₀ + … + v_{r−1}) + v_r`) while it passes the previous chunk on, then rank
    /// K−1 broadcasts the sums. Every link carries the values once each way — the bandwidth of a
    /// ring all-reduce, 2·n floats per process whatever K — and every element is added in rank
    /// order, so K processes give the sums of one process adding K shards in order, bit for bit.
    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        let n = values.count
        guard size > 1, n > 0, let base = values.baseAddress else { return }
        let chunk = Self.reductionChunk, chunks = (n + chunk - 1) / chunk
        func range(_ c: Int) -> Range<Int> { (c * chunk)..<min(n, (c + 1) * chunk) }
        let previous = rank > 0 ? Int32(rank - 1) : nsde_mpi_proc_null()
        let next = rank < size - 1 ? Int32(rank + 1) : nsde_mpi_proc_null()
        var incoming = [Float](repeating: 0, count: min(chunk, n))
        // Step t: send chunk t − rank − 1 (summed last step) on, receive chunk t − rank.
        for t in 0..<(chunks + size - 1) {
            let sending = t - rank - 1, receiving = t - rank
            let send = (0..<chunks).contains(sending) && rank < size - 1 ? range(sending) : 0..<0
            let receive = (0..<chunks).contains(receiving) && rank > 0 ? range(receiving) : 0..<0
            if send.isEmpty && receive.isEmpty { continue }
            try incoming.withUnsafeMutableBufferPointer { buffer in
                try Self.check(MPI_Sendrecv(base + send.lowerBound, Int32(send.count), nsde_mpi_float(), send.isEmpty ? nsde_mpi_proc_null() : next, 7,
                                            buffer.baseAddress, Int32(receive.count), nsde_mpi_float(),
                                            receive.isEmpty ? nsde_mpi_proc_null() : previous, 7,
                                            nsde_mpi_comm_world(), nsde_mpi_status_ignore()),
                               "MPI_Sendrecv (\(send.count) and \(receive.count) floats)")
            }
            for i in receive { base[i] = incoming[i - receive.lowerBound] + base[i] }
        }
        try Self.check(MPI_Bcast(base, Int32(n), nsde_mpi_float(), Int32(size - 1), nsde_mpi_comm_world()),
                       "MPI_Bcast (\(n) floats)")
    }

    public func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        precondition((0..<size).contains(root), "MPICommunicator.broadcast: root \(root) of \(size) processes")
        var count = Int64(bytes.count)
        try Self.check(MPI_Bcast(&count, 1, nsde_mpi_int64(), Int32(root), nsde_mpi_comm_world()), "MPI_Bcast (length)")
        var data = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 {
            try data.withUnsafeMutableBytes { buffer in
                try Self.check(MPI_Bcast(buffer.baseAddress, Int32(count), nsde_mpi_byte(), Int32(root), nsde_mpi_comm_world()),
                               "MPI_Bcast (\(count) bytes)")
            }
        }
        return data
    }

    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
        precondition((0..<size).contains(root), "MPICommunicator.gather: root \(root) of \(size) processes")
        var count = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: size)
        try Self.check(MPI_Gather(&count, 1, nsde_mpi_int(), &counts, 1, nsde_mpi_int(), Int32(root), nsde_mpi_comm_world()),
                       "MPI_Gather (lengths)")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        let total = rank == root ? Int(offsets[size - 1] + counts[size - 1]) : 0
        var all = [UInt8](repeating: 0, count: max(total, 1))
        try bytes.withUnsafeBytes { send in
            try all.withUnsafeMutableBytes { receive in
                try Self.check(MPI_Gatherv(send.baseAddress, count, nsde_mpi_byte(), receive.baseAddress, &counts, &offsets,
                                           nsde_mpi_byte(), Int32(root), nsde_mpi_comm_world()), "MPI_Gatherv (\(count) bytes)")
            }
        }
        guard rank == root else { return [] }
        return (0..<size).map { r in Array(all[Int(offsets[r]) ..< Int(offsets[r] + counts[r])]) }
    }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
        MPI_Abort(nsde_mpi_comm_world(), code)
        exit(code)
    }

    /// Throws ``DistributedError/mpiFailed(call:code:message:)`` unless `code` is `MPI_SUCCESS`.
    static func check(_ code: Int32, _ call: String) throws {
        guard code != nsde_mpi_success() else { return }
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        throw DistributedError.mpiFailed(call: call, code: code, message: String(cString: buffer))
    }
}
