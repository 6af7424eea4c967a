/// Why a safetensors file or buffer could not be read or written by ``SafeTensors``.
///
/// Every case names the source (a file path, or `"<memory>"` / the label passed to
/// ``SafeTensors/decode(_:source:)``), the tensor concerned where there is one, and
/// what was expected against what was found. ``description`` renders all of it as one line.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The input is shorter than the 8-byte header-length prefix.
    case fileTooShort(source: String, size: Int)
    /// The 8-byte little-endian header length points past the end of the input, or exceeds
    /// ``SafeTensors/maxHeaderLength`` (the limit of the reference implementation).
    case headerLengthOutOfRange(source: String, headerLength: UInt64, available: Int, limit: Int)
    /// The header is not valid UTF-8; `byteOffset` is the offset of the first bad byte within
    /// the header (0 = the byte right after the 8-byte prefix).
    case headerNotUTF8(source: String, byteOffset: Int)
    /// The header is not valid JSON (`reason` is the parser's message).
    case headerNotJSON(source: String, reason: String)
    /// The header is valid JSON but its top level is not an object.
    case headerNotObject(source: String, found: String)
    /// The same tensor name (or `__metadata__`) appears more than once in the header object.
    case duplicateName(source: String, tensor: String)
    /// `__metadata__` is not an object mapping strings to strings.
    case invalidMetadata(source: String, expected: String, found: String)
    /// A tensor entry is not an object, or its `field` (`dtype`, `shape` or `data_offsets`) is
    /// missing or has the wrong JSON type (including non-integers, negative offsets and integers
    /// too large for `Int`).
    case invalidEntry(source: String, tensor: String, field: String, expected: String, found: String)
    /// The `dtype` string is not one this reader understands.
    case unknownDType(source: String, tensor: String, dtype: String, supported: [String])
    /// A dimension of `shape` is negative.
    case negativeDimension(source: String, tensor: String, shape: [Int], dimension: Int)
    /// The product of `shape` (or the byte size derived from it) does not fit in `Int`.
    case shapeOverflow(source: String, tensor: String, shape: [Int])
    /// `data_offsets` has `begin > end`.
    case offsetsReversed(source: String, tensor: String, begin: Int, end: Int)
    /// `data_offsets` reaches past the end of the data section (`dataSize` bytes).
    case offsetsOutOfRange(source: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// `end - begin` differs from `product(shape) * size(dtype)`.
    case sizeMismatch(source: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, foundBytes: Int)
    /// Two tensors share bytes: `tensor` starts at `begin`, before `other` ends at `otherEnd`.
    case overlappingTensors(source: String, tensor: String, begin: Int, other: String, otherEnd: Int)
    /// The tensors do not cover the data section contiguously: bytes from `expectedOffset` up to
    /// `foundOffset` belong to no tensor. `tensor` is the tensor that starts after the gap, or
    /// `nil` when the unused bytes are at the end of the data section.
    case unusedBytes(source: String, tensor: String?, expectedOffset: Int, foundOffset: Int)
    /// A tensor name the writer cannot store (`__metadata__` is reserved by the format).
    case invalidName(source: String, tensor: String, reason: String)
    /// Reading, creating, writing, syncing or renaming a file failed.
    case io(source: String, operation: String, reason: String)

    public var description: String {
        switch self {
        case let .fileTooShort(source, size):
            return "safetensors \(source): file too short: expected at least 8 bytes (header length), found \(size)"
        case let .headerLengthOutOfRange(source, headerLength, available, limit):
            return "safetensors \(source): header length \(headerLength) out of range: expected at most "
                + "\(min(available, limit)) (\(available) bytes after the length prefix, limit \(limit))"
        case let .headerNotUTF8(source, byteOffset):
            return "safetensors \(source): header is not valid UTF-8: expected UTF-8, found an invalid byte "
                + "sequence at header byte \(byteOffset)"
        case let .headerNotJSON(source, reason):
            return "safetensors \(source): header is not valid JSON: \(reason)"
        case let .headerNotObject(source, found):
            return "safetensors \(source): header: expected a JSON object, found \(found)"
        case let .duplicateName(source, tensor):
            return "safetensors \(source): tensor '\(tensor)': name appears more than once in the header"
        case let .invalidMetadata(source, expected, found):
            return "safetensors \(source): __metadata__: expected \(expected), found \(found)"
        case let .invalidEntry(source, tensor, field, expected, found):
            return "safetensors \(source): tensor '\(tensor)': \(field): expected \(expected), found \(found)"
        case let .unknownDType(source, tensor, dtype, supported):
            return "safetensors \(source): tensor '\(tensor)': dtype: expected one of "
                + "\(supported.joined(separator: ", ")), found '\(dtype)'"
        case let .negativeDimension(source, tensor, shape, dimension):
            return "safetensors \(source): tensor '\(tensor)': shape \(shape): expected non-negative dimensions, "
                + "found \(shape.indices.contains(dimension) ? String(shape[dimension]) : "?") in dimension \(dimension)"
        case let .shapeOverflow(source, tensor, shape):
            return "safetensors \(source): tensor '\(tensor)': shape \(shape): expected a size that fits in Int, "
                + "found an overflowing product"
        case let .offsetsReversed(source, tensor, begin, end):
            return "safetensors \(source): tensor '\(tensor)': data_offsets: expected begin <= end, "
                + "found [\(begin), \(end)]"
        case let .offsetsOutOfRange(source, tensor, begin, end, dataSize):
            return "safetensors \(source): tensor '\(tensor)': data_offsets: expected a range within the "
                + "\(dataSize)-byte data section, found [\(begin), \(end)]"
        case let .sizeMismatch(source, tensor, dtype, shape, expectedBytes, foundBytes):
            return "safetensors \(source): tensor '\(tensor)': \(dtype) \(shape): expected \(expectedBytes) bytes, "
                + "found \(foundBytes) (data_offsets)"
        case let .overlappingTensors(source, tensor, begin, other, otherEnd):
            return "safetensors \(source): tensor '\(tensor)': data_offsets: expected to start at or after \(otherEnd) "
                + "where tensor '\(other)' ends, found \(begin) (tensors overlap)"
        case let .unusedBytes(source, tensor, expectedOffset, foundOffset):
            if let tensor {
                return "safetensors \(source): tensor '\(tensor)': data_offsets: expected to start at \(expectedOffset), "
                    + "found \(foundOffset) (bytes \(expectedOffset)..<\(foundOffset) belong to no tensor)"
            }
            return "safetensors \(source): data section: expected \(expectedOffset) bytes used by tensors, found "
                + "\(foundOffset) bytes (bytes \(expectedOffset)..<\(foundOffset) belong to no tensor)"
        case let .invalidName(source, tensor, reason):
            return "safetensors \(source): tensor '\(tensor)': invalid name: \(reason)"
        case let .io(source, operation, reason):
            return "safetensors \(source): \(operation) failed: \(reason)"
        }
    }
}
