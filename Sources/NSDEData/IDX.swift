import Foundation
import NSDETensor

/// An n-dimensional array read from, or to be written to, an IDX file (the format of MNIST and
/// Fashion-MNIST).
///
/// The elements are kept exactly as stored in the file: `payload` holds them row-major and, for
/// multi-byte types, big-endian. Use ``uint8Values``, ``integers()`` or ``doubles()`` to decode.
public struct IDXArray: Equatable, Sendable {
    /// The element type, from the third byte of the file.
    public enum ElementType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// Unsigned 8-bit integer (type byte 0x08).
        case uint8 = 0x08
        /// Signed 8-bit integer (0x09).
        case int8 = 0x09
        /// Signed 16-bit big-endian integer (0x0B).
        case int16 = 0x0B
        /// Signed 32-bit big-endian integer (0x0C).
        case int32 = 0x0C
        /// IEEE 32-bit big-endian float (0x0D).
        case float32 = 0x0D
        /// IEEE 64-bit big-endian float (0x0E).
        case float64 = 0x0E

        /// Bytes per element.
        public var byteWidth: Int {
            switch self {
            case .uint8, .int8: return 1
            case .int16: return 2
            case .int32, .float32: return 4
            case .float64: return 8
            }
        }

        /// Whether the type holds integers.
        public var isInteger: Bool { self != .float32 && self != .float64 }

        /// The type's name, e.g. `"uint8"`.
        public var description: String {
            switch self {
            case .uint8: return "uint8"
            case .int8: return "int8"
            case .int16: return "int16"
            case .int32: return "int32"
            case .float32: return "float32"
            case .float64: return "float64"
            }
        }
    }

    /// The element type.
    public let elementType: ElementType
    /// The dimensions, outermost first (e.g. `[60000, 28, 28]` for an image file).
    public let shape: [Int]
    /// The elements, row-major, each `elementType.byteWidth` bytes, big-endian.
    public let payload: [UInt8]

    /// Number of elements (the product of ``shape``).
    public var count: Int { shape.reduce(1, *) }

    /// An array from raw row-major big-endian element bytes; `payload.count` must equal
    /// `shape.product * elementType.byteWidth`.
    public init(elementType: ElementType, shape: [Int], payload: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) },
                     "IDXArray: dimensions must be in 0...\(UInt32.max), got \(shape)")
        precondition(shape.count <= 255, "IDXArray: at most 255 dimensions, got \(shape.count)")
        precondition(payload.count == shape.reduce(1, *) * elementType.byteWidth,
                     "IDXArray: shape \(shape) of \(elementType) needs \(shape.reduce(1, *) * elementType.byteWidth) bytes, got \(payload.count)")
        self.elementType = elementType
        self.shape = shape
        self.payload = payload
    }

    /// An unsigned 8-bit array.
    public init(uint8 values: [UInt8], shape: [Int]) {
        self.init(elementType: .uint8, shape: shape, payload: values)
    }

    /// A signed 8-bit array.
    public init(int8 values: [Int8], shape: [Int]) {
        self.init(elementType: .int8, shape: shape, payload: values.map { UInt8(bitPattern: $0) })
    }

    /// A signed 16-bit array (stored big-endian).
    public init(int16 values: [Int16], shape: [Int]) {
        self.init(elementType: .int16, shape: shape,
                  payload: Self.bigEndianBytes(values.map { UInt64(UInt16(bitPattern: $0)) }, width: 2))
    }

    /// A signed 32-bit array (stored big-endian).
    public init(int32 values: [Int32], shape: [Int]) {
        self.init(elementType: .int32, shape: shape,
                  payload: Self.bigEndianBytes(values.map { UInt64(UInt32(bitPattern: $0)) }, width: 4))
    }

    /// A 32-bit float array (stored big-endian).
    public init(float32 values: [Float], shape: [Int]) {
        self.init(elementType: .float32, shape: shape,
                  payload: Self.bigEndianBytes(values.map { UInt64($0.bitPattern) }, width: 4))
    }

    /// A 64-bit float array (stored big-endian).
    public init(float64 values: [Double], shape: [Int]) {
        self.init(elementType: .float64, shape: shape,
                  payload: Self.bigEndianBytes(values.map { $0.bitPattern }, width: 8))
    }

    /// The elements of a `uint8` array (the payload itself, no decoding needed);
    /// `nil` for other types.
    public var uint8Values: [UInt8]? { elementType == .uint8 ? payload : nil }

    /// The elements of an integer-typed array as `Int`; `nil` for float types.
    public func integers() -> [Int]? {
        let n = count
        switch elementType {
        case .uint8: return payload.map { Int($0) }
        case .int8: return payload.map { Int(Int8(bitPattern: $0)) }
        case .int16: return (0..<n).map { Int(Int16(bitPattern: UInt16(truncatingIfNeeded: word($0, 2)))) }
        case .int32: return (0..<n).map { Int(Int32(bitPattern: UInt32(truncatingIfNeeded: word($0, 4)))) }
        case .float32, .float64: return nil
        }
    }

    /// The elements of any type converted to `Double`.
    public func doubles() -> [Double] {
        let n = count
        switch elementType {
        case .float32: return (0..<n).map { Double(Float(bitPattern: UInt32(truncatingIfNeeded: word($0, 4)))) }
        case .float64: return (0..<n).map { Double(bitPattern: word($0, 8)) }
        default: return integers()!.map(Double.init)
        }
    }

    /// The big-endian word of `width` bytes for element `i`.
    private func word(_ i: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<width { v = v << 8 | UInt64(payload[i * width + k]) }
        return v
    }

    private static func bigEndianBytes(_ words: [UInt64], width: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(words.count * width)
        for w in words {
            for k in stride(from: width - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: w >> (8 * k))) }
        }
        return out
    }
}

/// Reading and writing IDX files, raw or gzip-compressed.
///
/// Layout: two zero bytes, a type byte (see ``IDXArray/ElementType``), a byte with the number of
/// dimensions `d`, `d` big-endian `UInt32` dimensions, then the elements row-major. Sizes are
/// validated exactly: a short file and a file with trailing bytes are both errors.
public enum IDX {
    /// Reads an IDX file. Gzip compression is detected from the magic bytes `1F 8B`, whatever
    /// the file's extension.
    ///
    /// - Throws: ``DataError`` — `missingFile`, `ioFailure`, `corruptGzip`, `wrongMagic`,
    ///   `unsupportedType`, `truncated`, `trailingBytes`; each names `url.path`.
    public static func read(contentsOf url: URL) throws -> IDXArray {
        try parse(fileContents: readFile(url), file: url.path)
    }

    /// Parses the contents of an IDX file as read from disk, raw or gzip-compressed (detected
    /// from the magic bytes). A compressed file is inflated only up to the size its header
    /// promises (plus 1 MiB of slack, so trailing bytes are reported as such): a "gzip bomb"
    /// is refused after that many bytes.
    ///
    /// - Throws: as ``read(contentsOf:)``, naming `name`.
    public static func parse(fileContents data: Data, file name: String = "<memory>") throws -> IDXArray {
        guard Gzip.isGzip(data) else { return try parse([UInt8](data), file: name) }
        // The header says how many bytes the file holds: inflate the header first, then no more
        // than it promises, so a gzip bomb is refused after that many bytes.
        let head = try Gzip.decompress(data, name: name, limit: 4 + 4 * 255, prefixOnly: true)
        guard let expected = expectedSize(header: head) else { return try parse(head, file: name) }
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard expected <= memory / 2 else {
            throw DataError.corruptGzip(file: name, reason: "its IDX header promises \(expected) bytes, more than half the memory (\(memory) bytes)")
        }
        // A little slack past the promise lets a few trailing bytes be reported as such.
        let slack = 1 << 20
        let bytes = try Gzip.decompress(data, name: name, limit: expected + slack,
                                        expectation: "more than \(slack) bytes past the \(expected) its IDX header (shape and element type) promises")
        return try parse(bytes, file: name)
    }

    /// The total size in bytes that an IDX header promises (header plus elements), or `nil` when
    /// `head` is not a complete, valid header (``parse(_:file:)`` then reports why).
    static func expectedSize(header head: [UInt8]) -> Int? {
        guard head.count >= 4, head[0] == 0, head[1] == 0, let type = IDXArray.ElementType(rawValue: head[2]) else { return nil }
        let rank = Int(head[3])
        let headerSize = 4 + 4 * rank
        guard head.count >= headerSize else { return nil }
        var elements = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let dim = Int(head[o]) << 24 | Int(head[o + 1]) << 16 | Int(head[o + 2]) << 8 | Int(head[o + 3])
            let (p, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            elements = p
        }
        let (bytes, o1) = elements.multipliedReportingOverflow(by: type.byteWidth)
        let (total, o2) = bytes.addingReportingOverflow(headerSize)
        return o1 || o2 ? nil : total
    }

    /// Parses the (already decompressed) contents of an IDX file.
    ///
    /// - Parameters:
    ///   - bytes: the file contents.
    ///   - file: the name to report in errors.
    public static func parse(_ bytes: consuming [UInt8], file: String = "<memory>") throws -> IDXArray {
        let total = bytes.count
        guard total >= 4 else {
            throw DataError.truncated(file: file, section: "IDX header", expectedBytes: 4, foundBytes: total)
        }
        guard bytes[0] == 0 && bytes[1] == 0 else {
            throw DataError.wrongMagic(file: file, expected: "00 00 <type> <rank> (IDX)",
                                       found: hexBytes(bytes.prefix(4)))
        }
        guard let type = IDXArray.ElementType(rawValue: bytes[2]) else {
            throw DataError.unsupportedType(file: file, typeByte: bytes[2])
        }
        let rank = Int(bytes[3])
        let headerSize = 4 + 4 * rank
        guard total >= headerSize else {
            throw DataError.truncated(file: file, section: "IDX header (\(rank) dimensions)",
                                      expectedBytes: headerSize, foundBytes: total)
        }
        var shape = [Int]()
        var elements = 1
        var overflow = false
        for d in 0..<rank {
            let o = 4 + 4 * d
            let dim = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            shape.append(dim)
            let (p, o1) = elements.multipliedReportingOverflow(by: dim)
            elements = p
            overflow = overflow || o1
        }
        let (dataSize, o2) = elements.multipliedReportingOverflow(by: type.byteWidth)
        let (expected, o3) = dataSize.addingReportingOverflow(headerSize)
        if overflow || o2 || o3 {
            throw DataError.wrongShape(file: file, expected: "dimensions whose data size fits in memory",
                                       found: shape)
        }
        if total < expected {
            throw DataError.truncated(file: file, section: "IDX data for shape \(shape) of \(type)",
                                      expectedBytes: dataSize, foundBytes: total - headerSize)
        }
        if total > expected {
            throw DataError.trailingBytes(file: file, expectedBytes: expected, foundBytes: total)
        }
        bytes.removeSubrange(0..<headerSize)
        return IDXArray(elementType: type, shape: shape, payload: bytes)
    }

    /// The IDX encoding of `array` (header followed by the payload).
    public static func encode(_ array: IDXArray) -> [UInt8] {
        var out: [UInt8] = [0, 0, array.elementType.rawValue, UInt8(array.shape.count)]
        out.reserveCapacity(4 + 4 * array.shape.count + array.payload.count)
        for d in array.shape {
            let v = UInt32(d)
            out += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        out += array.payload
        return out
    }

    /// Writes `array` as an IDX file, gzip-compressed when `compressed` is true.
    ///
    /// - Throws: ``DataError/ioFailure(file:reason:)`` when the file cannot be written.
    public static func write(_ array: IDXArray, to url: URL, compressed: Bool = false) throws {
        let raw = encode(array)
        let bytes = compressed ? Gzip.compress(raw) : raw
        do {
            try Data(bytes).write(to: url)
        } catch {
            throw DataError.ioFailure(file: url.path, reason: readableErrorReason(error))
        }
    }
}

/// Reads a whole file, mapping a missing file to ``DataError/missingFile(file:)`` and any other
/// failure to ``DataError/ioFailure(file:reason:)``.
func readFile(_ url: URL) throws -> Data {
    // Empty files without Foundation's Data(contentsOf:), which loses 4 KiB on each (see DatasetFiles.mapped).
    if try DatasetFiles.checkRegularFile(url) == 0 { return Data() }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw DataError.ioFailure(file: url.path, reason: readableErrorReason(error))
    }
}
