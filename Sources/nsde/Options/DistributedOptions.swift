import ArgumentParser
import Foundation
import NeuralSDE

/// `--distributed`: run as one process of an MPI job (`mpirun -np K nsde …`, `srun nsde …`).
struct DistributedOptions: ParsableArguments {
    @Flag(help: ArgumentHelp(
        "Split the work over the processes of an MPI job (start it with mpirun -np K nsde … or srun).",
        discussion: "Every process runs the same command line; rank 0 alone prints and writes files. Threads per process follow --threads (give each process its share of the cores, e.g. --threads 1 for one process per core)."))
    var distributed = false

    /// Runs `body` with the job's communicator: MPI's world under `--distributed` (after checking
    /// that every process got the same command line), else the single process. Under MPI an
    /// error on any process ends the whole job with its message (MPI_Abort), so no process waits
    /// forever for one that has stopped.
    func run(_ body: (any Communicator) throws -> Void) throws {
        guard distributed else { return try body(SingleProcess.shared) }
        let world = try MPICommunicator.start()
        do {
            try checkSameArguments(world)
            try body(world)
        } catch {
            world.abort("error (rank \(world.rank) of \(world.size)): \(CommandFailure.readable(error))", code: 1)
        }
    }

    /// `json` (one JSON object) with `ranks`: the process count, under `--distributed`; unchanged
    /// otherwise.
    func addingRanks(to json: Data, _ communicator: any Communicator) throws -> Data {
        guard distributed, var object = try JSONSerialization.jsonObject(with: json) as? [String: Any] else { return json }
        object["ranks"] = communicator.size
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Throws ``DistributedError/configurationMismatch(differences:)`` unless every process got
    /// rank 0's arguments.
    private func checkSameArguments(_ world: any Communicator) throws {
        let mine = Array(CommandLine.arguments.dropFirst().joined(separator: "\u{0}").utf8)
        let all = try world.allGather(mine)
        let differences = all.enumerated().dropFirst().compactMap { rank, bytes -> String? in
            guard bytes != all[0] else { return nil }
            return "arguments: rank 0 '\(String(decoding: all[0], as: UTF8.self).replacingOccurrences(of: "\u{0}", with: " "))' "
                + "vs rank \(rank) '\(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{0}", with: " "))'"
        }
        if !differences.isEmpty { throw DistributedError.configurationMismatch(differences: differences) }
    }
}
