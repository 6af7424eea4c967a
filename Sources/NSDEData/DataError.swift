import Foundation

/// Errors raised while reading, decompressing, parsing or validating data files.
///
/// Every case names the file it concerns (a path, or a caller-chosen name such as `"<memory>"`
/// for in-memory buffers), and, where it applies, what was expected and what was found, so the
/// ``description`` alone is enough to diagnose a bad download or a wrong directory.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist.
    case missingFile(file: String)
    /// The file exists but could not be read or written (permissions, I/O error, ...).
    case ioFailure(file: String, reason: String)
    /// The file does not start with the expected magic bytes. `expected` and `found` are
    /// human-readable renderings, e.g. hex bytes.
    case wrongMagic(file: String, expected: String, found: String)
    /// The IDX type byte (the third byte of the file) is not one of the supported element types.
    case unsupportedType(file: String, typeByte: UInt8)
    /// The file ends before the `section` (e.g. `"IDX header"`, `"IDX data"`) is complete:
    /// `expectedBytes` were needed, only `foundBytes` are present.
    case truncated(file: String, section: String, expectedBytes: Int, foundBytes: Int)
    /// The file is longer than its header declares: `expectedBytes` in total, `foundBytes` present.
    case trailingBytes(file: String, expectedBytes: Int, foundBytes: Int)
    /// The array in the file has the wrong rank or dimensions for its use.
    case wrongShape(file: String, expected: String, found: [Int])
    /// The IDX element type is not usable here (e.g. float images where `uint8` is required).
    case wrongElementType(file: String, expected: String, found: String)
    /// Label number `index` (0-based) has value `label`, outside `0..<classCount`.
    case labelOutOfRange(file: String, index: Int, label: Int, classCount: Int)
    /// The images file and the labels file hold different numbers of examples.
    case countMismatch(imagesFile: String, imageCount: Int, labelsFile: String, labelCount: Int)
    /// The gzip/zlib stream is damaged or ends early; `reason` carries zlib's message.
    case corruptGzip(file: String, reason: String)

    /// The file (path or name) the error concerns; for ``countMismatch(imagesFile:imageCount:labelsFile:labelCount:)``
    /// the images file.
    public var file: String {
        switch self {
        case .missingFile(let f), .ioFailure(let f, _), .wrongMagic(let f, _, _),
             .unsupportedType(let f, _), .truncated(let f, _, _, _), .trailingBytes(let f, _, _),
             .wrongShape(let f, _, _), .wrongElementType(let f, _, _),
             .labelOutOfRange(let f, _, _, _), .corruptGzip(let f, _):
            return f
        case .countMismatch(let f, _, _, _):
            return f
        }
    }

    /// A one-line explanation naming the file, what was expected and what was found.
    public var description: String {
        switch self {
        case .missingFile(let f):
            return "\(f): file not found"
        case .ioFailure(let f, let reason):
            return "\(f): I/O error: \(reason)"
        case .wrongMagic(let f, let expected, let found):
            return "\(f): wrong magic number: expected \(expected), found \(found)"
        case .unsupportedType(let f, let byte):
            return "\(f): unsupported IDX element type byte 0x\(hex(byte)) "
                + "(expected one of 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)"
        case .truncated(let f, let section, let expected, let found):
            return "\(f): truncated \(section): expected \(expected) bytes, found \(found)"
        case .trailingBytes(let f, let expected, let found):
            return "\(f): \(found - expected) unexpected trailing bytes: header declares \(expected) bytes in total, file has \(found)"
        case .wrongShape(let f, let expected, let found):
            return "\(f): wrong shape: expected \(expected), found \(found)"
        case .wrongElementType(let f, let expected, let found):
            return "\(f): wrong element type: expected \(expected), found \(found)"
        case .labelOutOfRange(let f, let index, let label, let classCount):
            return "\(f): label \(label) at index \(index) is out of range: expected 0..<\(classCount)"
        case .countMismatch(let imagesFile, let imageCount, let labelsFile, let labelCount):
            return "count mismatch: \(imagesFile) holds \(imageCount) images but \(labelsFile) holds \(labelCount) labels"
        case .corruptGzip(let f, let reason):
            return "\(f): corrupt gzip/zlib stream: \(reason)"
        }
    }
}

/// Two-digit upper-case hex rendering of a byte.
func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}

/// Space-separated hex rendering of bytes, e.g. `"1F 8B"`.
func hexBytes<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map(hex).joined(separator: " ")
}
