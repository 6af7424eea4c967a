import Foundation
import NSDENN

/// The learning rate per epoch, as a value that checkpoints store.
public enum ScheduleConfiguration: Codable, Equatable, Sendable {
    /// The paper's staged schedule: the base rate for `stages[0]` epochs, then multiplied by
    /// `gamma` (paper 0.1) at the start of each later stage; after the last stage the last rate
    /// continues (as ``MultiStepSchedule/staged(base:stages:gamma:)``, computed in Double).
    case staged(stages: [Int], gamma: Float = 0.1)
    /// An explicit rate for each epoch; after the list ends its last rate continues. The
    /// optimiser's base learning rate is ignored.
    case perEpoch([Float])

    /// Epochs until the schedule's last stage ends (the default number of epochs).
    public var length: Int {
        switch self {
        case let .staged(stages, _): return stages.reduce(0, +)
        case let .perEpoch(rates): return rates.count
        }
    }

    /// The learning rate of epoch `epoch` (0-based) for base rate `base`.
    public func learningRate(atEpoch epoch: Int, base: Float) -> Float {
        switch self {
        case let .staged(stages, gamma):
            // In Double from the settings' shortest decimal forms, so 0.1 / 10 is 0.01 as written
            // (Float arithmetic would give 0.010000001).
            var boundary = 0, drops = 0
            for length in stages.dropLast() {
                boundary += length
                if epoch >= boundary { drops += 1 }
            }
            return Float(Self.decimal(base) * Foundation.pow(Self.decimal(gamma), Double(drops)))
        case let .perEpoch(rates):
            return rates[min(max(epoch, 0), rates.count - 1)]
        }
    }

    /// The Double nearest the shortest decimal that reads back as `x` (0.1 for 0.1f).
    static func decimal(_ x: Float) -> Double { Double(x.description) ?? Double(x) }

    /// Parses the `--stages` syntax: comma-separated positive epoch counts, e.g. `"40,40,20,20"`.
    public static func parseStages(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { Int($0) }
        guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 > 0 }) else { return nil }
        return values
    }

    /// Throws unless the stages are non-empty and positive with γ finite and positive, or the
    /// rates non-empty, finite and positive.
    public func validate() throws(TrainingError) {
        switch self {
        case let .staged(stages, gamma):
            guard !stages.isEmpty, stages.allSatisfy({ $0 > 0 }) else {
                throw .invalidParameter(name: "stages", value: "\(stages)", expected: "a non-empty list of positive epoch counts")
            }
            guard gamma.isFinite, gamma > 0 else {
                throw .invalidParameter(name: "gamma", value: "\(gamma)", expected: "a finite value > 0")
            }
        case let .perEpoch(rates):
            guard !rates.isEmpty, rates.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw .invalidParameter(name: "learning_rates", value: "\(rates)", expected: "a non-empty list of positive rates")
            }
        }
    }

    // MARK: - Codable: {"kind": "staged", "stages": [...], "gamma": 0.1} or {"kind": "per-epoch", "rates": [...]}

    enum CodingKeys: String, CodingKey { case kind, stages, gamma, rates }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "staged": self = .staged(stages: try c.decode([Int].self, forKey: .stages), gamma: try c.decode(Float.self, forKey: .gamma))
        case "per-epoch": self = .perEpoch(try c.decode([Float].self, forKey: .rates))
        default: throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown schedule '\(kind)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .staged(stages, gamma):
            try c.encode("staged", forKey: .kind)
            try c.encode(stages, forKey: .stages)
            try c.encode(gamma, forKey: .gamma)
        case let .perEpoch(rates):
            try c.encode("per-epoch", forKey: .kind)
            try c.encode(rates, forKey: .rates)
        }
    }
}
