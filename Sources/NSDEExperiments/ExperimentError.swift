import NSDETraining

/// Errors raised by the experiments (Table 1, the σ search, the robustness experiment): a
/// setting out of range, or a training setting of one of their runs that cannot run. Files that
/// cannot be written raise ``OutputError``.
public enum ExperimentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An experiment setting is out of range: `name` (e.g. `"seeds"`), the `value` found, and
    /// what was `expected`.
    case invalidParameter(name: String, value: String, expected: String)
    /// The training configuration of one of the experiment's runs is invalid.
    case training(TrainingError)

    /// A one-line explanation naming the parameter, what was expected and what was found.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let expected):
            return "invalid \(name): expected \(expected), got \(value)"
        case .training(let error):
            return error.description
        }
    }
}
