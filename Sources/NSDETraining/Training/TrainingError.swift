import Foundation
import NSDEModels

/// Why training or a checkpoint operation stopped. Every case says what, where, and what to do.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The loss, a gradient or the hidden state became NaN or infinite. `what` names which;
    /// `epoch` and `batch` are 1-based; `lastCheckpointEpoch` is the epoch of the checkpoint kept
    /// in the output directory (0: none was written).
    case diverged(what: String, epoch: Int, batch: Int, batches: Int, lastCheckpointEpoch: Int, directory: String?)
    /// The output directory already holds a checkpoint and resuming was not asked for.
    case checkpointExists(directory: String, epoch: Int)
    /// Resuming was asked for but the directory holds no checkpoint.
    case noCheckpoint(directory: String)
    /// The checkpoint's files are missing, unreadable, or inconsistent with each other.
    case corruptCheckpoint(directory: String, reason: String)
    /// A resumed run's settings differ from the checkpoint's (`differences`: "key: old -> new").
    case configurationMismatch(directory: String, differences: [String])
    /// The data differ from the data the checkpoint was trained on.
    case dataMismatch(directory: String, reason: String)
    /// The data do not fit the model (channels, classes) or are empty.
    case incompatibleData(reason: String)
    /// The configuration cannot run (the solver or gradient method rejects the model).
    case invalidConfiguration(reason: String)
    /// Another process is training into the same directory.
    case directoryInUse(directory: String)
    /// A setting is out of range: `name` (e.g. `"batch size"`), the `value` found, and what was
    /// `expected`.
    case invalidParameter(name: String, value: String, expected: String)

    /// A one-line explanation: what happened, where, and what to do.
    public var description: String {
        switch self {
        case let .diverged(what, epoch, batch, batches, last, directory):
            let kept: String
            if let directory {
                kept = last > 0 ? "the last good checkpoint (epoch \(last)) in \(directory) is kept"
                                : "no checkpoint had been written to \(directory) yet"
            } else {
                kept = "no output directory was given"
            }
            return "training diverged: the \(what) became NaN or infinite at epoch \(epoch), batch \(batch) of \(batches); "
                + "\(kept); lower the learning rate (or sigma) and train again into a new directory "
                + "(--resume continues with the same settings, so it would diverge again)"
        case let .checkpointExists(directory, epoch):
            return "\(directory) already holds a checkpoint (epoch \(epoch)): pass --resume to continue it, or choose another output directory"
        case let .noCheckpoint(directory):
            let exists = FileManager.default.fileExists(atPath: directory)
            return "\(directory)\(exists ? "" : " does not exist and") holds no checkpoint.json: expected a `nsde train` output directory "
                + "(to start a new run there, train without --resume)"
        case let .corruptCheckpoint(directory, reason):
            return "the checkpoint in \(directory) cannot be used: \(reason)"
        case let .configurationMismatch(directory, differences):
            return "cannot resume \(directory) with different settings (\(differences.joined(separator: "; "))); "
                + "a resumed run keeps its configuration except --epochs (to run the new settings, choose another output directory "
                + "or move that run away)"
        case let .dataMismatch(directory, reason):
            return "cannot resume \(directory): \(reason)"
        case let .incompatibleData(reason):
            return "the data do not fit the model: \(reason)"
        case let .invalidConfiguration(reason):
            return "invalid training configuration: \(reason)"
        case let .directoryInUse(directory):
            return "\(directory) is in use by another training process (lock file \(directory)/.lock)"
        case let .invalidParameter(name, value, expected):
            return "invalid \(name): expected \(expected), got \(value)"
        }
    }
}

extension TrainingError {
    /// The model's error as a training error with the same text: an out-of-range setting stays
    /// ``invalidParameter(name:value:expected:)``, data that do not fit stay
    /// ``incompatibleData(reason:)``.
    public init(_ error: ModelError) {
        switch error {
        case let .invalidParameter(name, value, expected): self = .invalidParameter(name: name, value: value, expected: expected)
        case let .incompatibleData(reason): self = .incompatibleData(reason: reason)
        }
    }
}
