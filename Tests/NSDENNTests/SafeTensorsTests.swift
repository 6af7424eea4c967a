import Foundation
import XCTest
import NSDETensor
import NSDENN

final class SafeTensorsTests: XCTestCase {

    // MARK: - Helpers

    /// A fresh empty directory, removed after the test.
    private func makeTemporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A safetensors file made of an 8-byte length, `header` verbatim (no padding) and `data`.
    private func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
        file(Array(header.utf8), data: data)
    }

    private func file(_ header: [UInt8], data: [UInt8] = []) -> [UInt8] {
        var out = [UInt8]()
        let n = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        return out + header + data
    }

    /// Asserts that decoding `bytes` throws exactly `expected`.
    private func assertDecodeThrows(_ bytes: [UInt8], _ expected: SafeTensorsError,
                                    file: StaticString = #filePath, line: UInt = #line) {
        assertDecodeThrows(bytes, file: file, line: line) { error in
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    /// Asserts that decoding `bytes` throws a `SafeTensorsError`, and hands it to `check`.
    private func assertDecodeThrows(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line,
                                    _ check: (SafeTensorsError) -> Void) {
        do {
            let result = try SafeTensors.decode(bytes)
            XCTFail("decode succeeded with \(result.tensors.keys.sorted()), expected an error", file: file, line: line)
        } catch let error as SafeTensorsError {
            XCTAssertFalse(error.description.isEmpty, file: file, line: line)
            check(error)
        } catch {
            XCTFail("unexpected error type \(type(of: error)): \(error)", file: file, line: line)
        }
    }

    private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    private func assertBitEqual(_ a: [String: Tensor], _ b: [String: Tensor],
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), file: file, line: line)
        for (name, x) in a {
            guard let y = b[name] else { continue }
            XCTAssertEqual(x.shape, y.shape, "shape of \(name)", file: file, line: line)
            XCTAssertEqual(bits(x), bits(y), "bits of \(name)", file: file, line: line)
        }
    }

    /// Little-endian bytes of fixed-width values.
    private func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in
            (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
        }
    }

    private func f32(_ values: [Float]) -> [UInt8] { le(values.map(\.bitPattern)) }

    private func sampleTensors() -> [String: Tensor] {
        [
            "scalar": Tensor(-2.5),
            "vector": Tensor([1, 2, 3, 4.5]),
            "layer.0.weight": Tensor(shape: [2, 3, 2], scalars: (0..<12).map { Float($0) * 0.25 - 1 }),
            "empty": Tensor(shape: [0, 3], scalars: []),
            "empty.middle": Tensor(shape: [2, 0, 4], scalars: []),
            "special": Tensor([
                .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                Float(bitPattern: 0x7FC0_1234), Float(bitPattern: 0xFF80_0001), .ulpOfOne,
            ]),
        ]
    }

    // MARK: - Round trips and layout

    func testRoundTripInMemory() throws {
        let tensors = sampleTensors()
        let metadata = ["format": "pt", "quote\"back\\slash": "new\nline\ttab\u{01}\u{7F}", "unicode": "é✓𝄞", "": ""]
        let bytes = try SafeTensors.encode(tensors, metadata: metadata)
        let (decoded, meta) = try SafeTensors.decode(bytes)
        assertBitEqual(tensors, decoded)
        XCTAssertEqual(meta, metadata)
        XCTAssertEqual(decoded["scalar"]?.shape, [])
        XCTAssertEqual(decoded["empty.middle"]?.shape, [2, 0, 4])

        // Data and [UInt8] decoding agree.
        let (viaData, metaViaData) = try SafeTensors.decode(Data(bytes))
        assertBitEqual(tensors, viaData)
        XCTAssertEqual(metaViaData, metadata)
    }

    func testRoundTripThroughFile() throws {
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("model.safetensors")
        let tensors = sampleTensors()
        try SafeTensors.write(tensors, metadata: ["epoch": "3"], to: url)
        let (read, meta) = try SafeTensors.read(from: url)
        assertBitEqual(tensors, read)
        XCTAssertEqual(meta, ["epoch": "3"])
        XCTAssertEqual(try Data(contentsOf: url), Data(try SafeTensors.encode(tensors, metadata: ["epoch": "3"])))

        // No metadata written and none read back; an empty checkpoint is valid too.
        try SafeTensors.write([:], to: url)
        let empty = try SafeTensors.read(from: url)
        XCTAssertTrue(empty.tensors.isEmpty)
        XCTAssertTrue(empty.metadata.isEmpty)
    }

    func testHeaderPaddingNameOrderAndLayout() throws {
        let tensors = ["b": Tensor([1, 2]), "a": Tensor(3), "B": Tensor(shape: [1, 1], scalars: [4])]
        let bytes = try SafeTensors.encode(tensors)
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0, "header length must be padded to a multiple of 8")
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let json = #"{"B":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"#
            + #""a":{"dtype":"F32","shape":[],"data_offsets":[4,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        XCTAssertEqual(header, json + String(repeating: " ", count: (8 - json.utf8.count % 8) % 8))
        XCTAssertEqual(Array(bytes[(8 + n)...]), f32([4, 3, 1, 2]), "data contiguous in name order")

        // Metadata comes first, keys sorted; the whole header is still a multiple of 8.
        let withMeta = try SafeTensors.encode(["x": Tensor(1)], metadata: ["z": "1", "a": "2"])
        let m = withMeta[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(m % 8, 0)
        XCTAssertTrue(String(decoding: withMeta[8..<(8 + m)], as: UTF8.self)
            .hasPrefix(#"{"__metadata__":{"a":"2","z":"1"},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#))
    }

    func testEncodingIsDeterministic() throws {
        var first: [String: Tensor] = [:]
        var second: [String: Tensor] = [:]
        let names = (0..<50).map { "layer.\($0).weight" }
        for (i, name) in names.enumerated() { first[name] = Tensor([Float(i), 1]) }
        for (i, name) in names.enumerated().reversed() { second[name] = Tensor([Float(i), 1]) }
        var meta1: [String: String] = [:], meta2: [String: String] = [:]
        for i in 0..<20 { meta1["k\(i)"] = "v\(i)" }
        for i in (0..<20).reversed() { meta2["k\(i)"] = "v\(i)" }
        XCTAssertEqual(try SafeTensors.encode(first, metadata: meta1), try SafeTensors.encode(second, metadata: meta2))
    }

    func testReaderConvertsOtherDTypes() throws {
        let header = """
        {"f16":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},\
        "bf16":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},\
        "f64":{"dtype":"F64","shape":[2],"data_offsets":[18,34]},\
        "i64":{"dtype":"I64","shape":[3],"data_offsets":[34,58]},\
        "i32":{"dtype":"I32","shape":[2],"data_offsets":[58,66]},\
        "u8":{"dtype":"U8","shape":[3],"data_offsets":[66,69]},\
        "i8":{"dtype":"I8","shape":[2],"data_offsets":[69,71]},\
        "bool":{"dtype":"BOOL","shape":[2],"data_offsets":[71,73]},\
        "i16":{"dtype":"I16","shape":[1],"data_offsets":[73,75]},\
        "u16":{"dtype":"U16","shape":[1],"data_offsets":[75,77]},\
        "u32":{"dtype":"U32","shape":[1],"data_offsets":[77,81]},\
        "u64":{"dtype":"U64","shape":[1],"data_offsets":[81,89]},\
        "f32":{"dtype":"F32","shape":[1],"data_offsets":[89,93]}}
        """
        var data = [UInt8]()
        // F16: 1, -2, 65504, smallest subnormal, -0, +inf.
        data += le([UInt16(0x3C00), 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00])
        // BF16: 1, -3.5, 1.5.
        data += le([UInt16(0x3F80), 0xC060, 0x3FC0])
        data += le([Double(0.1).bitPattern, Double(-1e300).bitPattern])
        data += le([Int64(-5), 1 << 40, 16_777_217])
        data += le([Int32.min, 7])
        data += [0, 128, 255]
        data += [0xFF, 0x7F]
        data += [0, 2]
        data += le([Int16(-300)])
        data += le([UInt16(65535)])
        data += le([UInt32(4_000_000_000)])
        data += le([UInt64.max])
        data += f32([6.5])
        // Header length 1 mod 8 on purpose: the data section is unaligned.
        let (t, _) = try SafeTensors.decode(file(header, data: data))
        XCTAssertEqual(t["f16"]?.scalars.map(\.bitPattern),
                       [1, -2, 65504, 0x1p-24, -0.0, .infinity].map { Float($0).bitPattern })
        XCTAssertEqual(t["bf16"]?.scalars, [1, -3.5, 1.5])
        XCTAssertEqual(t["f64"]?.scalars, [Float(0.1), -.infinity])
        XCTAssertEqual(t["i64"]?.scalars, [-5, 0x1p40, 16_777_216])
        XCTAssertEqual(t["i32"]?.scalars, [-0x1p31, 7])
        XCTAssertEqual(t["u8"]?.scalars, [0, 128, 255])
        XCTAssertEqual(t["i8"]?.scalars, [-1, 127])
        XCTAssertEqual(t["bool"]?.scalars, [0, 1])
        XCTAssertEqual(t["i16"]?.scalars, [-300])
        XCTAssertEqual(t["u16"]?.scalars, [65535])
        XCTAssertEqual(t["u32"]?.scalars, [4e9])
        XCTAssertEqual(t["u64"]?.scalars, [0x1p64])
        XCTAssertEqual(t["f32"]?.scalars, [6.5])
        XCTAssertEqual(t["i64"]?.shape, [3])
    }

    func testHalfConversionMatchesEveryBitPattern() throws {
        // All 65536 F16 bit patterns through the public reader, against a reference widening.
        let patterns = (0...UInt16.max).map { $0 }
        let header = #"{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}"#
        let (t, _) = try SafeTensors.decode(file(header, data: le(patterns)))
        let got = try XCTUnwrap(t["h"]).scalars
        for h in patterns {
            let sign: Float = h & 0x8000 != 0 ? -1 : 1
            let exponent = Int(h >> 10) & 0x1F
            let mantissa = Float(h & 0x3FF)
            let expected: Float
            switch exponent {
            case 0: expected = sign * mantissa * 0x1p-24
            case 31: expected = mantissa == 0 ? sign * .infinity : .nan
            default: expected = sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
            }
            let value = got[Int(h)]
            if expected.isNaN {
                XCTAssertTrue(value.isNaN, "half \(h)")
                // The payload survives (quiet bit included).
                XCTAssertEqual(value.bitPattern & 0x007F_E000, UInt32(h & 0x3FF) << 13, "half \(h)")
            } else {
                XCTAssertEqual(value.bitPattern, expected.bitPattern, "half \(h)")
            }
        }
    }

    func testManyTensorsAndLargeTensor() throws {
        var tensors: [String: Tensor] = [:]
        for i in 0..<3000 { tensors["block.\(i).bias"] = Tensor([Float(i), -Float(i)]) }
        let big = Tensor(uninitializedShape: [1 << 22])
        for i in 0..<big.count { big.storage.pointer[i] = Float(i % 1000) * 0.5 }
        tensors["big"] = big
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("big.safetensors")
        try SafeTensors.write(tensors, to: url)
        let (read, _) = try SafeTensors.read(from: url)
        XCTAssertEqual(read.count, tensors.count)
        XCTAssertEqual(read["block.2999.bias"]?.scalars, [2999, -2999])
        XCTAssertEqual(read["big"].map(bits), bits(big))
    }

    // MARK: - Malformed input

    func testShortFileAndHeaderLength() {
        for size in 0..<8 {
            assertDecodeThrows(Array(repeating: 0, count: size), .fileTooShort(source: "<memory>", size: size))
        }
        // Length past the end of the file.
        var bytes = file("{}")
        bytes[0] = 3
        assertDecodeThrows(bytes, .headerLengthOutOfRange(source: "<memory>", headerLength: 3, available: 2,
                                                          limit: SafeTensors.maxHeaderLength))
        // Absurd lengths, including ones that do not fit in Int.
        for length in [UInt64.max, UInt64(Int.max) + 1, 200_000_000] {
            let b = le([length]) + Array("{}".utf8)
            assertDecodeThrows(b, .headerLengthOutOfRange(source: "<memory>", headerLength: length, available: 2,
                                                          limit: SafeTensors.maxHeaderLength))
        }
    }

    func testHeaderNotUTF8() {
        assertDecodeThrows(file([UInt8(ascii: "{"), UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\""),
                                 UInt8(ascii: ":"), UInt8(ascii: "1"), UInt8(ascii: "}")]),
                           .headerNotUTF8(source: "<memory>", byteOffset: 2))
        // Overlong encoding, surrogate, code point past U+10FFFF, truncated sequence at the end.
        let cases: [([UInt8], Int)] = [
            (Array("{\"".utf8) + [0xC0, 0x80] + Array("\":1}".utf8), 2),
            (Array("{\"".utf8) + [0xED, 0xA0, 0x80] + Array("\":1}".utf8), 2),
            (Array("{\"".utf8) + [0xF4, 0x90, 0x80, 0x80] + Array("\":1}".utf8), 2),
            (Array("{}  ".utf8) + [0xE2, 0x9C], 4),
        ]
        for (header, offset) in cases {
            assertDecodeThrows(file(header), .headerNotUTF8(source: "<memory>", byteOffset: offset))
        }
    }

    func testHeaderNotJSONOrNotObject() throws {
        let invalid = ["", "{", #"{"a":}"#, "{} x", "nul", "\"x\"", "1", "{'a':1}", #"{"a":01}"#, "{\"a\":\"\u{01}\"}",
                       // Trailing commas (which JSONSerialization alone accepts) and a byte order mark.
                       #"{"a":{"dtype":"F32",}}"#, #"{"__metadata__":{"k":"v"} , }"#,
                       #"{"t":{"dtype":"F32","shape":[1, ],"data_offsets":[0,4]}}"#, "\u{FEFF}{}"]
        for header in invalid {
            assertDecodeThrows(file(header)) { error in
                guard case .headerNotJSON(source: "<memory>", _) = error else {
                    return XCTFail("header \(header.debugDescription): expected headerNotJSON, got \(error)")
                }
            }
        }
        assertDecodeThrows(file("[1, 2]"), .headerNotObject(source: "<memory>", found: "an array of 2 elements"))
        assertDecodeThrows(file("[]"), .headerNotObject(source: "<memory>", found: "an array of 0 elements"))
        // Commas and brackets inside strings, escapes and free whitespace are fine.
        let valid = " \n{ \"__metadata__\" : { \"k,\" : \",]\\\",}\" } ,\t\"x\\\",}\" : "
            + #"{"dtype":"F32","shape":[ 1 ],"data_offsets":[ 0 , 4 ]} }  "#
        let (tensors, metadata) = try SafeTensors.decode(file(valid, data: f32([9])))
        XCTAssertEqual(tensors["x\",}"]?.scalars, [9])
        XCTAssertEqual(metadata, ["k,": ",]\",}"])
    }

    func testMissingAndIllTypedFields() {
        let shapeExpected = "an array of non-negative integers"
        let offsetsExpected = "an array of two non-negative integers [begin, end]"
        func entry(_ field: String, _ expected: String, _ found: String) -> SafeTensorsError {
            .invalidEntry(source: "<memory>", tensor: "t", field: field, expected: expected, found: found)
        }
        let cases: [(String, SafeTensorsError)] = [
            (#"{"t":5}"#, entry("entry", "an object with dtype, shape and data_offsets", "the number 5")),
            (#"{"t":[]}"#, entry("entry", "an object with dtype, shape and data_offsets", "an array of 0 elements")),
            (#"{"t":{"shape":[1],"data_offsets":[0,4]}}"#, entry("dtype", "a dtype string", "no dtype")),
            (#"{"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#, entry("dtype", "a dtype string", "the number 4")),
            (#"{"t":{"dtype":null,"shape":[1],"data_offsets":[0,4]}}"#, entry("dtype", "a dtype string", "null")),
            (#"{"t":{"dtype":"F32","data_offsets":[0,4]}}"#, entry("shape", shapeExpected, "no shape")),
            (#"{"t":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}"#, entry("shape", shapeExpected, "the number 1")),
            (#"{"t":{"dtype":"F32","shape":{},"data_offsets":[0,4]}}"#, entry("shape", shapeExpected, "an object")),
            (#"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
             entry("shape", shapeExpected, "the non-integer number 1.5 in dimension 0")),
            (#"{"t":{"dtype":"F32","shape":[1,1.0],"data_offsets":[0,4]}}"#,
             entry("shape", shapeExpected, "the non-integer number 1.0 in dimension 1")),
            (#"{"t":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#,
             entry("shape", shapeExpected, "true in dimension 0")),
            (#"{"t":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}"#,
             entry("shape", shapeExpected, "the string \"1\" in dimension 0")),
            (#"{"t":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,4]}}"#,
             entry("shape", shapeExpected, "the number 18446744073709551615 (too large for Int) in dimension 0")),
            (#"{"t":{"dtype":"F32","shape":[1]}}"#, entry("data_offsets", offsetsExpected, "no data_offsets")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
             entry("data_offsets", offsetsExpected, "an array of 1 element")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}"#,
             entry("data_offsets", offsetsExpected, "an array of 3 elements")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}}"#,
             entry("data_offsets", offsetsExpected, "the string \"0,4\"")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,
             entry("data_offsets", offsetsExpected, "begin the number -4")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#,
             entry("data_offsets", offsetsExpected, "end the non-integer number 4.0")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,1e30]}}"#,
             entry("data_offsets", offsetsExpected, "end the number 1e+30 (too large for Int)")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999999]}}"#,
             entry("data_offsets", offsetsExpected, "end the number 1e+23 (too large for Int)")),
            (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[null,4]}}"#,
             entry("data_offsets", offsetsExpected, "begin null")),
        ]
        for (header, expected) in cases {
            assertDecodeThrows(file(header, data: [0, 0, 0, 0])) { error in
                guard case let .invalidEntry(source, tensor, field, exp, found) = error,
                      case let .invalidEntry(_, eTensor, eField, eExp, eFound) = expected else {
                    return XCTFail("\(header): expected \(expected), got \(error)")
                }
                XCTAssertEqual(source, "<memory>")
                XCTAssertEqual(tensor, eTensor, header)
                XCTAssertEqual(field, eField, header)
                XCTAssertEqual(exp, eExp, header)
                // The exact spelling of big numbers depends on the JSON parser; the category must not.
                if eFound.contains("too large") {
                    XCTAssertTrue(found.contains("too large for Int"), "\(header): \(found)")
                } else {
                    XCTAssertEqual(found, eFound, header)
                }
            }
        }
    }

    func testUnknownDType() {
        for dtype in ["F8", "f32", "", "Q4_0", "C64"] {
            assertDecodeThrows(file(#"{"t":{"dtype":"\#(dtype)","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                               .unknownDType(source: "<memory>", tensor: "t", dtype: dtype,
                                             supported: SafeTensors.DType.allCases.map(\.rawValue)))
        }
    }

    func testNegativeDimensionAndShapeOverflow() {
        assertDecodeThrows(file(#"{"t":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           .negativeDimension(source: "<memory>", tensor: "t", shape: [2, -1], dimension: 1))
        assertDecodeThrows(file(#"{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                                data: [0, 0, 0, 0]),
                           .shapeOverflow(source: "<memory>", tensor: "t", shape: [1 << 32, 1 << 32]))
        // The element count fits but the byte count does not.
        assertDecodeThrows(file(#"{"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}}"#,
                                data: [0, 0, 0, 0]),
                           .shapeOverflow(source: "<memory>", tensor: "t", shape: [1 << 61]))
    }

    func testOffsetErrors() {
        assertDecodeThrows(file(#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
                           .offsetsReversed(source: "<memory>", tensor: "t", begin: 4, end: 0))
        assertDecodeThrows(file(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
                           .offsetsOutOfRange(source: "<memory>", tensor: "t", begin: 0, end: 8, dataSize: 4))
        assertDecodeThrows(file(#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775807,9223372036854775807]}}"#,
                                data: [0, 0, 0, 0]),
                           .offsetsOutOfRange(source: "<memory>", tensor: "t", begin: Int.max, end: Int.max, dataSize: 4))
        assertDecodeThrows(file(#"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                           .sizeMismatch(source: "<memory>", tensor: "t", dtype: "F32", shape: [2],
                                         expectedBytes: 8, foundBytes: 4))
        assertDecodeThrows(file(#"{"t":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)),
                           .sizeMismatch(source: "<memory>", tensor: "t", dtype: "F16", shape: [3],
                                         expectedBytes: 6, foundBytes: 8))
    }

    func testOverlapsGapsAndUnusedBytes() {
        let data12 = [UInt8](repeating: 0, count: 12)
        assertDecodeThrows(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                data: data12),
                           .overlappingTensors(source: "<memory>", tensor: "b", begin: 4, other: "a", otherEnd: 8))
        // The same data used twice.
        assertDecodeThrows(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                                data: [0, 0, 0, 0])) { error in
            guard case .overlappingTensors(source: "<memory>", tensor: _, begin: 0, other: _, otherEnd: 4) = error else {
                return XCTFail("expected overlappingTensors, got \(error)")
            }
        }
        // A gap between two tensors.
        assertDecodeThrows(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                data: data12),
                           .unusedBytes(source: "<memory>", tensor: "b", expectedOffset: 4, foundOffset: 8))
        // Unused bytes before the first tensor and after the last.
        assertDecodeThrows(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: Array(data12[..<8])),
                           .unusedBytes(source: "<memory>", tensor: "a", expectedOffset: 0, foundOffset: 4))
        assertDecodeThrows(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: Array(data12[..<8])),
                           .unusedBytes(source: "<memory>", tensor: nil, expectedOffset: 4, foundOffset: 8))
        assertDecodeThrows(file("{}", data: [1]),
                           .unusedBytes(source: "<memory>", tensor: nil, expectedOffset: 0, foundOffset: 1))
        // Empty tensors may sit anywhere the data is contiguous, including at the same offset.
        XCTAssertNoThrow(try SafeTensors.decode(file(
            #"{"e1":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e2":{"dtype":"F64","shape":[0,2],"data_offsets":[4,4]}}"#,
            data: [0, 0, 0, 0])))
    }

    func testDuplicateNames() {
        let t = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        assertDecodeThrows(file(#"{"a":\#(t),"a":\#(t)}"#, data: [0, 0, 0, 0]),
                           .duplicateName(source: "<memory>", tensor: "a"))
        // Escaped spelling of the same name, and nested objects with repeated keys in between.
        assertDecodeThrows(file(#"{"x\"y":\#(t), "b" : {"dtype":"F32","shape":[0],"data_offsets":[4,4],"k":{"a":[1,"a"]}} , "x\u0022y":\#(t)}"#,
                                data: [0, 0, 0, 0]),
                           .duplicateName(source: "<memory>", tensor: "x\"y"))
        assertDecodeThrows(file(#"{"__metadata__":{},"__metadata__":{"a":"b"}}"#),
                           .duplicateName(source: "<memory>", tensor: "__metadata__"))
        // Keys repeated only inside nested objects are fine.
        XCTAssertNoThrow(try SafeTensors.decode(file(#"{"__metadata__":{"a":"1"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":{"a":1,"dtype":2}}}"#,
                                                     data: [0, 0, 0, 0])))
    }

    func testInvalidMetadata() {
        assertDecodeThrows(file(#"{"__metadata__":5}"#),
                           .invalidMetadata(source: "<memory>", expected: "an object of string values", found: "the number 5"))
        assertDecodeThrows(file(#"{"__metadata__":{"a":"x","b":1}}"#),
                           .invalidMetadata(source: "<memory>", expected: "a string for key 'b'", found: "the number 1"))
        assertDecodeThrows(file(#"{"__metadata__":{"a":null}}"#),
                           .invalidMetadata(source: "<memory>", expected: "a string for key 'a'", found: "null"))
    }

    func testErrorDescriptionsNameFileTensorAndValues() throws {
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("bad.safetensors")
        try Data(file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
            .write(to: url)
        XCTAssertThrowsError(try SafeTensors.read(from: url)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(url.path), text)
            XCTAssertTrue(text.contains("'w'"), text)
            XCTAssertTrue(text.contains("expected 12 bytes"), text)
            XCTAssertTrue(text.contains("found 8"), text)
        }
        XCTAssertThrowsError(try SafeTensors.read(from: dir.appendingPathComponent("missing.safetensors"))) { error in
            guard case .io(let source, "read", _)? = error as? SafeTensorsError else {
                return XCTFail("expected io error, got \(error)")
            }
            XCTAssertTrue(source.hasSuffix("missing.safetensors"))
        }
        // Every case renders a one-line message mentioning the source.
        let samples: [SafeTensorsError] = [
            .fileTooShort(source: "f", size: 3),
            .headerLengthOutOfRange(source: "f", headerLength: 9, available: 2, limit: 10),
            .headerNotUTF8(source: "f", byteOffset: 1), .headerNotJSON(source: "f", reason: "r"),
            .headerNotObject(source: "f", found: "x"), .duplicateName(source: "f", tensor: "t"),
            .invalidMetadata(source: "f", expected: "e", found: "x"),
            .invalidEntry(source: "f", tensor: "t", field: "shape", expected: "e", found: "x"),
            .unknownDType(source: "f", tensor: "t", dtype: "X", supported: ["F32"]),
            .negativeDimension(source: "f", tensor: "t", shape: [-1], dimension: 0),
            .shapeOverflow(source: "f", tensor: "t", shape: [1]),
            .offsetsReversed(source: "f", tensor: "t", begin: 2, end: 1),
            .offsetsOutOfRange(source: "f", tensor: "t", begin: 0, end: 9, dataSize: 4),
            .sizeMismatch(source: "f", tensor: "t", dtype: "F32", shape: [1], expectedBytes: 4, foundBytes: 8),
            .overlappingTensors(source: "f", tensor: "t", begin: 0, other: "u", otherEnd: 4),
            .unusedBytes(source: "f", tensor: "t", expectedOffset: 0, foundOffset: 4),
            .unusedBytes(source: "f", tensor: nil, expectedOffset: 0, foundOffset: 4),
            .invalidName(source: "f", tensor: "t", reason: "r"), .io(source: "f", operation: "o", reason: "r"),
        ]
        for error in samples {
            XCTAssertTrue(error.description.hasPrefix("safetensors f: "), error.description)
            XCTAssertFalse(error.description.contains("\n"), error.description)
        }
    }

    // MARK: - Fuzzing

    /// A small deterministic generator for the fuzz loops.
    private struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func testTruncationAtEveryLengthThrows() throws {
        let bytes = try SafeTensors.encode(["a": Tensor([1, 2, 3]), "b": Tensor(4), "c": Tensor(shape: [2, 2], scalars: [5, 6, 7, 8])],
                                           metadata: ["m": "v"])
        XCTAssertNoThrow(try SafeTensors.decode(bytes))
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensors.decode(Array(bytes[..<length])), "prefix of \(length) bytes") { error in
                XCTAssertTrue(error is SafeTensorsError)
            }
        }
        // Extra bytes at the end are unused data.
        assertDecodeThrows(bytes + [0]) { error in
            guard case .unusedBytes(_, nil, _, _) = error else { return XCTFail("got \(error)") }
        }
    }

    func testRandomByteFlipsNeverCrash() throws {
        let bytes = try SafeTensors.encode(["a.weight": Tensor([1, 2, 3]), "b": Tensor(4),
                                            "c": Tensor(shape: [2, 2], scalars: [5, 6, 7, 8])],
                                           metadata: ["m": "v"])
        let headerEnd = 8 + bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var rng = SplitMix64(state: 42)
        let interesting: [UInt8] = Array("{}[]\",:-.0123456789eE \\u".utf8) + [0x00, 0x7F, 0x80, 0xC0, 0xFF, 0xED, 0xF4]
        var succeeded = 0
        for _ in 0..<5000 {
            var mutated = bytes
            for _ in 0..<(1 + rng.below(3)) {
                let position = rng.below(headerEnd)
                mutated[position] = rng.below(2) == 0 ? UInt8(truncatingIfNeeded: rng.next())
                                                      : interesting[rng.below(interesting.count)]
            }
            do {
                let (tensors, _) = try SafeTensors.decode(mutated)
                succeeded += 1
                // Whatever was accepted must be self-consistent.
                for (_, t) in tensors { XCTAssertEqual(t.count, t.shape.reduce(1, *)) }
            } catch {
                XCTAssertTrue(error is SafeTensorsError, "\(error)")
            }
        }
        // Random garbage of random lengths.
        for _ in 0..<2000 {
            let length = rng.below(64)
            var garbage = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if length >= 8 { garbage.replaceSubrange(0..<8, with: le([UInt64(rng.below(length - 7))])) }
            _ = try? SafeTensors.decode(garbage)
        }
        XCTAssertGreaterThan(succeeded, 0, "some flips (inside string values) should leave a valid file")
    }

    // MARK: - Atomic writing

    func testAtomicWriteLeavesNoTemporaryFilesAndKeepsDestinationOnFailure() throws {
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try SafeTensors.write(["w": Tensor([1, 2])], metadata: ["v": "1"], to: url)
        let original = try Data(contentsOf: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt.safetensors"])

        // Encoding fails: the destination keeps its old contents and no temporary file is left.
        XCTAssertThrowsError(try SafeTensors.write(["__metadata__": Tensor([1])], to: url)) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .invalidName(source: url.path, tensor: "__metadata__",
                                        reason: "'__metadata__' is reserved for the metadata"))
        }
        XCTAssertThrowsError(try SafeTensors.encode(["__metadata__": Tensor([1])]))
        XCTAssertEqual(try Data(contentsOf: url), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt.safetensors"])

        // The directory does not exist: an io error, and nothing is created.
        let missing = dir.appendingPathComponent("no/such/dir/x.safetensors")
        XCTAssertThrowsError(try SafeTensors.write(["w": Tensor([1])], to: missing)) { error in
            guard case .io? = error as? SafeTensorsError else { return XCTFail("expected io, got \(error)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt.safetensors"])

        // The destination is a directory: rename fails, the temporary file is removed.
        let sub = dir.appendingPathComponent("sub.safetensors")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        try Data([1]).write(to: sub.appendingPathComponent("keep"))
        XCTAssertThrowsError(try SafeTensors.write(["w": Tensor([1])], to: sub))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       ["ckpt.safetensors", "sub.safetensors"])

        // A successful overwrite replaces the whole file.
        try SafeTensors.write(["z": Tensor(shape: [3, 1], scalars: [7, 8, 9])], to: url)
        let (tensors, meta) = try SafeTensors.read(from: url)
        XCTAssertEqual(tensors.keys.sorted(), ["z"])
        XCTAssertEqual(tensors["z"]?.scalars, [7, 8, 9])
        XCTAssertEqual(meta, [:])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       ["ckpt.safetensors", "sub.safetensors"])
    }

    // MARK: - Python interoperability

    private static let scriptURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/safetensors_interop.py")

    private struct ProcessOutput {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private struct InteropUnavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `python3 args...` and captures its output (through files, so a chatty child cannot
    /// block on a full pipe).
    private func python(_ args: [String]) throws -> ProcessOutput {
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("st-py-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("st-py-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + args
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        return ProcessOutput(status: process.terminationStatus,
                             stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    private static var isCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"]?.lowercased(), !value.isEmpty else { return false }
        return !["false", "0", "no"].contains(value)
    }

    /// Skips the test when `python3` with `safetensors` and `numpy` is missing, except on CI
    /// (`CI` set), where it fails: CI installs them, so their absence is a broken setup.
    private func requireSafetensorsPython() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.scriptURL.path), "missing \(Self.scriptURL.path)")
        let probe = try? python(["-c", "import safetensors, numpy"])
        if probe?.status == 0 { return }
        let message = "Python interop: `python3 -c \"import safetensors, numpy\"` failed"
            + (probe.map { ": \($0.stderr.trimmingCharacters(in: .whitespacesAndNewlines))" } ?? " (no python3)")
            + ". Install them with `pip install safetensors numpy`."
        if Self.isCI {
            throw InteropUnavailable(description: message + " CI is set, so this is a failure, not a skip.")
        }
        throw XCTSkip(message)
    }

    private func runScript(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let result = try python([Self.scriptURL.path] + args)
        XCTAssertEqual(result.status, 0, "safetensors_interop.py \(args.joined(separator: " ")) failed:\n"
                       + result.stdout + result.stderr, file: file, line: line)
        return result
    }

    /// `s` as a JSON string literal.
    private func jsonString(_ s: String) -> [UInt8] {
        var out = [UInt8]("\"".utf8)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += Array("\\\"".utf8)
            case "\\": out += Array("\\\\".utf8)
            case _ where scalar.value < 0x20: out += Array(String(format: "\\u%04x", scalar.value).utf8)
            default: out += Array(String(scalar).utf8)
            }
        }
        return out + Array("\"".utf8)
    }

    /// Expectation JSON for `check`: {name: {"shape", "values", "bits", "dtype"}, "__metadata__": ...}.
    private func expectationJSON(_ tensors: [String: Tensor], metadata: [String: String]) -> [UInt8] {
        var out = [UInt8]("{".utf8)
        var first = true
        func separator() { if !first { out += Array(",\n".utf8) }; first = false }
        if !metadata.isEmpty {
            separator()
            out += jsonString("__metadata__")
            out += Array(":{".utf8)
            for (i, (k, v)) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out += Array(",".utf8) }
                out += jsonString(k)
                out += Array(":".utf8)
                out += jsonString(v)
            }
            out += Array("}".utf8)
        }
        for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
            separator()
            out += jsonString(name)
            let values = t.scalars.map { $0.isFinite ? "\(Double($0))" : "null" }.joined(separator: ",")
            let bitList = t.scalars.map { String($0.bitPattern) }.joined(separator: ",")
            let shape = t.shape.map(String.init).joined(separator: ",")
            out += Array(#":{"dtype":"F32","shape":[\#(shape)],"values":[\#(values)],"bits":[\#(bitList)]}"#.utf8)
        }
        out += Array("}\n".utf8)
        return out
    }

    func testPythonReadsSwiftCheckpoint() throws {
        try requireSafetensorsPython()
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("swift.safetensors")
        let expectURL = dir.appendingPathComponent("swift.expect.json")
        var tensors = sampleTensors()
        tensors["special"] = Tensor([.infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1])
        tensors["unicode.é✓"] = Tensor([42])
        let metadata = ["format": "pt", "note": "quote \" and \\ and é"]
        try SafeTensors.write(tensors, metadata: metadata, to: url)
        try Data(expectationJSON(tensors, metadata: metadata)).write(to: expectURL)
        let result = try runScript(["check", url.path, expectURL.path])
        XCTAssertTrue(result.stdout.contains("tensors match"), result.stdout + result.stderr)

        // The check really compares: a wrong expectation makes the script fail.
        var wrong = tensors
        wrong["vector"] = Tensor([1, 2, 3, 4.25])
        try Data(expectationJSON(wrong, metadata: metadata)).write(to: expectURL)
        let failing = try python([Self.scriptURL.path, "check", url.path, expectURL.path])
        XCTAssertEqual(failing.status, 1, failing.stdout + failing.stderr)
        XCTAssertTrue(failing.stderr.contains("vector"), failing.stderr)
    }

    func testSwiftReadsPythonCheckpoint() throws {
        try requireSafetensorsPython()
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("numpy.safetensors")
        let expectURL = dir.appendingPathComponent("numpy.expect.json")
        _ = try runScript(["write", url.path, expectURL.path])
        let expectation = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: expectURL)) as? [String: Any])
        let (tensors, metadata) = try SafeTensors.read(from: url)
        XCTAssertEqual(metadata, expectation["__metadata__"] as? [String: String])
        let names = expectation.keys.filter { $0 != "__metadata__" }.sorted()
        XCTAssertEqual(tensors.keys.sorted(), names)
        var dtypes = Set<String>()
        for name in names {
            let spec = try XCTUnwrap(expectation[name] as? [String: Any])
            let shape = try XCTUnwrap(spec["shape"] as? [NSNumber]).map(\.intValue)
            let expectedBits = try XCTUnwrap(spec["bits"] as? [NSNumber]).map(\.uint32Value)
            dtypes.insert(try XCTUnwrap(spec["dtype"] as? String))
            let t = try XCTUnwrap(tensors[name])
            XCTAssertEqual(t.shape, shape, name)
            XCTAssertEqual(bits(t), expectedBits, name)
        }
        XCTAssertTrue(dtypes.isSuperset(of: ["F32", "F64", "F16", "I64"]), "\(dtypes)")
        XCTAssertTrue(tensors.values.contains { $0.rank == 0 })
        XCTAssertTrue(tensors.values.contains { $0.count == 0 })

        // And back: what Swift re-writes, Python reads with the same values.
        let again = dir.appendingPathComponent("again.safetensors")
        try SafeTensors.write(tensors, metadata: metadata, to: again)
        try Data(expectationJSON(tensors, metadata: metadata)).write(to: expectURL)
        _ = try runScript(["check", again.path, expectURL.path])
    }

    /// The state dict of `nn.Sequential(Conv2d(3,4,3,padding=1), GroupNorm(2,4), ReLU(),
    /// AdaptiveAvgPool2d(1), Flatten(), Linear(4,10))`, with deterministic values.
    private func torchStyleStateDict() -> [String: Tensor] {
        var rng = SplitMix64(state: 7)
        func t(_ shape: [Int]) -> Tensor {
            let n = shape.reduce(1, *)
            return Tensor(shape: shape, scalars: (0..<n).map { _ in Float(rng.below(2001) - 1000) / 997 })
        }
        return ["0.weight": t([4, 3, 3, 3]), "0.bias": t([4]), "1.weight": t([4]), "1.bias": t([4]),
                "5.weight": t([10, 4]), "5.bias": t([10])]
    }

    func testTorchLoadsSwiftCheckpointIntoModuleAndBack() throws {
        try requireSafetensorsPython()
        guard (try? python([Self.scriptURL.path, "has-torch"]))?.status == 0 else {
            throw XCTSkip("PyTorch is not installed; the torch nn.Module round trip is optional (CI checks with numpy)")
        }
        let dir = try makeTemporaryDirectory()
        let url = dir.appendingPathComponent("module.safetensors")
        let back = dir.appendingPathComponent("module.torch.safetensors")
        let state = torchStyleStateDict()
        try SafeTensors.write(state, metadata: ["format": "pt"], to: url)
        let result = try runScript(["torch-check", url.path, back.path])
        XCTAssertTrue(result.stdout.contains("loaded strictly"), result.stdout + result.stderr)
        let (reloaded, metadata) = try SafeTensors.read(from: back)
        assertBitEqual(state, reloaded)
        XCTAssertEqual(metadata, ["framework": "torch"])
    }
}
