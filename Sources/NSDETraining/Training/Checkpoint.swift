import Foundation
import NSDEModels
import NSDENN
import NSDEPlot
import NSDETensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A training checkpoint: `checkpoint.json` (``CheckpointState``), `model.safetensors` (the
/// model's `state_dict`, PyTorch names) and `optimizer.safetensors` (the optimiser's buffers),
/// in one directory.
///
/// **Crash safety.** ``write(to:)`` never leaves a `checkpoint.json` that points at other tensors
/// than its own:
/// 1. the tensor files of the generation the current `checkpoint.json` describes are kept as
///    `.model.safetensors.previous` and `.optimizer.safetensors.previous`: the current files are
///    hard-linked there when they match its digests; when an earlier write failed after replacing
///    them, the `.previous` files already are that generation and are left alone;
/// 2. the new tensor files are written atomically (temporary file, `fsync`, `rename`);
/// 3. `checkpoint.json` is written atomically, last: this is the commit;
/// 4. the `.previous` links are removed.
///
/// `checkpoint.json` records each tensor file's size and FNV-1a digest, and ``read(from:)``
/// takes, for each file, whichever of the current file and its `.previous` link matches. A
/// process killed at any point (even with SIGKILL) therefore leaves a directory from which the
/// last committed epoch loads exactly.
public struct Checkpoint {
    /// `checkpoint.json`.
    public static let stateFileName = "checkpoint.json"
    /// `model.safetensors`.
    public static let modelFileName = "model.safetensors"
    /// `optimizer.safetensors`.
    public static let optimizerFileName = "optimizer.safetensors"
    /// `metrics.jsonl`, one ``EpochMetrics`` line per epoch (written by the ``Trainer``).
    public static let metricsFileName = "metrics.jsonl"
    /// The `model.safetensors` metadata key holding the ``ModelConfiguration`` as JSON.
    public static let modelMetadataKey = "nsde.model"

    /// Where the run stands.
    public var state: CheckpointState
    /// The model's parameters by `state_dict` name.
    public var model: [String: Tensor]
    /// The optimiser's ``Optimizer/stateDict()``.
    public var optimizer: [String: Tensor]

    public init(state: CheckpointState, model: [String: Tensor], optimizer: [String: Tensor]) {
        self.state = state
        self.model = model
        self.optimizer = optimizer
    }

    /// Whether `directory` holds a `checkpoint.json`.
    public static func exists(in directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(stateFileName).path)
    }

    // MARK: - Writing

    /// Writes the checkpoint into `directory` (which must exist) by the crash-safe protocol in
    /// the type's documentation. ``CheckpointState/files`` is filled in here.
    ///
    /// - Returns: the state as written.
    /// - Throws: ``TrainingError`` for files that cannot be written; `SafeTensorsError`.
    @discardableResult
    public func write(to directory: URL) throws -> CheckpointState {
        Self.removeStaleTemporaries(in: directory)
        let metadata = ["format": "pt", Self.modelMetadataKey: try Self.json(state.configuration.model),
                        "nsde.epoch": String(state.epoch)]
        let modelData = Data(try SafeTensors.encode(model, metadata: metadata))
        let optimizerData = Data(try SafeTensors.encode(optimizer, metadata: ["nsde.optimizer": state.optimizer.kind.rawValue,
                                                                             "nsde.epoch": String(state.epoch)]))
        var state = self.state
        state.files = [Self.modelFileName: FileDigest(of: modelData), Self.optimizerFileName: FileDigest(of: optimizerData)]
        let stateData = try CheckpointCoding.encoder.encode(state) + Data("\n".utf8)

        let names = [Self.modelFileName, Self.optimizerFileName]
        // Keep the generation the committed checkpoint.json describes, wherever it is: after an
        // earlier failed write the current file may be an uncommitted one and `.previous` the
        // committed copy, which must not be replaced by it.
        let committed = try? Self.readState(from: directory)
        for name in names {
            let url = directory.appendingPathComponent(name)
            guard let digest = committed?.files[name] else { Self.preservePrevious(url); continue }
            if Self.matches(url, digest) {
                Self.preservePrevious(url)
            } else if !Self.matches(Self.previousURL(url), digest) {
                Self.preservePrevious(url)   // neither matches: nothing committed is left to keep
            }
        }
        try AtomicFile.write(modelData, to: directory.appendingPathComponent(Self.modelFileName))
        try AtomicFile.write(optimizerData, to: directory.appendingPathComponent(Self.optimizerFileName))
        try AtomicFile.write(stateData, to: directory.appendingPathComponent(Self.stateFileName))
        for name in names { unlink(Self.previousURL(directory.appendingPathComponent(name)).path) }
        return state
    }

    /// Whether the file at `url` exists with the recorded size and digest.
    static func matches(_ url: URL, _ digest: FileDigest) -> Bool {
        guard let data = try? Data(contentsOf: url) else { return false }
        return FileDigest(of: data) == digest
    }

    /// Hard-links `url` to its `.previous` name (replacing an old one); copies when the file
    /// system has no hard links. Does nothing when `url` does not exist.
    static func preservePrevious(_ url: URL) {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let previous = previousURL(url)
        unlink(previous.path)
        if link(url.path, previous.path) != 0 {
            try? FileManager.default.copyItem(at: url, to: previous)
        }
    }

    /// `dir/.NAME.previous` for `dir/NAME`.
    static func previousURL(_ url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".previous")
    }

    /// Removes `.NAME.tmp-*` files that ``AtomicFile`` left behind when a process was killed
    /// while writing one of the checkpoint's files.
    static func removeStaleTemporaries(in directory: URL) {
        let names = [modelFileName, optimizerFileName, stateFileName, metricsFileName]
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for entry in entries where names.contains(where: { entry.hasPrefix("." + $0 + ".tmp-") }) {
            unlink(directory.appendingPathComponent(entry).path)
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    // MARK: - Reading

    /// Reads `checkpoint.json` alone.
    ///
    /// - Throws: ``TrainingError/noCheckpoint(directory:)`` when it is missing;
    ///   ``TrainingError/corruptCheckpoint(directory:reason:)`` when it cannot be parsed or has
    ///   another format or version.
    public static func readState(from directory: URL) throws -> CheckpointState {
        let url = directory.appendingPathComponent(stateFileName)
        guard FileManager.default.fileExists(atPath: url.path) else { throw TrainingError.noCheckpoint(directory: directory.path) }
        let state: CheckpointState
        do {
            // An empty file is not handed to Data(contentsOf:), which loses 4 KiB on each.
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
            let data = size == 0 ? Data() : try Data(contentsOf: url)
            state = try CheckpointCoding.decoder.decode(CheckpointState.self, from: data)
        } catch {
            throw TrainingError.corruptCheckpoint(directory: directory.path, reason: "\(stateFileName) cannot be read: \(readableError(error))")
        }
        guard state.format == CheckpointState.formatName, state.version == CheckpointState.currentVersion else {
            throw TrainingError.corruptCheckpoint(
                directory: directory.path,
                reason: "\(stateFileName) has format '\(clipForMessage(state.format))' version \(state.version), expected '\(CheckpointState.formatName)' version \(CheckpointState.currentVersion)")
        }
        if let problem = state.inconsistency {
            throw TrainingError.corruptCheckpoint(directory: directory.path, reason: "\(stateFileName): \(problem)")
        }
        return state
    }

    /// Reads a checkpoint written by ``write(to:)``, each tensor file checked against the size
    /// and digest that `checkpoint.json` recorded (falling back to the `.previous` link).
    ///
    /// - Throws: ``TrainingError/noCheckpoint(directory:)``;
    ///   ``TrainingError/corruptCheckpoint(directory:reason:)`` naming the file that is missing or
    ///   does not match.
    public static func read(from directory: URL) throws -> Checkpoint {
        let state = try readState(from: directory)
        func tensors(_ name: String) throws -> [String: Tensor] {
            guard let digest = state.files[name] else {
                throw TrainingError.corruptCheckpoint(directory: directory.path, reason: "\(stateFileName) does not list \(name)")
            }
            let url = directory.appendingPathComponent(name)
            for candidate in [url, previousURL(url)] {
                guard let data = try? Data(contentsOf: candidate), FileDigest(of: data) == digest else { continue }
                do {
                    return try SafeTensors.decode(data, source: candidate.path).tensors
                } catch {
                    throw TrainingError.corruptCheckpoint(directory: directory.path, reason: "\(error)")
                }
            }
            let found = (try? Data(contentsOf: url)).map { "\($0.count) bytes with digest \(FNV1a64.hex($0))" } ?? "no file"
            throw TrainingError.corruptCheckpoint(
                directory: directory.path,
                reason: "\(name) does not match \(stateFileName) (expected \(digest.bytes) bytes with digest \(digest.fnv1a64), found \(found))")
        }
        return Checkpoint(state: state, model: try tensors(modelFileName), optimizer: try tensors(optimizerFileName))
    }

    /// The ``ModelConfiguration`` stored in a `model.safetensors` file's metadata, or `nil` when
    /// the file has none (e.g. a file written by PyTorch).
    ///
    /// - Throws: ``TrainingError/invalidParameter(name:value:expected:)`` when the metadata has a
    ///   configuration that cannot be read or is out of range (e.g. a width of 10⁹).
    public static func modelConfiguration(metadata: [String: String]) throws -> ModelConfiguration? {
        guard let text = metadata[modelMetadataKey] else { return nil }
        do {
            return try JSONDecoder().decode(ModelConfiguration.self, from: Data(text.utf8))
        } catch {
            throw TrainingError.invalidParameter(name: "metadata \(modelMetadataKey)", value: clipForMessage(text),
                                                   expected: "a valid model configuration (\(readableError(error)))")
        }
    }
}

extension Checkpoint {
    /// A trained classifier read back from a `nsde train` output directory: the stored
    /// configuration's architecture with the stored weights, in evaluation mode.
    ///
    /// - Parameter directory: the directory holding `checkpoint.json` and `model.safetensors`.
    /// - Returns: the model and the checkpoint's state (its ``CheckpointState/configuration``
    ///   names the dataset, data directory, noise and σ).
    /// - Throws: ``TrainingError/noCheckpoint(directory:)``,
    ///   ``TrainingError/corruptCheckpoint(directory:reason:)``, an invalid stored configuration,
    ///   or a weight file that does not fit the architecture.
    public static func loadClassifier(from directory: URL) throws -> (model: PaperClassifier, state: CheckpointState) {
        let saved = try read(from: directory)
        let configuration = saved.state.configuration.model
        do { try configuration.validate() } catch { throw TrainingError(error) }
        let model = configuration.makeModel()
        do {
            try model.loadStateDict(saved.model)
        } catch {
            throw TrainingError.corruptCheckpoint(directory: directory.path, reason: "\(modelFileName): \(error)")
        }
        model.eval()
        return (model, saved.state)
    }
}
