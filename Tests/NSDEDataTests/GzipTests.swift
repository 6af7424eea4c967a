import Foundation
import XCTest
import NSDEData

final class GzipTests: XCTestCase {
    func testRoundTripVariousSizes() throws {
        for n in [0, 1, 17, 65_536, 1_000_003] {
            for compressible in [false, true] {
                let data = testBytes(n, seed: UInt64(n), compressible: compressible)
                let gz = Gzip.compress(data)
                XCTAssertTrue(Gzip.isGzip(gz))
                XCTAssertEqual(try Gzip.decompress(gz), data, "n = \(n), compressible = \(compressible)")
            }
        }
    }

    func testZlibFramingIsDetected() throws {
        let data = testBytes(100_000, compressible: true)
        let z = Gzip.compress(data, format: .zlib)
        XCTAssertFalse(Gzip.isGzip(z))
        XCTAssertEqual(try Gzip.decompress(z), data)
    }

    func testConcatenatedMembers() throws {
        let a = testBytes(10_000, seed: 1), b = testBytes(5, seed: 2), c = testBytes(300_000, seed: 3, compressible: true)
        let joined = Gzip.compress(a) + Gzip.compress(b) + Gzip.compress([]) + Gzip.compress(c, level: 9)
        XCTAssertEqual(try Gzip.decompress(joined), a + b + c)
    }

    func testDataAndPointerOverloadsAgree() throws {
        let data = testBytes(4_321)
        let gz = Gzip.compress(data)
        XCTAssertEqual(try Gzip.decompress(Data(gz)), data)
    }

    func testTruncatedStream() {
        let gz = Gzip.compress(testBytes(50_000))
        for cut in [1, 4, 9, gz.count / 2] {
            assertDataError(try Gzip.decompress(Array(gz.dropLast(cut)), name: "cut.gz"), mentioning: "cut.gz") {
                if case .corruptGzip = $0 { return true } else { return false }
            }
        }
        let err = assertDataError(try Gzip.decompress(Array(gz.dropLast(9)), name: "cut.gz"), mentioning: "truncated") { _ in true }
        XCTAssertNotNil(err)
    }

    func testCorruptChecksum() {
        var gz = Gzip.compress(testBytes(1_000))
        gz[gz.count - 6] ^= 0xFF   // inside the CRC-32
        assertDataError(try Gzip.decompress(gz, name: "crc.gz"), mentioning: "crc.gz") {
            if case .corruptGzip(let f, let reason) = $0 { return f == "crc.gz" && reason.contains("check") }
            return false
        }
    }

    func testCorruptHeaderAndBody() {
        var gz = Gzip.compress(testBytes(1_000, compressible: true))
        gz[2] = 7   // compression method must be 8 (deflate)
        assertDataError(try Gzip.decompress(gz, name: "method.gz"), mentioning: "method.gz") {
            if case .corruptGzip = $0 { return true } else { return false }
        }
        var body = Gzip.compress(testBytes(20_000, compressible: true))
        for i in 10..<min(40, body.count - 8) { body[i] = 0xFF }
        assertDataError(try Gzip.decompress(body, name: "body.gz"), mentioning: "body.gz") {
            if case .corruptGzip = $0 { return true } else { return false }
        }
    }

    func testGarbageAfterMemberAndEmptyInput() {
        let gz = Gzip.compress(testBytes(100)) + [0x00, 0x01, 0x02]
        assertDataError(try Gzip.decompress(gz, name: "tail.gz"), mentioning: "tail.gz") {
            if case .corruptGzip(_, let reason) = $0 { return reason.contains("1F 8B") } else { return false }
        }
        assertDataError(try Gzip.decompress([], name: "empty.gz"), mentioning: "empty.gz") {
            if case .corruptGzip = $0 { return true } else { return false }
        }
    }
}
