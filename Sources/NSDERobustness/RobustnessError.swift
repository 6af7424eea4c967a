/// Errors of the robustness layer: the corruption library and `nsde corrupt` (unknown names,
/// severities and input shapes a user can give, codec failures), and settings of the attacks and
/// robustness evaluations that are out of range.
public enum RobustnessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No corruption is called `name`; `known` lists the valid names.
    case unknownCorruption(name: String, known: [String])
    /// `severity` is outside `valid` (1...5).
    case severityOutOfRange(severity: Int, valid: ClosedRange<Int>)
    /// The images in `file` are not uint8 (`found` is the `.npy` descr).
    case wrongElementType(file: String, found: String)
    /// The images in `file` do not have the shape `[N, H, W, C]` (C = 1 or 3) or `[N, H, W]`.
    case unsupportedShape(file: String, shape: [Int])
    /// The labels in `file` are not `count` integers (one per image) in a one-dimensional array.
    case badLabels(file: String, reason: String)
    /// libjpeg failed (`stage` is "encode" or "decode").
    case jpeg(stage: String, reason: String)
    /// Images `firstIndex ..< firstIndex + count` reach past the last random stream (`limit`, 2⁴⁸).
    case indexOutOfRange(firstIndex: Int, count: Int, limit: Int)
    /// A setting is out of range: `name` (e.g. `"epsilon"`), the `value` found, and what was
    /// `expected`.
    case invalidParameter(name: String, value: String, expected: String)

    /// One line naming what was wrong, where, and what is valid.
    public var description: String {
        switch self {
        case .unknownCorruption(let name, let known):
            return "unknown corruption '\(name)' (valid: \(known.joined(separator: ", ")))"
        case .severityOutOfRange(let severity, let valid):
            return "severity must be \(valid.lowerBound)...\(valid.upperBound), got \(severity)"
        case .wrongElementType(let file, let found):
            return "\(file): images must be uint8 (|u1), found \(found)"
        case .unsupportedShape(let file, let shape):
            let text = "[" + shape.map(String.init).joined(separator: ", ") + "]"
            return "\(file): images have shape \(text); expected uint8 [N, H, W, C] with C = 1 or 3, or [N, H, W] (greyscale), N, H, W >= 1"
        case .badLabels(let file, let reason):
            return "\(file): \(reason)"
        case .jpeg(let stage, let reason):
            return "libjpeg \(stage) failed: \(reason)"
        case .indexOutOfRange(let firstIndex, let count, let limit):
            return "first index \(firstIndex) with \(count) images needs image indices up to \(firstIndex) + \(count) - 1; "
                + "expected first index + count <= \(limit) (2^48 random streams)"
        case .invalidParameter(let name, let value, let expected):
            return "invalid \(name): expected \(expected), got \(value)"
        }
    }
}
