import Foundation
import XCTest
import NSDEData

final class IDXTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    // MARK: - Round trips

    func testRoundTripEveryTypeRawAndGzip() throws {
        let arrays: [IDXArray] = [
            IDXArray(uint8: testBytes(2 * 3 * 4), shape: [2, 3, 4]),
            IDXArray(int8: [-128, -1, 0, 1, 127], shape: [5]),
            IDXArray(int16: [-32768, -2, 0, 300, 32767, 7], shape: [3, 2]),
            IDXArray(int32: [Int32.min, -70_000, 0, 70_000, Int32.max, 1], shape: [1, 2, 3]),
            IDXArray(float32: [-1.5, 0, 0.25, .pi, 1e-30, -3e38], shape: [6]),
            IDXArray(float64: [-1.5, 0, 0.1, .pi], shape: [2, 2]),
            IDXArray(uint8: [], shape: [0, 28, 28]),
        ]
        for (k, array) in arrays.enumerated() {
            for compressed in [false, true] {
                let url = dir.file("a\(k)-\(compressed).idx")
                try IDX.write(array, to: url, compressed: compressed)
                let back = try IDX.read(contentsOf: url)
                XCTAssertEqual(back, array, "\(array.elementType), compressed \(compressed)")
            }
        }
        XCTAssertEqual(arrays[1].integers(), [-128, -1, 0, 1, 127])
        XCTAssertEqual(arrays[2].integers(), [-32768, -2, 0, 300, 32767, 7])
        XCTAssertEqual(arrays[3].integers(), [Int(Int32.min), -70_000, 0, 70_000, Int(Int32.max), 1])
        XCTAssertNil(arrays[4].integers())
        XCTAssertEqual(arrays[4].doubles(), [-1.5, 0, 0.25, Double(Float.pi), Double(Float(1e-30)), Double(Float(-3e38))])
        XCTAssertEqual(arrays[5].doubles(), [-1.5, 0, 0.1, .pi])
        XCTAssertEqual(arrays[0].uint8Values, arrays[0].payload)
        XCTAssertNil(arrays[2].uint8Values)
    }

    func testEncodingLayout() {
        let bytes = IDX.encode(IDXArray(int16: [1, -2], shape: [2]))
        XCTAssertEqual(bytes, [0, 0, 0x0B, 1, 0, 0, 0, 2, 0x00, 0x01, 0xFF, 0xFE])
        let big = IDX.encode(IDXArray(uint8: [UInt8](repeating: 7, count: 70_000), shape: [70_000]))
        XCTAssertEqual(Array(big[4..<8]), [0x00, 0x01, 0x11, 0x70])  // 70000 = 0x00011170
    }

    func testCompressionDetectedFromContentNotExtension() throws {
        let array = IDXArray(uint8: testBytes(100), shape: [10, 10])
        let gzNoExt = try dir.write(Gzip.compress(IDX.encode(array)), to: "compressed-without-extension")
        let rawWithGzExt = try dir.write(IDX.encode(array), to: "raw-with-extension.gz")
        XCTAssertEqual(try IDX.read(contentsOf: gzNoExt), array)
        XCTAssertEqual(try IDX.read(contentsOf: rawWithGzExt), array)
    }

    // MARK: - Malformed files (raw and compressed)

    /// Writes `bytes` raw and gzip-compressed, and checks both fail with a matching error that
    /// names the file.
    func checkMalformed(_ bytes: [UInt8], _ name: String, _ matches: (DataError) -> Bool,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        for compressed in [false, true] {
            let url = try dir.write(compressed ? Gzip.compress(bytes) : bytes, to: name + (compressed ? ".gz" : ""))
            assertDataError(try IDX.read(contentsOf: url), mentioning: url.path, {
                matches($0) && $0.file == url.path
            }, file: file, line: line)
        }
    }

    func testWrongMagic() throws {
        var bytes = IDX.encode(IDXArray(uint8: [1, 2, 3], shape: [3]))
        bytes[0] = 0x50; bytes[1] = 0x4B   // e.g. a zip file
        try checkMalformed(bytes, "magic") {
            if case .wrongMagic(_, _, let found) = $0 { return found.hasPrefix("50 4B") } else { return false }
        }
    }

    func testUnsupportedTypeByte() throws {
        var bytes = IDX.encode(IDXArray(uint8: [1, 2, 3], shape: [3]))
        bytes[2] = 0x0A
        try checkMalformed(bytes, "type") {
            if case .unsupportedType(_, 0x0A) = $0 { return true } else { return false }
        }
        let message = DataError.unsupportedType(file: "x", typeByte: 0x0A).description
        XCTAssertTrue(message.contains("0x0A"), message)
    }

    func testTruncatedHeader() throws {
        try checkMalformed([0, 0], "short") {
            if case .truncated(_, _, 4, 2) = $0 { return true } else { return false }
        }
        // Rank 3 needs 16 header bytes; only 10 present.
        let bytes = Array(IDX.encode(IDXArray(uint8: [UInt8](repeating: 0, count: 8), shape: [2, 2, 2])).prefix(10))
        try checkMalformed(bytes, "header") {
            if case .truncated(_, let section, 16, 10) = $0 { return section.contains("header") } else { return false }
        }
    }

    func testTruncatedData() throws {
        let bytes = IDX.encode(IDXArray(int32: [1, 2, 3, 4, 5, 6], shape: [2, 3]))
        try checkMalformed(Array(bytes.dropLast(5)), "data") {
            if case .truncated(_, let section, 24, 19) = $0 { return section.contains("data") } else { return false }
        }
    }

    func testTrailingBytes() throws {
        let bytes = IDX.encode(IDXArray(uint8: [1, 2, 3, 4], shape: [2, 2])) + [9, 9, 9]
        let err = assertDataError(try IDX.parse(bytes, file: "trail.idx"), mentioning: "3 unexpected trailing bytes") { _ in true }
        XCTAssertEqual(err, .trailingBytes(file: "trail.idx", expectedBytes: 16, foundBytes: 19))
        try checkMalformed(bytes, "trailing") {
            if case .trailingBytes(_, 16, 19) = $0 { return true } else { return false }
        }
    }

    func testCorruptGzipFile() throws {
        let gz = Gzip.compress(IDX.encode(IDXArray(uint8: testBytes(5_000), shape: [5_000])))
        let truncatedURL = try dir.write(Array(gz.prefix(gz.count / 2)), to: "half.gz")
        assertDataError(try IDX.read(contentsOf: truncatedURL), mentioning: truncatedURL.path) {
            if case .corruptGzip(let f, _) = $0 { return f == truncatedURL.path } else { return false }
        }
        var bad = gz
        bad[bad.count - 7] ^= 0x55
        let badURL = try dir.write(bad, to: "crc.gz")
        assertDataError(try IDX.read(contentsOf: badURL), mentioning: badURL.path) {
            if case .corruptGzip = $0 { return true } else { return false }
        }
    }

    func testMissingFileAndDirectory() {
        let url = dir.file("does-not-exist.idx")
        let err = assertDataError(try IDX.read(contentsOf: url), mentioning: url.path) {
            if case .missingFile = $0 { return true } else { return false }
        }
        XCTAssertEqual(err, .missingFile(file: url.path))
        XCTAssertTrue(err?.description.contains("not found") ?? false)
        assertDataError(try IDX.read(contentsOf: dir.url), mentioning: dir.url.path) {
            if case .ioFailure = $0 { return true } else { return false }
        }
    }
}
