import Foundation
import NSDENN
import NSDEPlot
import NSDERobustness
import NSDETensor
import NSDETraining

/// The robustness measurements of one seed's models: Table 2, Figure 3 and Figure 4 for the
/// models trained with that seed (same initial weights, subset and data order).
public struct RobustnessSeedResult: Sendable {
    /// The training seed of the models.
    public let seed: UInt64
    /// Table 2 of this seed's models.
    public let corruption: CorruptionReport
    /// Figure 3 of this seed's models.
    public let attack: RobustAccuracyFigure
    /// Figure 4 of this seed's models.
    public let perturbation: HiddenStatePerturbationFigure

    /// A seed's result.
    public init(seed: UInt64, corruption: CorruptionReport, attack: RobustAccuracyFigure, perturbation: HiddenStatePerturbationFigure) {
        self.seed = seed
        self.corruption = corruption
        self.attack = attack
        self.perturbation = perturbation
    }
}

/// What one seed's measurements are kept as between runs (`OUT/seed-<s>/robustness-seed.json`), so
/// that an interrupted robustness experiment resumes at the seed it stopped in. The key names the
/// measurement settings and, per model, its run and a digest of its trained weights: a record of
/// other settings or other weights is ignored and measured again.
struct RobustnessSeedRecord: Codable {
    struct Model: Codable {
        let name: String
        let checkpoint: String?
        let noise: String
        let sigma: Float
        let corruption: CorruptionEvaluationResult
        let attack: RobustAccuracyResult
        let perturbation: HiddenStatePerturbationResult
    }

    let key: String
    let seed: UInt64
    let epsilon: Float
    let models: [Model]

    static let fileName = "robustness-seed.json"

    init(key: String, result: RobustnessSeedResult) {
        self.key = key
        seed = result.seed
        epsilon = result.perturbation.epsilon
        models = result.corruption.entries.indices.map { i in
            let entry = result.corruption.entries[i]
            return Model(name: entry.label, checkpoint: entry.checkpoint, noise: entry.noise, sigma: entry.sigma, corruption: entry.result,
                         attack: result.attack.curves[i].result, perturbation: result.perturbation.curves[i].result)
        }
    }

    /// The seed's result again.
    func result(dataset: String) -> RobustnessSeedResult {
        RobustnessSeedResult(
            seed: seed,
            corruption: CorruptionReport(dataset: dataset, entries: models.map {
                CorruptionReport.Entry(label: $0.name, checkpoint: $0.checkpoint, noise: $0.noise, sigma: $0.sigma, result: $0.corruption)
            }),
            attack: RobustAccuracyFigure(curves: models.map { .init(name: $0.name, result: $0.attack) }),
            perturbation: HiddenStatePerturbationFigure(curves: models.map { .init(name: $0.name, result: $0.perturbation) }, epsilon: epsilon))
    }

    /// The record in `directory` when it exists, decodes and has `key`.
    static func read(from directory: URL, key: String) -> RobustnessSeedRecord? {
        decode((try? Data(contentsOf: directory.appendingPathComponent(fileName))) ?? Data(), key: key)
    }

    /// ``read(from:key:)`` for the processes of a job: rank 0 reads the file and sends its bytes
    /// to the others, so that every process gets the same record (or none) and all measure the
    /// same seeds.
    static func read(from directory: URL, key: String, communicator: any Communicator) throws -> RobustnessSeedRecord? {
        guard communicator.size > 1 else { return read(from: directory, key: key) }
        let data = communicator.isRoot ? (try? Data(contentsOf: directory.appendingPathComponent(fileName))) ?? Data() : Data()
        return decode(Data(try communicator.broadcast(Array(data), root: 0)), key: key)
    }

    /// The record in `data` when it decodes and has `key`.
    private static func decode(_ data: Data, key: String) -> RobustnessSeedRecord? {
        guard let record = try? JSONDecoder().decode(RobustnessSeedRecord.self, from: data), record.key == key else { return nil }
        return record
    }

    func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(try encoder.encode(self), to: directory.appendingPathComponent(Self.fileName))
    }
}

/// A digest of trained weights (FNV-1a over the tensors' bytes in name order): tells a cached
/// measurement of these weights from one of other weights.
func weightDigest(_ stateDict: [String: Tensor]) -> String {
    var h = FNV1a64.offset
    for name in stateDict.keys.sorted() {
        name.utf8.withContiguousStorageIfAvailable { FNV1a64.update(&h, UnsafeRawBufferPointer($0)) }
        stateDict[name]!.scalars.withUnsafeBytes { FNV1a64.update(&h, $0) }
    }
    return FNV1a64.hex(h)
}
