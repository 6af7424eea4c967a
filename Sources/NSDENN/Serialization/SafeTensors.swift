import Foundation
import NSDETensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing the [safetensors](https://github.com/huggingface/safetensors) format, the
/// checkpoint format used by PyTorch, JAX and Hugging Face tools, implemented here without any
/// third-party package.
///
/// ## Format
///
/// A file is:
/// 1. an 8-byte little-endian `UInt64` `N`, the header length;
/// 2. `N` bytes of UTF-8 JSON: an object mapping each tensor name to
///    `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`, plus an optional
///    `"__metadata__"` object of string values. Offsets are relative to the first byte after the
///    header and `end` is exclusive;
/// 3. the raw little-endian element data. The tensors must cover it exactly, without overlaps
///    and without unused bytes.
///
/// ## Writing
///
/// ``write(_:metadata:to:)`` and ``encode(_:metadata:)`` store every tensor as `F32`, sort the
/// names by their UTF-8 bytes, lay the data out contiguously in that order, and pad the header
/// JSON with spaces to a multiple of 8 bytes, as the reference implementation does, so the data
/// section is 8-byte aligned. The output depends only on the inputs (byte for byte). Writing to a
/// file is atomic: the bytes go to a temporary file in the destination's directory, which is
/// `fsync`ed and then renamed over the destination, so a crash leaves either the old file or the
/// complete new one, never a half-written checkpoint.
///
/// ## Reading
///
/// ``read(from:)`` and ``decode(_:source:)`` validate the whole file before touching
/// the data and throw a ``SafeTensorsError`` naming the file, the tensor and what was expected
/// for any malformed input; they never crash and never read out of bounds. Tensors of any of the
/// ``DType`` element types are converted to `Float` (`Tensor` is float32 only):
/// - `F32` is copied bit for bit;
/// - `F16` and `BF16` widen exactly (infinities, NaNs and subnormals included);
/// - `F64` rounds to the nearest `Float` (values beyond the `Float` range become infinities);
/// - integer types (`I8`...`I64`, `U8`...`U64`) convert to the nearest `Float`, which is exact up
///   to 2^24 in magnitude;
/// - `BOOL` becomes 0 or 1.
///
/// Reading is linear in the file size: the file is mapped, and `F32` data is copied straight into
/// each tensor's buffer.
///
/// ```swift
/// try SafeTensors.write(["0.weight": w, "0.bias": b], metadata: ["format": "pt"], to: url)
/// let (tensors, metadata) = try SafeTensors.read(from: url)
/// ```
public enum SafeTensors {
    /// The largest header accepted by the reader, in bytes (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    /// The element types the reader understands, with their safetensors names.
    /// The writer always produces ``f32``.
    public enum DType: String, CaseIterable, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
        case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
        case bool = "BOOL"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64, .u64: return 8
            case .f32, .i32, .u32: return 4
            case .f16, .bf16, .i16, .u16: return 2
            case .i8, .u8, .bool: return 1
            }
        }
    }

    /// The key under which the header stores the string-to-string metadata.
    static let metadataKey = "__metadata__"

    // MARK: - Public API

    /// Writes `tensors` (as `F32`) and `metadata` to `url` atomically.
    ///
    /// The data goes to a temporary file in the same directory, which is flushed with `fsync` and
    /// renamed over `url`; the directory is then synced too. If anything fails (including an
    /// invalid tensor name, which is detected before any file is created) the destination is left
    /// untouched and the temporary file is removed.
    ///
    /// - Throws: ``SafeTensorsError/invalidName(source:tensor:reason:)`` for a tensor named
    ///   `__metadata__`, ``SafeTensorsError/io(source:operation:reason:)`` when a system call fails.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let source = url.path
        let (header, ordered) = try makeHeader(tensors, metadata: metadata, source: source)

        let directory = url.deletingLastPathComponent()
        let tempPath = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError.io(source: source, operation: "create temporary file \(tempPath)", reason: errnoString())
        }
        var closed = false
        do {
            try header.withUnsafeBytes { try writeAll(fd, $0, source: source) }
            for (_, tensor) in ordered {
                try writeFloatsLE(fd, tensor, source: source)
            }
            guard fsync(fd) == 0 else {
                throw SafeTensorsError.io(source: source, operation: "fsync \(tempPath)", reason: errnoString())
            }
            closed = true
            guard close(fd) == 0 else {
                throw SafeTensorsError.io(source: source, operation: "close \(tempPath)", reason: errnoString())
            }
            guard rename(tempPath, url.path) == 0 else {
                throw SafeTensorsError.io(source: source, operation: "rename \(tempPath) to \(url.path)",
                                          reason: errnoString())
            }
        } catch {
            if !closed { _ = close(fd) }
            _ = unlink(tempPath)
            throw error
        }
        // Make the rename itself durable. Best effort: some file systems refuse fsync on directories.
        let dirFD = open(directory.path.isEmpty ? "." : directory.path, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            _ = close(dirFD)
        }
    }

    /// Reads every tensor and the metadata of the safetensors file at `url`.
    ///
    /// Non-`F32` element types are converted to `Float` as described in ``SafeTensors``.
    ///
    /// - Throws: ``SafeTensorsError/io(source:operation:reason:)`` when the file cannot be read,
    ///   or any other ``SafeTensorsError`` case when its contents are malformed.
    public static func read(from url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError.io(source: url.path, operation: "read", reason: describe(error: error))
        }
        return try decode(data, source: url.path)
    }

    /// The bytes of a safetensors file holding `tensors` (as `F32`) and `metadata`: names sorted
    /// by UTF-8 bytes, data contiguous in that order, header padded with spaces to a multiple of
    /// 8 bytes. The same inputs always give the same bytes.
    ///
    /// - Throws: ``SafeTensorsError/invalidName(source:tensor:reason:)`` for a tensor named
    ///   `__metadata__` (reserved by the format).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        let (header, ordered) = try makeHeader(tensors, metadata: metadata, source: "<memory>")
        let dataBytes = ordered.reduce(0) { $0 + $1.1.count * 4 }
        var out = [UInt8]()
        out.reserveCapacity(header.count + dataBytes)
        out.append(contentsOf: header)
        for (_, tensor) in ordered {
            tensor.withUnsafeBufferPointer { src in
                for x in src {
                    let bits = x.bitPattern
                    out.append(UInt8(truncatingIfNeeded: bits))
                    out.append(UInt8(truncatingIfNeeded: bits >> 8))
                    out.append(UInt8(truncatingIfNeeded: bits >> 16))
                    out.append(UInt8(truncatingIfNeeded: bits >> 24))
                }
            }
        }
        return out
    }

    /// Decodes the bytes of a safetensors file. `source` names the input in error messages.
    ///
    /// Non-`F32` element types are converted to `Float` as described in ``SafeTensors``.
    ///
    /// - Throws: a ``SafeTensorsError`` describing the first problem found.
    public static func decode(_ bytes: [UInt8], source: String = "<memory>") throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        try bytes.withUnsafeBytes { try decode(raw: $0, source: source) }
    }

    /// Decodes the bytes of a safetensors file. `source` names the input in error messages.
    ///
    /// Non-`F32` element types are converted to `Float` as described in ``SafeTensors``.
    ///
    /// - Throws: a ``SafeTensorsError`` describing the first problem found.
    public static func decode(_ data: Data, source: String = "<memory>") throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        try data.withUnsafeBytes { try decode(raw: $0, source: source) }
    }

    // MARK: - Encoding

    /// The 8-byte length prefix plus the padded header JSON, and the tensors in file order.
    static func makeHeader(_ tensors: [String: Tensor], metadata: [String: String], source: String) throws
        -> (header: [UInt8], ordered: [(String, Tensor)]) {
        if tensors[metadataKey] != nil {
            throw SafeTensorsError.invalidName(source: source, tensor: metadataKey,
                                               reason: "'\(metadataKey)' is reserved for the metadata")
        }
        let ordered = tensors.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        var json = [UInt8]()
        json.append(UInt8(ascii: "{"))
        var first = true
        if !metadata.isEmpty {
            appendJSONString(metadataKey, to: &json)
            json.append(contentsOf: Array(":{".utf8))
            var firstMeta = true
            for (key, value) in metadata.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                if !firstMeta { json.append(UInt8(ascii: ",")) }
                firstMeta = false
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(value, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for (name, tensor) in ordered {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            let end = offset + tensor.count * 4
            appendJSONString(name, to: &json)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            json.append(contentsOf: Array(#":{"dtype":"F32","shape":[\#(shape)],"data_offsets":[\#(offset),\#(end)]}"#.utf8))
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        let padding = (8 - json.count % 8) % 8
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))

        var header = [UInt8]()
        header.reserveCapacity(8 + json.count)
        let n = UInt64(json.count)
        for i in 0..<8 { header.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        header.append(contentsOf: json)
        return (header, ordered)
    }

    /// Appends `s` as a JSON string literal: quotes, backslashes and control characters escaped,
    /// everything else as raw UTF-8.
    static func appendJSONString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Writes all of `bytes` to `fd`, retrying partial writes and interrupted calls.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, source: String) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = posixWrite(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.io(source: source, operation: "write", reason: errnoString())
            }
            if n == 0 {
                throw SafeTensorsError.io(source: source, operation: "write", reason: "no progress")
            }
            p += n
            left -= n
        }
    }

    /// Writes the elements of `tensor` as little-endian float32.
    static func writeFloatsLE(_ fd: Int32, _ tensor: Tensor, source: String) throws {
        #if _endian(little)
        try writeAll(fd, UnsafeRawBufferPointer(start: tensor.storage.pointer, count: tensor.count * 4), source: source)
        #else
        let chunk = 1 << 16
        var buffer = [UInt32](repeating: 0, count: chunk)
        var start = 0
        while start < tensor.count {
            let n = min(chunk, tensor.count - start)
            for i in 0..<n { buffer[i] = tensor.storage.pointer[start + i].bitPattern.littleEndian }
            try buffer.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0.prefix(n * 4)), source: source) }
            start += n
        }
        #endif
    }

    // MARK: - Decoding

    /// One validated header entry.
    struct Entry {
        var name: String
        var dtype: DType
        var shape: [Int]
        var count: Int
        var begin: Int
        var end: Int
    }

    static func decode(raw: UnsafeRawBufferPointer, source: String) throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        let total = raw.count
        guard total >= 8 else { throw SafeTensorsError.fileTooShort(source: source, size: total) }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(raw[i]) << (8 * UInt64(i)) }
        let available = total - 8
        guard headerLength <= UInt64(maxHeaderLength), headerLength <= UInt64(available) else {
            throw SafeTensorsError.headerLengthOutOfRange(source: source, headerLength: headerLength,
                                                          available: available, limit: maxHeaderLength)
        }
        let n = Int(headerLength)
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[8 ..< 8 + n])
        if let bad = firstInvalidUTF8(headerBytes) {
            throw SafeTensorsError.headerNotUTF8(source: source, byteOffset: bad)
        }
        if n >= 3 && headerBytes[0] == 0xEF && headerBytes[1] == 0xBB && headerBytes[2] == 0xBF {
            throw SafeTensorsError.headerNotJSON(source: source, reason: "byte order mark at the start of the header")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw SafeTensorsError.headerNotJSON(source: source, reason: describe(error: error))
        }
        // JSONSerialization tolerates trailing commas; JSON (and the reference reader) does not.
        if let comma = firstTrailingComma(headerBytes) {
            throw SafeTensorsError.headerNotJSON(source: source,
                                                 reason: "trailing comma at header byte \(comma)")
        }
        guard let object = json as? [String: Any] else {
            throw SafeTensorsError.headerNotObject(source: source, found: describe(json: json))
        }
        if let duplicate = firstDuplicateKey(headerBytes) {
            throw SafeTensorsError.duplicateName(source: source, tensor: duplicate)
        }

        var metadata: [String: String] = [:]
        if let meta = object[metadataKey] {
            guard let dict = meta as? [String: Any] else {
                throw SafeTensorsError.invalidMetadata(source: source, expected: "an object of string values",
                                                       found: describe(json: meta))
            }
            for key in dict.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                guard let value = dict[key] as? String else {
                    throw SafeTensorsError.invalidMetadata(source: source, expected: "a string for key '\(key)'",
                                                           found: describe(json: dict[key] as Any))
                }
                metadata[key] = value
            }
        }

        let dataStart = 8 + n
        let dataSize = total - dataStart
        var entries: [Entry] = []
        entries.reserveCapacity(object.count)
        for name in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where name != metadataKey {
            entries.append(try parseEntry(name: name, value: object[name]!, dataSize: dataSize, source: source))
        }

        // The tensors must tile the data section exactly: no overlaps, no gaps, no trailing bytes.
        let byOffset = entries.indices.sorted {
            let a = entries[$0], b = entries[$1]
            return (a.begin, a.end) < (b.begin, b.end)
        }
        var expected = 0
        var previous: String?
        for index in byOffset {
            let e = entries[index]
            if e.begin < expected {
                throw SafeTensorsError.overlappingTensors(source: source, tensor: e.name, begin: e.begin,
                                                          other: previous ?? "", otherEnd: expected)
            }
            if e.begin > expected {
                throw SafeTensorsError.unusedBytes(source: source, tensor: e.name, expectedOffset: expected,
                                                   foundOffset: e.begin)
            }
            expected = e.end
            previous = e.name
        }
        if expected != dataSize {
            throw SafeTensorsError.unusedBytes(source: source, tensor: nil, expectedOffset: expected,
                                               foundOffset: dataSize)
        }

        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(entries.count)
        for e in entries {
            let tensor = Tensor(uninitializedShape: e.shape)
            let src = UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.begin) ..< (dataStart + e.end)])
            convert(src, dtype: e.dtype, count: e.count, into: tensor.storage.pointer)
            tensors[e.name] = tensor
        }
        return (tensors, metadata)
    }

    /// Validates one header entry against the `dataSize`-byte data section.
    static func parseEntry(name: String, value: Any, dataSize: Int, source: String) throws -> Entry {
        guard let entry = value as? [String: Any] else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "entry",
                                                expected: "an object with dtype, shape and data_offsets",
                                                found: describe(json: value))
        }
        // dtype
        guard let dtypeValue = entry["dtype"] else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "dtype",
                                                expected: "a dtype string", found: "no dtype")
        }
        guard let dtypeName = dtypeValue as? String else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "dtype",
                                                expected: "a dtype string", found: describe(json: dtypeValue))
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(source: source, tensor: name, dtype: dtypeName,
                                                supported: DType.allCases.map(\.rawValue))
        }
        // shape
        guard let shapeValue = entry["shape"] else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "shape",
                                                expected: "an array of non-negative integers", found: "no shape")
        }
        guard let shapeArray = shapeValue as? [Any] else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "shape",
                                                expected: "an array of non-negative integers",
                                                found: describe(json: shapeValue))
        }
        var shape: [Int] = []
        shape.reserveCapacity(shapeArray.count)
        for (i, dim) in shapeArray.enumerated() {
            guard let value = integer(dim) else {
                throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "shape",
                                                    expected: "an array of non-negative integers",
                                                    found: "\(describe(json: dim)) in dimension \(i)")
            }
            shape.append(value)
        }
        if let bad = shape.firstIndex(where: { $0 < 0 }) {
            throw SafeTensorsError.negativeDimension(source: source, tensor: name, shape: shape, dimension: bad)
        }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { throw SafeTensorsError.shapeOverflow(source: source, tensor: name, shape: shape) }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        if overflow { throw SafeTensorsError.shapeOverflow(source: source, tensor: name, shape: shape) }
        // data_offsets
        let offsetsExpected = "an array of two non-negative integers [begin, end]"
        guard let offsetsValue = entry["data_offsets"] else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "data_offsets",
                                                expected: offsetsExpected, found: "no data_offsets")
        }
        guard let offsets = offsetsValue as? [Any], offsets.count == 2 else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "data_offsets",
                                                expected: offsetsExpected, found: describe(json: offsetsValue))
        }
        guard let begin = integer(offsets[0]), begin >= 0 else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "data_offsets",
                                                expected: offsetsExpected, found: "begin \(describe(json: offsets[0]))")
        }
        guard let end = integer(offsets[1]), end >= 0 else {
            throw SafeTensorsError.invalidEntry(source: source, tensor: name, field: "data_offsets",
                                                expected: offsetsExpected, found: "end \(describe(json: offsets[1]))")
        }
        if begin > end {
            throw SafeTensorsError.offsetsReversed(source: source, tensor: name, begin: begin, end: end)
        }
        if end > dataSize {
            throw SafeTensorsError.offsetsOutOfRange(source: source, tensor: name, begin: begin, end: end,
                                                     dataSize: dataSize)
        }
        if end - begin != byteCount {
            throw SafeTensorsError.sizeMismatch(source: source, tensor: name, dtype: dtype.rawValue, shape: shape,
                                                expectedBytes: byteCount, foundBytes: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, count: count, begin: begin, end: end)
    }

    /// The value of a JSON integer that fits in `Int`; `nil` for booleans, non-integer numbers
    /// (including `1.0` and `1e2`, as the reference implementation), integers that overflow `Int`,
    /// and anything that is not a number.
    static func integer(_ value: Any) -> Int? {
        guard !(value is String), let number = value as? NSNumber else { return nil }
        switch String(cString: number.objCType) {
        case "s", "i", "l", "q":
            let v = number.int64Value
            return Int(exactly: v)
        case "S", "I", "L", "Q":
            let v = number.uint64Value
            return Int(exactly: v)
        default:
            // "c" is a boolean; "d"/"f" a number written with a fraction or exponent, or an
            // integer too large for 64 bits.
            return nil
        }
    }

    /// A short description of a JSON value for error messages.
    static func describe(json value: Any) -> String {
        if value is NSNull { return "null" }
        if let s = value as? String {
            let shown = s.count > 40 ? String(s.prefix(40)) + "..." : s
            return "the string \"\(shown)\""
        }
        if let number = value as? NSNumber {
            let type = String(cString: number.objCType)
            if type == "c" || type == "B" { return number.boolValue ? "true" : "false" }
            if type == "d" || type == "f" {
                let d = number.doubleValue
                if d.rounded() == d && abs(d) >= 0x1p63 { return "the number \(d) (too large for Int)" }
                return "the non-integer number \(d)"
            }
            if type == "Q" || type == "L", number.uint64Value > UInt64(Int.max) {
                return "the number \(number) (too large for Int)"
            }
            return "the number \(number)"
        }
        if let array = value as? [Any] { return "an array of \(array.count) element\(array.count == 1 ? "" : "s")" }
        if value is [String: Any] { return "an object" }
        return "a value of type \(type(of: value))"
    }

    static func describe(error: Error) -> String {
        let ns = error as NSError
        if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return readableErrorReason(error)
    }

    static func errnoString() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence
    /// (overlong forms, surrogates and code points past U+10FFFF are rejected), or `nil`.
    static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        var i = 0
        while i < n {
            let lead = bytes[i]
            if lead < 0x80 { i += 1; continue }
            var need = 0
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; high = 0x9F
            case 0xF0: need = 3; low = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; high = 0x8F
            default: return i
            }
            guard need < n - i else { return i }
            let second = bytes[i + 1]
            guard second >= low && second <= high else { return i }
            if need >= 2 {
                for k in 2...need where bytes[i + k] & 0xC0 != 0x80 { return i }
            }
            i += need + 1
        }
        return nil
    }

    /// The offset of the first comma directly followed (after whitespace) by `}` or `]`,
    /// outside string literals, or `nil`.
    static func firstTrailingComma(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        var pendingComma: Int?
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""):
                pendingComma = nil
                i += 1
                while i < n && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
            case UInt8(ascii: ","):
                pendingComma = i
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let comma = pendingComma { return comma }
            case 0x20, 0x09, 0x0A, 0x0D:
                break
            default:
                pendingComma = nil
            }
            i += 1
        }
        return nil
    }

    /// The first key that appears twice at the top level of the (already validated) JSON object
    /// in `bytes`, or `nil`. `JSONSerialization` silently keeps the last of duplicate keys, so
    /// the keys are scanned here directly. Keys are compared after unescaping.
    static func firstDuplicateKey(_ bytes: UnsafeRawBufferPointer) -> String? {
        let n = bytes.count
        var i = 0
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }
        /// Moves `i` past the string literal starting at `i` (which holds a quote).
        func skipString() {
            i += 1
            while i < n && bytes[i] != quote { i += bytes[i] == backslash ? 2 : 1 }
            i += 1
        }
        while i < n && isSpace(bytes[i]) { i += 1 }
        guard i < n, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var seen = Set<String>()
        while i < n {
            let c = bytes[i]
            if isSpace(c) || c == UInt8(ascii: ",") { i += 1; continue }
            if c == UInt8(ascii: "}") { return nil }
            guard c == quote else { return nil }
            let start = i
            skipString()
            guard i <= n else { return nil }
            let literal = UnsafeRawBufferPointer(rebasing: bytes[start ..< i])
            let key: String
            if literal.contains(backslash) {
                guard let decoded = try? JSONSerialization.jsonObject(with: Data(literal), options: .fragmentsAllowed)
                    as? String else { return nil }
                key = decoded
            } else {
                key = String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
            }
            if !seen.insert(key).inserted { return key }
            while i < n && isSpace(bytes[i]) { i += 1 }
            guard i < n, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            // Skip the value, up to the ',' or '}' that ends it at this level.
            var depth = 0
            scan: while i < n {
                switch bytes[i] {
                case quote:
                    skipString()
                    continue scan
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { break scan }
                    depth -= 1
                case UInt8(ascii: ","):
                    if depth == 0 { break scan }
                default:
                    break
                }
                i += 1
            }
        }
        return nil
    }

    /// Converts `count` little-endian elements of `dtype` in `src` (exactly `count * dtype.size`
    /// bytes, any alignment) to `Float`s at `dst`.
    static func convert(_ src: UnsafeRawBufferPointer, dtype: DType, count: Int, into dst: UnsafeMutablePointer<Float>) {
        guard count > 0, let base = src.baseAddress, src.count == count * dtype.size else { return }
        @inline(__always) func load<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            T(littleEndian: base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        switch dtype {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: count * 4)
            #else
            for i in 0..<count { dst[i] = Float(bitPattern: load(i, UInt32.self)) }
            #endif
        case .f16:
            for i in 0..<count { dst[i] = halfToFloat(load(i, UInt16.self)) }
        case .bf16:
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(load(i, UInt16.self)) << 16) }
        case .f64:
            for i in 0..<count { dst[i] = Float(Double(bitPattern: load(i, UInt64.self))) }
        case .i64:
            for i in 0..<count { dst[i] = Float(load(i, Int64.self)) }
        case .i32:
            for i in 0..<count { dst[i] = Float(load(i, Int32.self)) }
        case .i16:
            for i in 0..<count { dst[i] = Float(load(i, Int16.self)) }
        case .i8:
            for i in 0..<count { dst[i] = Float(load(i, Int8.self)) }
        case .u64:
            for i in 0..<count { dst[i] = Float(load(i, UInt64.self)) }
        case .u32:
            for i in 0..<count { dst[i] = Float(load(i, UInt32.self)) }
        case .u16:
            for i in 0..<count { dst[i] = Float(load(i, UInt16.self)) }
        case .u8:
            for i in 0..<count { dst[i] = Float(load(i, UInt8.self)) }
        case .bool:
            for i in 0..<count { dst[i] = load(i, UInt8.self) != 0 ? 1 : 0 }
        }
    }

    /// Widens an IEEE 754 binary16 bit pattern to `Float`, exactly (subnormals, infinities and
    /// NaN payloads included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24, exact in Float.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}

/// `write(2)` under a name that does not clash with ``SafeTensors/write(_:metadata:to:)``.
@inline(__always)
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
