/// Why a ``ModelConfiguration`` cannot be built or cannot take a data set. Every case says
/// what was found and what was expected.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting is out of range: `name` (e.g. `"width"`, the key in `checkpoint.json`), the
    /// `value` found, and what was `expected`.
    case invalidParameter(name: String, value: String, expected: String)
    /// The data do not fit the model (channels, classes, image size) or are empty.
    case incompatibleData(reason: String)

    /// A one-line explanation: what was found and what was expected.
    public var description: String {
        switch self {
        case let .invalidParameter(name, value, expected):
            return "invalid \(name): expected \(expected), got \(value)"
        case let .incompatibleData(reason):
            return "the data do not fit the model: \(reason)"
        }
    }
}
