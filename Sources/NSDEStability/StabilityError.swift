/// Errors raised by the stability analyses (Lyapunov and Lipschitz estimates, the toy
/// examples): a setting out of range.
public enum StabilityError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting is out of range: `name` (e.g. `"paths"`), the `value` found, and what was
    /// `expected`.
    case invalidParameter(name: String, value: String, expected: String)

    /// A one-line explanation naming the parameter, what was expected and what was found.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let expected):
            return "invalid \(name): expected \(expected), got \(value)"
        }
    }
}
