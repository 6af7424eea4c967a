import Foundation

/// Errors raised while reading, decompressing, parsing or validating data files.
///
/// Every case about a file names it (a path, or a caller-chosen name such as `"<memory>"` for
/// in-memory buffers), and, where it applies, what was expected and what was found, so the
/// ``description`` alone is enough to diagnose a bad download or a wrong directory. The few
/// cases about a request rather than a file (an unknown dataset name, a missing `--data-dir` or
/// option, a split the dataset lacks) name the dataset and list the valid choices instead.
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

    // MARK: - Record files, NumPy files and dataset directories

    /// A file of fixed-size records (CIFAR, STL-10) has `foundBytes` bytes, which is not a
    /// positive multiple of the `recordBytes`-byte `record` (e.g. `"CIFAR-10 record (1 label
    /// byte + 3072 pixel bytes)"`): the file is truncated or of another format.
    case notWholeRecords(file: String, record: String, recordBytes: Int, foundBytes: Int)
    /// Label number `index` (0-based) has the stored value `label`, outside `valid` (for files
    /// whose labels are not simply `0..<classCount`, e.g. STL-10's `1...10`).
    case labelNotInRange(file: String, index: Int, label: Int, valid: ClosedRange<Int>)
    /// The header of a structured file (e.g. a NumPy `.npy` header dictionary) cannot be parsed;
    /// `reason` says what was expected and what was found.
    case malformedHeader(file: String, reason: String)
    /// The file's element type (e.g. the NumPy `descr` `"<c8"`) is not supported here;
    /// `supported` lists what is.
    case unsupportedDType(file: String, found: String, supported: [String])
    /// A NumPy array stored in Fortran (column-major) order; only C order is supported.
    case fortranOrder(file: String, shape: [Int])
    /// A corruption severity outside `valid` (1...5 for CIFAR-10-C) was requested from `file`.
    case severityOutOfRange(file: String, severity: Int, valid: ClosedRange<Int>)
    /// A corruption name that is not one of `known` was requested; `file` is the file it would
    /// have been read from.
    case unknownCorruption(file: String, name: String, known: [String])
    /// The data directory of `dataset` does not exist (or is not a directory); `expected` says
    /// what it should hold.
    case missingDirectory(directory: String, dataset: String, expected: String)
    /// A file `dataset` needs is missing; `expected` says what the directory should hold.
    case missingDatasetFile(file: String, dataset: String, expected: String)
    /// `dataset` has no default location, so a data directory (`--data-dir`) must be given;
    /// `expected` says what it should hold.
    case dataDirectoryRequired(dataset: String, expected: String)
    /// A dataset name that is not one of `known`.
    case unknownDataset(name: String, known: [String])
    /// `dataset` has no `split` split (e.g. CIFAR-10-C is test-only); `available` lists its splits.
    case splitUnavailable(dataset: String, split: String, available: [String])
    /// `dataset` needs a setting that was not given, e.g. CIFAR-10-C's corruption or severity;
    /// `expected` says which values are valid.
    case optionRequired(dataset: String, option: String, expected: String)
    /// A class-names file lists `foundCount` names where the data has `expectedCount` classes.
    case wrongClassNames(file: String, expectedCount: Int, foundCount: Int)

    /// The file (path or name) the error concerns; for ``countMismatch(imagesFile:imageCount:labelsFile:labelCount:)``
    /// the images file; for ``missingDirectory(directory:dataset:expected:)`` the directory; for
    /// ``dataDirectoryRequired(dataset:expected:)``, ``unknownDataset(name:known:)``,
    /// ``splitUnavailable(dataset:split:available:)`` and ``optionRequired(dataset:option:expected:)``,
    /// which concern no file, the empty string.
    public var file: String {
        switch self {
        case .missingFile(let f), .ioFailure(let f, _), .wrongMagic(let f, _, _),
             .unsupportedType(let f, _), .truncated(let f, _, _, _), .trailingBytes(let f, _, _),
             .wrongShape(let f, _, _), .wrongElementType(let f, _, _),
             .labelOutOfRange(let f, _, _, _), .corruptGzip(let f, _):
            return f
        case .countMismatch(let f, _, _, _):
            return f
        case .notWholeRecords(let f, _, _, _), .labelNotInRange(let f, _, _, _), .malformedHeader(let f, _),
             .unsupportedDType(let f, _, _), .fortranOrder(let f, _), .severityOutOfRange(let f, _, _),
             .unknownCorruption(let f, _, _), .missingDirectory(let f, _, _), .missingDatasetFile(let f, _, _),
             .wrongClassNames(let f, _, _):
            return f
        case .dataDirectoryRequired, .unknownDataset, .splitUnavailable, .optionRequired:
            return ""
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
        case .notWholeRecords(let f, let record, let recordBytes, let found):
            return "\(f): file size \(found) bytes is not a positive multiple of the \(recordBytes)-byte \(record) "
                + "(\(found / recordBytes) whole records and \(found % recordBytes) bytes left over); "
                + "the file is truncated or of another format"
        case .labelNotInRange(let f, let index, let label, let valid):
            return "\(f): label \(label) at index \(index) is out of range: expected \(valid.lowerBound)...\(valid.upperBound)"
        case .malformedHeader(let f, let reason):
            return "\(f): malformed header: \(reason)"
        case .unsupportedDType(let f, let found, let supported):
            return "\(f): unsupported element type \(found) (expected one of \(supported.joined(separator: ", ")))"
        case .fortranOrder(let f, let shape):
            return "\(f): array of shape \(shape) is stored in Fortran (column-major) order; "
                + "expected C (row-major) order, fortran_order: False"
        case .severityOutOfRange(let f, let severity, let valid):
            return "\(f): severity \(severity) is out of range: expected \(valid.lowerBound)...\(valid.upperBound)"
        case .unknownCorruption(let f, let name, let known):
            return "\(f): unknown corruption '\(name)' (expected one of \(known.joined(separator: ", ")))"
        case .missingDirectory(let d, let dataset, let expected):
            return "\(d): directory not found; \(dataset) expects a directory holding \(expected)"
        case .missingDatasetFile(let f, let dataset, let expected):
            return "\(f): file not found; \(dataset) expects \(expected)"
        case .dataDirectoryRequired(let dataset, let expected):
            return "\(dataset) has no default location: pass --data-dir, a directory holding \(expected)"
        case .unknownDataset(let name, let known):
            return "unknown dataset '\(name)' (expected one of \(known.joined(separator: ", ")))"
        case .splitUnavailable(let dataset, let split, let available):
            return "\(dataset) has no \(split) split (available: \(available.joined(separator: ", ")))"
        case .optionRequired(let dataset, let option, let expected):
            return "\(dataset) needs a \(option): expected \(expected)"
        case .wrongClassNames(let f, let expected, let found):
            return "\(f): lists \(found) class names, expected \(expected) (one per line)"
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
