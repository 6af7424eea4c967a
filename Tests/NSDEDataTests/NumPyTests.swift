import Foundation
import XCTest
import NSDEData

final class NumPyTests: XCTestCase {
    var dir: TempDir!

    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.cleanUp() }

    /// One array of every supported type, of assorted ranks.
    let arrays: [NumPyArray] = [
        NumPyArray([UInt8](testBytes(2 * 3 * 4)), shape: [2, 3, 4]),
        NumPyArray([Int8](arrayLiteral: -128, -1, 0, 1, 127), shape: [5]),
        NumPyArray([Int16](arrayLiteral: -32768, -2, 0, 300, 32767, 7), shape: [3, 2]),
        NumPyArray([UInt16](arrayLiteral: 0, 1, 65535, 256), shape: [2, 2]),
        NumPyArray([Int32](arrayLiteral: .min, -70_000, 0, 70_000, .max, 1), shape: [1, 2, 3]),
        NumPyArray([UInt32](arrayLiteral: 0, .max), shape: [2]),
        NumPyArray([Int64](arrayLiteral: .min, -1, 0, 9, .max), shape: [5]),
        NumPyArray([UInt64](arrayLiteral: 0, 1, 1 << 40), shape: [3, 1]),
        NumPyArray([Float](arrayLiteral: -1.5, 0, 0.25, .pi, 1e-30, -3e38), shape: [6]),
        NumPyArray([Double](arrayLiteral: -1.5, 0, 0.1, .pi), shape: [2, 2]),
        NumPyArray(dtype: .bool, shape: [3], data: [1, 0, 1]),
        NumPyArray([Float](arrayLiteral: 42), shape: []),
        NumPyArray([UInt8](), shape: [0, 32, 32, 3]),
    ]

    // MARK: - Round trips

    func testRoundTripEveryTypeAndVersion() throws {
        for (k, array) in arrays.enumerated() {
            XCTAssertEqual(try NumPy.parse(NumPy.encode(array)), array, "\(array.dtype) \(array.shape)")
            for version in NumPyFormatVersion.allCases {
                let url = dir.file("a\(k)-\(version.rawValue).npy")
                try NumPy.write(array, to: url, version: version)
                XCTAssertEqual(try NumPy.read(contentsOf: url), array, "\(array.dtype) \(array.shape) v\(version.rawValue)")
            }
        }
        XCTAssertEqual(arrays[1].integers(), [-128, -1, 0, 1, 127])
        XCTAssertEqual(arrays[6].integers(), [Int.min, -1, 0, 9, Int.max])
        XCTAssertEqual(arrays[7].integers(), [0, 1, 1 << 40])
        XCTAssertEqual(arrays[10].integers(), [1, 0, 1])
        XCTAssertNil(arrays[8].integers())
        XCTAssertEqual(arrays[8].values(as: Float.self), [-1.5, 0, 0.25, .pi, 1e-30, -3e38])
        XCTAssertNil(arrays[8].values(as: Double.self), "values(as:) needs the exact type")
        XCTAssertEqual(arrays[9].floats(), [-1.5, 0, 0.1, Float(Double.pi)])
        XCTAssertEqual(arrays[2].floats(), [-32768, -2, 0, 300, 32767, 7])
        XCTAssertEqual(arrays[0].uint8Values, arrays[0].data)
        XCTAssertNil(arrays[1].uint8Values)
        XCTAssertEqual(arrays[11].count, 1)
    }

    func testHeaderLayoutMatchesNumPy() throws {
        let bytes = NumPy.encode(NumPyArray([Float](repeating: 0, count: 12), shape: [3, 4]))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "data aligned to 64 bytes")
        let text = String(decoding: bytes[10 ..< 10 + headerLength], as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"), text)
        XCTAssertTrue(text.hasSuffix(" \n"))
        XCTAssertEqual(bytes.count, 10 + headerLength + 48)

        let one = NumPy.encode(NumPyArray([UInt8](arrayLiteral: 1, 2), shape: [2]), version: .v3)
        XCTAssertEqual(Array(one[6..<8]), [3, 0])
        let length3 = Int(one[8]) | Int(one[9]) << 8 | Int(one[10]) << 16 | Int(one[11]) << 24
        XCTAssertEqual((12 + length3) % 64, 0)
        XCTAssertTrue(String(decoding: one[12...], as: UTF8.self).hasPrefix("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }"))

        let header = try one.withUnsafeBytes { try NumPy.header(of: $0) }
        XCTAssertEqual(header.version, .v3)
        XCTAssertEqual(header.descr, "|u1")
        XCTAssertEqual(header.shape, [2])
        XCTAssertEqual(header.dataOffset, 12 + length3)
        XCTAssertEqual(header.dataBytes, 2)
    }

    /// A `.npy` file with the given header text (padded as NumPy does) and data.
    func npy(_ header: String, _ data: [UInt8], major: UInt8 = 1) -> [UInt8] {
        let preamble = major == 1 ? 10 : 12
        var text = Array(header.utf8)
        while (preamble + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        var out = NumPy.magic + [major, 0]
        for k in 0 ..< preamble - 8 { out.append(UInt8(truncatingIfNeeded: text.count >> (8 * k))) }
        return out + text + data
    }

    func testHeaderVariantsThatNumPyAccepts() throws {
        // Python 2 long suffixes, double quotes, other key order, no trailing comma.
        let a = try NumPy.parse(npy("{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<i4\"}", [1, 0, 0, 0, 2, 0, 0, 0]))
        XCTAssertEqual(a, NumPyArray([Int32](arrayLiteral: 1, 2), shape: [2, 1]))
        // Big-endian elements are converted.
        let b = try NumPy.parse(npy("{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }", [0x01, 0x02, 0xFF, 0x00]))
        XCTAssertEqual(b.values(as: UInt16.self), [0x0102, 0xFF00])
        let c = try NumPy.parse(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (), }", [0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18]))
        XCTAssertEqual(c.values(as: Double.self), [.pi])
        // '<u1' and '=i8' are accepted.
        let d = try NumPy.parse(npy("{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", [7, 8, 9], major: 2))
        XCTAssertEqual(d.uint8Values, [7, 8, 9])
        let e = try NumPy.parse(npy("{'descr': '=i8', 'fortran_order': False, 'shape': (1,)}", [5, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(e.integers(), [5])
    }

    // MARK: - Malformed files

    /// Writes `bytes` to a file and checks that reading it throws a matching error naming it.
    @discardableResult
    func checkMalformed(_ bytes: [UInt8], _ name: String, mentioning extra: String? = nil,
                        _ matches: (DataError) -> Bool, line: UInt = #line) throws -> DataError? {
        let url = try dir.write(bytes, to: name)
        let err = assertDataError(try NumPy.read(contentsOf: url), mentioning: url.path, matches, line: line)
        if let extra {
            XCTAssertTrue(err?.description.contains(extra) ?? false, "\"\(String(describing: err))\" lacks \"\(extra)\"", line: line)
        }
        return err
    }

    func testBadMagic() throws {
        let idx = IDX.encode(IDXArray(uint8: [1, 2, 3], shape: [3]))
        try checkMalformed(idx, "idx.npy", mentioning: "00 00 08 01 00 00") {
            if case .wrongMagic = $0 { return true } else { return false }
        }
        try checkMalformed(Array("PK\u{3}\u{4}".utf8), "zip.npy") {
            if case .wrongMagic = $0 { return true } else { return false }
        }
    }

    func testTruncatedPreambleHeaderAndData() throws {
        let good = NumPy.encode(NumPyArray([Float](arrayLiteral: 1, 2, 3), shape: [3]))
        try checkMalformed(Array(good.prefix(4)), "four-bytes.npy") {
            if case .truncated(_, ".npy preamble", 10, 4) = $0 { return true } else { return false }
        }
        try checkMalformed(Array(good.prefix(40)), "short-header.npy", mentioning: "truncated .npy header") {
            if case .truncated(_, _, 118, 30) = $0 { return true } else { return false }
        }
        try checkMalformed(Array(good.dropLast(2)), "short-data.npy", mentioning: "[3] of <f4") {
            if case .truncated(_, _, 12, 10) = $0 { return true } else { return false }
        }
        try checkMalformed(good + [0], "long.npy") {
            if case .trailingBytes(_, 140, 141) = $0 { return true } else { return false }
        }
    }

    func testUnsupportedVersion() throws {
        var bytes = NumPy.encode(NumPyArray([UInt8](arrayLiteral: 1), shape: [1]))
        bytes[6] = 4
        try checkMalformed(bytes, "v4.npy", mentioning: "version 4.0 is not supported") {
            if case .malformedHeader = $0 { return true } else { return false }
        }
    }

    func testHeaderParseErrors() throws {
        let cases: [(String, String)] = [
            ("{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", "expected ',' or '}' after the value of 'descr'"),
            ("{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key 'extra'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': 1, }", "'shape' must be a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1), }", "'shape' must be a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "non-negative"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "'fortran_order' must be True or False"),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", "expected ',' or '}'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", "after the dictionary"),
            ("['descr', '<f4']", "expected '{'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 'a'), }", "expected an integer in the tuple"),
            ("{'descr': '<f4', 'fortran_order': Flase, 'shape': (1,), }", "expected a value"),
        ]
        for (k, (header, reason)) in cases.enumerated() {
            try checkMalformed(npy(header, [0, 0, 0, 0]), "header-\(k).npy", mentioning: reason) {
                if case .malformedHeader = $0 { return true } else { return false }
            }
        }
    }

    func testUnsupportedDTypes() throws {
        for (k, descr) in ["<c8", "|O", "<f2", "<U5", "|S3", "<i3"].enumerated() {
            let err = try checkMalformed(npy("{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0]),
                                         "dtype-\(k).npy", mentioning: "'\(descr)'") {
                if case .unsupportedDType = $0 { return true } else { return false }
            }
            XCTAssertTrue(err?.description.contains("expected one of |b1, |i1, |u1, <i2") ?? false, "lists what is supported")
        }
        try checkMalformed(npy("{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0]),
                           "structured.npy", mentioning: "[('x', '<f4'), ('y', '<f4')]") {
            if case .unsupportedDType = $0 { return true } else { return false }
        }
    }

    func testFortranOrderIsRejected() throws {
        try checkMalformed(npy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", [UInt8](repeating: 0, count: 6)),
                           "fortran.npy", mentioning: "Fortran (column-major) order") {
            if case .fortranOrder(_, [2, 3]) = $0 { return true } else { return false }
        }
    }

    func testOverflowingShape() throws {
        try checkMalformed(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", []), "huge.npy") {
            if case .wrongShape = $0 { return true } else { return false }
        }
    }

    // MARK: - Writing

    func testWriteReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let url = dir.file("x.npy")
        try NumPy.write(NumPyArray([UInt8](arrayLiteral: 1, 2, 3), shape: [3]), to: url)
        try NumPy.write(NumPyArray([Int64](arrayLiteral: 4, 5), shape: [2]), to: url)
        XCTAssertEqual(try NumPy.read(contentsOf: url).integers(), [4, 5])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.url.path), ["x.npy"])

        let nowhere = dir.file("missing-directory/y.npy")
        assertDataError(try NumPy.write(NumPyArray([UInt8](arrayLiteral: 1), shape: [1]), to: nowhere),
                        mentioning: nowhere.path) {
            if case .ioFailure = $0 { return true } else { return false }
        }
    }

    // MARK: - Interoperability with NumPy itself

    /// Runs `script` with python3 and numpy in `dir`, or skips when they are not installed.
    func python(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        process.currentDirectoryURL = dir.url
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw XCTSkip("python3 not available: \(error)") }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let message = String(decoding: errors, as: UTF8.self)
        if message.contains("No module named 'numpy'") { throw XCTSkip("numpy not installed") }
        guard process.terminationStatus == 0 else {
            XCTFail("python3 failed: \(message)")
            return ""
        }
        return String(decoding: output, as: UTF8.self)
    }

    func testFilesWrittenByNumPyAreRead() throws {
        _ = try python("""
        import numpy as np
        from numpy.lib import format as f
        np.save('u8.npy', np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
        np.save('f4.npy', np.array([[-1.5, 0.25], [3.0, 1e-30]], dtype='<f4'))
        np.save('i8.npy', np.array([0, 9, -3], dtype=np.int64))
        np.save('be.npy', np.array([1, 258, -2], dtype='>i4'))
        for v in [(2, 0), (3, 0)]:
            with open('v%d.npy' % v[0], 'wb') as fh:
                f.write_array(fh, np.arange(6, dtype=np.int32).reshape(3, 2), version=v)
        np.save('fortran.npy', np.asfortranarray(np.zeros((2, 3), dtype=np.uint8)))
        np.save('complex.npy', np.zeros(2, dtype=np.complex64))
        """)
        XCTAssertEqual(try NumPy.read(contentsOf: dir.file("u8.npy")), NumPyArray((0..<24).map { UInt8($0) }, shape: [2, 3, 4]))
        XCTAssertEqual(try NumPy.read(contentsOf: dir.file("f4.npy")), NumPyArray([Float](arrayLiteral: -1.5, 0.25, 3, 1e-30), shape: [2, 2]))
        XCTAssertEqual(try NumPy.read(contentsOf: dir.file("i8.npy")).integers(), [0, 9, -3])
        XCTAssertEqual(try NumPy.read(contentsOf: dir.file("be.npy")), NumPyArray([Int32](arrayLiteral: 1, 258, -2), shape: [3]))
        for v in [2, 3] {
            let array = try NumPy.read(contentsOf: dir.file("v\(v).npy"))
            XCTAssertEqual(array, NumPyArray((0..<6).map { Int32($0) }, shape: [3, 2]), "version \(v).0")
        }
        assertDataError(try NumPy.read(contentsOf: dir.file("fortran.npy")), mentioning: dir.file("fortran.npy").path) {
            if case .fortranOrder = $0 { return true } else { return false }
        }
        assertDataError(try NumPy.read(contentsOf: dir.file("complex.npy")), mentioning: "'<c8'") {
            if case .unsupportedDType = $0 { return true } else { return false }
        }
    }

    func testFilesWrittenHereAreReadByNumPy() throws {
        try NumPy.write(NumPyArray((0..<24).map { UInt8($0 * 10) }, shape: [2, 3, 4]), to: dir.file("u8.npy"))
        try NumPy.write(NumPyArray([Float](arrayLiteral: -1.5, 0.25, 3), shape: [3, 1]), to: dir.file("f4.npy"), version: .v2)
        try NumPy.write(NumPyArray([Int64](arrayLiteral: 7, -8), shape: [2]), to: dir.file("i8.npy"), version: .v3)
        try NumPy.write(NumPyArray([Double](arrayLiteral: 2.5), shape: []), to: dir.file("scalar.npy"))
        let output = try python("""
        import numpy as np
        for name in ['u8', 'f4', 'i8', 'scalar']:
            a = np.load(name + '.npy')
            print(name, a.dtype.str, a.shape, a.flatten().tolist(), a.flags['C_CONTIGUOUS'])
        """)
        XCTAssertEqual(output, """
        u8 |u1 (2, 3, 4) \((0..<24).map { $0 * 10 }.map(String.init).joined(separator: ", ").bracketed) True
        f4 <f4 (3, 1) [-1.5, 0.25, 3.0] True
        i8 <i8 (2,) [7, -8] True
        scalar <f8 () [2.5] True

        """)
    }
}

private extension String {
    var bracketed: String { "[" + self + "]" }
}
