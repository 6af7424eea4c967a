import Foundation
import NSDETensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The version of a `.npy` file's header layout.
public enum NumPyFormatVersion: String, Sendable, CaseIterable {
    /// 1.0: header length in a little-endian `UInt16` (headers up to 65,535 bytes), latin-1 text.
    case v1 = "1.0"
    /// 2.0: header length in a little-endian `UInt32`, latin-1 text.
    case v2 = "2.0"
    /// 3.0: as 2.0 with UTF-8 header text.
    case v3 = "3.0"

    /// The major version byte (1, 2 or 3).
    public var major: UInt8 {
        switch self {
        case .v1: return 1
        case .v2: return 2
        case .v3: return 3
        }
    }

    /// Bytes before the header text: 6 magic + 2 version + 2 (1.0) or 4 (2.0, 3.0) length bytes.
    public var preambleBytes: Int { self == .v1 ? 10 : 12 }
}

/// The parsed header of a `.npy` file.
public struct NumPyHeader: Sendable, Equatable {
    /// The header layout version.
    public var version: NumPyFormatVersion
    /// The `descr` exactly as stored, e.g. `"|u1"` or `">f4"`.
    public var descr: String
    /// The element type `descr` denotes.
    public var dtype: NumPyDType
    /// Whether multi-byte elements are stored big-endian (`>`).
    public var isBigEndian: Bool
    /// The dimensions, outermost first; `[]` for a scalar.
    public var shape: [Int]
    /// Byte offset of the first element (preamble + header length; a multiple of 64 in files
    /// NumPy writes).
    public var dataOffset: Int

    /// Number of elements (product of ``shape``).
    public var count: Int { shape.reduce(1, *) }
    /// Bytes of element data: `count * dtype.byteWidth`.
    public var dataBytes: Int { count * dtype.byteWidth }
}

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Layout: the magic `\x93NUMPY`, two version bytes (major, minor), the header length (a
/// little-endian `UInt16` in 1.0, `UInt32` in 2.0 and 3.0), then the header, a Python dict
/// literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with
/// spaces and a newline so that the data starts at a multiple of 64 bytes, then the elements.
///
/// Supported: the element types of ``NumPyDType`` in either byte order, C order only
/// (`fortran_order: True` is an error), any rank including scalars. Sizes are validated
/// exactly: a short file and a file with trailing bytes are both errors.
///
/// References: NumPy Enhancement Proposal 1, "A simple file format for NumPy arrays";
/// `numpy.lib.format`.
public enum NumPy {
    /// The first six bytes of every `.npy` file: `93 4E 55 4D 50 59` (`\x93NUMPY`).
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// The `descr` strings that are read (little-endian forms; `>` big-endian forms are read
    /// too).
    public static let supportedDescrs = NumPyDType.allCases.map(\.descr)

    /// The longest header dict accepted, in bytes (NumPy itself writes a few hundred and by
    /// default refuses more than 10,000 when reading).
    public static let maxHeaderBytes = 1 << 20

    /// The most dimensions a shape may have (NumPy's limit is 64).
    public static let maxRank = 64

    // MARK: - Reading

    /// Reads a `.npy` file.
    ///
    /// - Throws: ``DataError`` naming `url.path`: `missingFile`, `ioFailure`, `wrongMagic`,
    ///   `truncated`, `trailingBytes`, `malformedHeader` (unknown version, unparsable dict,
    ///   missing or bad keys), `unsupportedDType`, `fortranOrder`, `wrongShape` (a size that
    ///   overflows).
    public static func read(contentsOf url: URL) throws -> NumPyArray {
        let (header, data) = try mapped(contentsOf: url)
        return data.withUnsafeBytes { array(header, $0) }
    }

    /// Parses the contents of a `.npy` file.
    ///
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - file: the name to report in errors.
    /// - Throws: the format errors of ``read(contentsOf:)``.
    public static func parse(_ bytes: [UInt8], file: String = "<memory>") throws -> NumPyArray {
        try bytes.withUnsafeBytes { raw in
            array(try header(of: raw, file: file), raw)
        }
    }

    /// Parses and validates the header of a complete `.npy` file held in `bytes`, including
    /// that exactly ``NumPyHeader/dataBytes`` bytes of data follow it.
    ///
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - file: the name to report in errors.
    /// - Throws: the format errors of ``read(contentsOf:)``.
    public static func header(of bytes: UnsafeRawBufferPointer, file: String = "<memory>") throws -> NumPyHeader {
        let total = bytes.count
        let head = Array(bytes.prefix(magic.count))
        guard head == Array(magic.prefix(head.count)) else {
            throw DataError.wrongMagic(file: file, expected: "93 4E 55 4D 50 59 (\\x93NUMPY, a .npy file)",
                                       found: hexBytes(head))
        }
        guard total >= 10 else {
            throw DataError.truncated(file: file, section: ".npy preamble", expectedBytes: 10, foundBytes: total)
        }
        let version: NumPyFormatVersion
        switch (bytes[6], bytes[7]) {
        case (1, 0): version = .v1
        case (2, 0): version = .v2
        case (3, 0): version = .v3
        case let (major, minor):
            throw DataError.malformedHeader(
                file: file, reason: ".npy format version \(major).\(minor) is not supported (expected 1.0, 2.0 or 3.0)")
        }
        let preamble = version.preambleBytes
        guard total >= preamble else {
            throw DataError.truncated(file: file, section: ".npy \(version.rawValue) preamble",
                                      expectedBytes: preamble, foundBytes: total)
        }
        var headerLength = 0
        for k in stride(from: preamble - 1, through: 8, by: -1) { headerLength = headerLength << 8 | Int(bytes[k]) }
        guard headerLength <= maxHeaderBytes else {
            throw DataError.malformedHeader(file: file, reason: ".npy header of \(headerLength) bytes (at most \(maxHeaderBytes) accepted)")
        }
        guard total - preamble >= headerLength else {
            throw DataError.truncated(file: file, section: ".npy header", expectedBytes: headerLength,
                                      foundBytes: total - preamble)
        }
        let text = Array(bytes[preamble ..< preamble + headerLength])
        var parser = HeaderParser(bytes: text, utf8: version == .v3, file: file)
        let dict = try parser.dictionary()

        let keys = ["descr", "fortran_order", "shape"]
        if let extra = dict.keys.first(where: { !keys.contains($0) }) {
            throw parser.error("unexpected key '\(extra)' (expected exactly 'descr', 'fortran_order' and 'shape')")
        }
        for key in keys where dict[key] == nil {
            throw parser.error("missing key '\(key)' (expected 'descr', 'fortran_order' and 'shape')")
        }
        let descr: String
        switch dict["descr"]! {
        case .string(let s): descr = s
        case let other:
            throw DataError.unsupportedDType(file: file, found: other.rendered, supported: supportedDescrs)
        }
        guard let parsed = NumPyDType.parse(descr: descr) else {
            throw DataError.unsupportedDType(file: file, found: "'\(descr)'", supported: supportedDescrs)
        }
        let (dtype, bigEndian) = parsed
        guard case .tuple(let shape) = dict["shape"]!, shape.allSatisfy({ $0 >= 0 }) else {
            throw parser.error("'shape' must be a tuple of non-negative integers, found \(dict["shape"]!.rendered)")
        }
        guard case .bool(let fortran) = dict["fortran_order"]! else {
            throw parser.error("'fortran_order' must be True or False, found \(dict["fortran_order"]!.rendered)")
        }
        if fortran { throw DataError.fortranOrder(file: file, shape: shape) }

        var elements = 1
        var overflow = false
        for d in shape {
            let (p, o) = elements.multipliedReportingOverflow(by: d)
            elements = p
            overflow = overflow || o
        }
        let (dataBytes, o2) = elements.multipliedReportingOverflow(by: dtype.byteWidth)
        let dataOffset = preamble + headerLength
        let (expected, o3) = dataBytes.addingReportingOverflow(dataOffset)
        if overflow || o2 || o3 {
            throw DataError.wrongShape(file: file, expected: "dimensions whose data size fits in memory", found: shape)
        }
        if total < expected {
            throw DataError.truncated(file: file, section: ".npy data for shape \(shape) of \(descr)",
                                      expectedBytes: dataBytes, foundBytes: total - dataOffset)
        }
        if total > expected {
            throw DataError.trailingBytes(file: file, expectedBytes: expected, foundBytes: total)
        }
        return NumPyHeader(version: version, descr: descr, dtype: dtype, isBigEndian: bigEndian,
                           shape: shape, dataOffset: dataOffset)
    }

    /// The validated header of a `.npy` file and the file's bytes, memory-mapped, so a caller
    /// can use part of a large array without copying all of it.
    static func mapped(contentsOf url: URL) throws -> (header: NumPyHeader, data: Data) {
        let data = try DatasetFiles.mapped(url)
        let header = try data.withUnsafeBytes { try Self.header(of: $0, file: url.path) }
        return (header, data)
    }

    /// The array described by `header` in the file `bytes`, converted to little-endian.
    private static func array(_ header: NumPyHeader, _ bytes: UnsafeRawBufferPointer) -> NumPyArray {
        let width = header.dtype.byteWidth
        let source = UnsafeRawBufferPointer(rebasing: bytes[header.dataOffset ..< header.dataOffset + header.dataBytes])
        var payload = Array(source)
        if header.isBigEndian && width > 1 {
            payload.withUnsafeMutableBufferPointer { p in
                var i = 0
                while i < p.count {
                    var lo = i, hi = i + width - 1
                    while lo < hi { p.swapAt(lo, hi); lo += 1; hi -= 1 }
                    i += width
                }
            }
        }
        return NumPyArray(dtype: header.dtype, shape: header.shape, data: payload)
    }

    // MARK: - Writing

    /// The `.npy` encoding of `array`: preamble, header padded so the data starts at a multiple
    /// of 64 bytes, then the little-endian C-order data.
    ///
    /// - Parameters:
    ///   - array: the array.
    ///   - version: the header layout; `nil` (default) picks 1.0, or 2.0 when the header does
    ///     not fit in 65,535 bytes (NumPy's rule).
    public static func encode(_ array: NumPyArray, version: NumPyFormatVersion? = nil) -> [UInt8] {
        let shapeText: String
        switch array.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(array.shape[0]),)"
        default: shapeText = "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = Array("{'descr': '\(array.dtype.descr)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        func padded(_ preamble: Int) -> Int {
            let unpadded = preamble + dict.count + 1
            return dict.count + (64 - unpadded % 64) % 64 + 1
        }
        let chosen = version ?? (padded(10) <= Int(UInt16.max) ? .v1 : .v2)
        let headerLength = padded(chosen.preambleBytes)
        precondition(chosen != .v1 || headerLength <= Int(UInt16.max), "NumPy.encode: header too long for format 1.0")

        var out = magic + [chosen.major, 0]
        out.reserveCapacity(chosen.preambleBytes + headerLength + array.data.count)
        for k in 0 ..< (chosen.preambleBytes - 8) { out.append(UInt8(truncatingIfNeeded: headerLength >> (8 * k))) }
        out += dict
        out += [UInt8](repeating: 0x20, count: headerLength - dict.count - 1)
        out.append(0x0A)
        out += array.data
        return out
    }

    /// Writes `array` as a `.npy` file atomically: the bytes go to a temporary file in the same
    /// directory, which is then renamed over `url`, so readers never see a partial file.
    ///
    /// - Parameters:
    ///   - array: the array.
    ///   - url: the destination (replaced if it exists).
    ///   - version: as in ``encode(_:version:)``.
    /// - Throws: ``DataError/ioFailure(file:reason:)`` naming `url.path`.
    public static func write(_ array: NumPyArray, to url: URL, version: NumPyFormatVersion? = nil) throws {
        let bytes = encode(array, version: version)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        do {
            try Data(bytes).write(to: temporary)
        } catch {
            // A full disk leaves a partial temporary file: remove it, the destination is untouched.
            try? FileManager.default.removeItem(at: temporary)
            throw DataError.ioFailure(file: url.path, reason: "cannot write temporary file \(temporary.path): \(readableErrorReason(error))")
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw DataError.ioFailure(file: url.path, reason: "cannot rename \(temporary.path) into place: \(reason)")
        }
    }
}

// MARK: - Header dictionary parser

/// A value in a `.npy` header dictionary.
private enum HeaderValue {
    case string(String)
    case bool(Bool)
    case none
    case int(Int)
    case tuple([Int])
    /// A list or other value kept as source text (e.g. a structured `descr`).
    case raw(String)

    /// The value as Python would print it, for messages.
    var rendered: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .int(let i): return String(i)
        case .tuple(let t): return t.count == 1 ? "(\(t[0]),)" : "(" + t.map(String.init).joined(separator: ", ") + ")"
        case .raw(let s): return s
        }
    }
}

/// A recursive-descent parser for the Python dict literal in a `.npy` header: string keys;
/// values that are strings, `True`/`False`/`None`, integers (with an optional Python 2 `L`),
/// tuples of integers, or lists (kept as text).
private struct HeaderParser {
    let bytes: [UInt8]
    let utf8: Bool
    let file: String
    var position = 0

    init(bytes: [UInt8], utf8: Bool, file: String) {
        self.bytes = bytes
        self.utf8 = utf8
        self.file = file
    }

    /// A `malformedHeader` error quoting the header text.
    func error(_ reason: String) -> DataError {
        var text = decode(bytes).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count > 200 { text = String(text.prefix(200)) + "..." }
        return .malformedHeader(file: file, reason: ".npy header \(reason) in \"\(text)\"")
    }

    private func decode(_ b: [UInt8]) -> String {
        utf8 ? String(decoding: b, as: UTF8.self) : String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) }))
    }

    /// The character at the current position for messages.
    private var found: String {
        position < bytes.count ? "'\(decode([bytes[position]]))' at character \(position)" : "the end of the header"
    }

    private mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ char: UInt8, _ what: String) throws {
        skipSpace()
        guard position < bytes.count, bytes[position] == char else { throw error("expected \(what), found \(found)") }
        position += 1
    }

    private mutating func peek() -> UInt8? {
        skipSpace()
        return position < bytes.count ? bytes[position] : nil
    }

    /// The whole header: one dict, then only white space.
    mutating func dictionary() throws -> [String: HeaderValue] {
        try expect(UInt8(ascii: "{"), "'{' opening the dictionary")
        var dict = [String: HeaderValue]()
        while true {
            if peek() == UInt8(ascii: "}") { position += 1; break }
            guard case .string(let key) = try value() else {
                throw error("expected a quoted key, found \(found)")
            }
            try expect(UInt8(ascii: ":"), "':' after key '\(key)'")
            dict[key] = try value()
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): continue
            default: throw error("expected ',' or '}' after the value of '\(key)', found \(found)")
            }
        }
        skipSpace()
        guard position == bytes.count else { throw error("unexpected \(found) after the dictionary") }
        return dict
    }

    private mutating func value() throws -> HeaderValue {
        guard let c = peek() else { throw error("expected a value, found the end of the header") }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "("):
            return try tuple()
        case UInt8(ascii: "["):
            return .raw(try bracketed())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .int(try integer())
        default:
            for (word, v) in [("True", HeaderValue.bool(true)), ("False", .bool(false)), ("None", .none)] {
                let w = Array(word.utf8)
                if bytes[position...].starts(with: w) {
                    position += w.count
                    return v
                }
            }
            throw error("expected a value, found \(found)")
        }
    }

    private mutating func string() throws -> String {
        let quote = bytes[position]
        let start = position
        position += 1
        var content = [UInt8]()
        while position < bytes.count, bytes[position] != quote {
            if bytes[position] == UInt8(ascii: "\\"), position + 1 < bytes.count { position += 1 }
            content.append(bytes[position])
            position += 1
        }
        guard position < bytes.count else {
            position = start
            throw error("unterminated string starting at character \(start)")
        }
        position += 1
        return decode(content)
    }

    private mutating func integer() throws -> Int {
        let start = position
        var negative = false
        if bytes[position] == UInt8(ascii: "-") { negative = true; position += 1 }
        var v = 0
        var digits = 0
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(bytes[position] - UInt8(ascii: "0")))
            if o1 || o2 { position = start; throw error("integer too large at character \(start)") }
            v = a
            digits += 1
            position += 1
        }
        if digits == 0 { position = start; throw error("expected an integer, found \(found)") }
        if position < bytes.count, bytes[position] == UInt8(ascii: "L") || bytes[position] == UInt8(ascii: "l") {
            position += 1
        }
        return negative ? -v : v
    }

    /// `(a, b, ...)`; `(a,)` is a one-tuple, `(a)` is just the integer `a`, `()` is empty.
    private mutating func tuple() throws -> HeaderValue {
        position += 1
        var items = [Int]()
        var sawComma = false
        while true {
            guard let c = peek() else { throw error("unterminated tuple") }
            if c == UInt8(ascii: ")") { position += 1; break }
            // A shape is a flat tuple of integers: refusing nesting here keeps the parser's
            // depth bounded whatever the file holds.
            guard c != UInt8(ascii: "(") else { throw error("expected an integer in the tuple, found a nested tuple at character \(position)") }
            guard items.count < NumPy.maxRank else { throw error("tuple longer than \(NumPy.maxRank) entries") }
            guard case .int(let i) = try value() else {
                throw error("expected an integer in the tuple, found \(found)")
            }
            items.append(i)
            switch peek() {
            case UInt8(ascii: ","): position += 1; sawComma = true
            case UInt8(ascii: ")"): continue
            default: throw error("expected ',' or ')' in the tuple, found \(found)")
            }
        }
        if items.count == 1 && !sawComma { return .int(items[0]) }
        return .tuple(items)
    }

    /// The text of a balanced `[...]` (nested brackets and quoted strings skipped).
    private mutating func bracketed() throws -> String {
        let start = position
        var depth = 0
        var quote: UInt8? = nil
        while position < bytes.count {
            let c = bytes[position]
            position += 1
            if let q = quote {
                if c == q { quote = nil }
                continue
            }
            switch c {
            case UInt8(ascii: "'"), UInt8(ascii: "\""): quote = c
            case UInt8(ascii: "["), UInt8(ascii: "("): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return decode(Array(bytes[start..<position])) }
            default: break
            }
        }
        position = start
        throw error("unterminated list starting at character \(start)")
    }
}
