import NSDECore

/// A ``GradientMethod`` by its command-line name, so configurations can be stored and compared:
/// `backprop`, `adjoint`, `reversible-adjoint` or `checkpointed:K` (K ≥ 1 steps between
/// checkpoints).
public enum GradientChoice: Equatable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    /// ``GradientMethod/backprop`` (the authors' method).
    case backprop
    /// ``GradientMethod/adjoint`` with its default tolerances.
    case adjoint
    /// ``GradientMethod/reversibleAdjoint`` (needs the `reversible-heun` solver).
    case reversibleAdjoint
    /// ``GradientMethod/checkpointed(every:)``.
    case checkpointed(every: Int)

    /// The accepted spellings, for messages.
    public static let syntax = "backprop, adjoint, reversible-adjoint or checkpointed:K (K >= 1)"

    /// Parses a command-line name; `nil` when it is none of ``syntax``.
    public init?(_ description: String) {
        switch description {
        case "backprop": self = .backprop
        case "adjoint": self = .adjoint
        case "reversible-adjoint": self = .reversibleAdjoint
        default:
            let prefix = "checkpointed:"
            guard description.hasPrefix(prefix), let k = Int(description.dropFirst(prefix.count)), k >= 1 else { return nil }
            self = .checkpointed(every: k)
        }
    }

    /// The command-line name, e.g. `"checkpointed:4"`.
    public var description: String {
        switch self {
        case .backprop: return "backprop"
        case .adjoint: return "adjoint"
        case .reversibleAdjoint: return "reversible-adjoint"
        case let .checkpointed(k): return "checkpointed:\(k)"
        }
    }

    /// The gradient method.
    public var method: GradientMethod {
        switch self {
        case .backprop: return .backprop
        case .adjoint: return .adjoint
        case .reversibleAdjoint: return .reversibleAdjoint
        case let .checkpointed(k): return .checkpointed(every: k)
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = GradientChoice(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "gradient '\(text)' is not \(Self.syntax)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
