import Foundation
import XCTest
import NSDEData

/// Bounds on untrusted files: nesting and header sizes in `.npy`, decompressed size in gzipped
/// IDX files, and files that are not regular files.
final class InputBoundsTests: XCTestCase {
    var temp: TempDir!

    override func setUpWithError() throws { temp = try TempDir() }
    override func tearDown() { temp.cleanUp() }

    /// A `.npy` v2 file with `header` as its dict (padded) and no data.
    func npy(header: String) -> [UInt8] {
        var text = header
        let pad = (64 - (12 + text.utf8.count + 1) % 64) % 64
        text += String(repeating: " ", count: pad) + "\n"
        let n = text.utf8.count
        return NumPy.magic + [2, 0, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)] + Array(text.utf8)
    }

    func testDeeplyNestedShapeIsAnErrorNotAStackOverflow() {
        let bytes = npy(header: "{'descr': '|u1', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 20_000)
                        + String(repeating: ")", count: 20_000) + ", }")
        assertDataError(try NumPy.parse(bytes, file: "nested.npy"), mentioning: "nested tuple") {
            if case .malformedHeader(let f, _) = $0 { return f == "nested.npy" }
            return false
        }
    }

    func testOverlongHeaderAndRankAreRefused() {
        let long = npy(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': '" + String(repeating: "a", count: NumPy.maxHeaderBytes) + "'}")
        assertDataError(try NumPy.parse(long, file: "long.npy"), mentioning: "at most \(NumPy.maxHeaderBytes) accepted") {
            if case .malformedHeader = $0 { return true }
            return false
        }
        let rank = npy(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (" + String(repeating: "1,", count: 65) + "), }")
        let error = assertDataError(try NumPy.parse(rank, file: "rank.npy"), mentioning: "longer than 64 entries") {
            if case .malformedHeader = $0 { return true }
            return false
        }
        XCTAssertLessThan(error?.description.count ?? 0, 600, "the quoted header is clipped")
    }

    func testGzipBombIsRefusedAfterTheBytesTheIDXHeaderPromises() throws {
        // 10 images of 28x28 promised; the stream inflates to 64 MiB: refused after the promise plus
        // 1 MiB of slack (which lets a few trailing bytes be reported as trailing bytes).
        var raw: [UInt8] = [0, 0, 0x08, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]
        raw += [UInt8](repeating: 0, count: 64 << 20)
        let url = try temp.write(Gzip.compress(raw, level: 9), to: "bomb-idx3-ubyte.gz")
        assertDataError(try IDX.read(contentsOf: url), mentioning: "more than 1048576 bytes past the 7856 its IDX header") {
            if case .corruptGzip(let f, _) = $0 { return f == url.path }
            return false
        }
        // The same header with exactly its promised bytes reads.
        let exact = Array(raw.prefix(16 + 7_840))
        let good = try temp.write(Gzip.compress(exact), to: "good-idx3-ubyte.gz")
        XCTAssertEqual(try IDX.read(contentsOf: good).shape, [10, 28, 28])
    }

    func testGzipLimitAndPrefix() throws {
        let data = Data(Gzip.compress([UInt8](repeating: 7, count: 1_000)))
        XCTAssertEqual(try Gzip.decompress(data, limit: 1_000).count, 1_000)
        XCTAssertEqual(try Gzip.decompress(data, limit: 10, prefixOnly: true), [UInt8](repeating: 7, count: 10))
        XCTAssertThrowsError(try Gzip.decompress(data, name: "x.gz", limit: 999, expectation: "as promised")) {
            XCTAssertEqual("\($0)", "x.gz: corrupt gzip/zlib stream: inflates to more than 999 bytes, as promised")
        }
    }

    func testCharacterDeviceIsNotARegularFile() {
        assertDataError(try IDX.read(contentsOf: URL(fileURLWithPath: "/dev/null")), mentioning: "is a character device, expected a regular file") {
            if case .ioFailure(let f, _) = $0 { return f == "/dev/null" }
            return false
        }
    }

    /// Empty files (read without Foundation's `Data(contentsOf:)`, which loses 4 KiB on each and
    /// let a long fuzz run reach 2 GB) are clear errors naming the file in every loader.
    func testEmptyFilesAreClearErrors() throws {
        let empty = try temp.write([], to: "empty.bin")
        for _ in 0..<3 {
            XCTAssertThrowsError(try IDX.read(contentsOf: empty)) { XCTAssertTrue("\($0)".contains(empty.path), "\($0)") }
            XCTAssertThrowsError(try NumPy.read(contentsOf: empty)) { XCTAssertTrue("\($0)".contains(empty.path), "\($0)") }
            XCTAssertThrowsError(try STL10.load(images: empty, labels: empty)) { XCTAssertTrue("\($0)".contains(empty.path), "\($0)") }
            XCTAssertThrowsError(try CIFAR10.load(files: [empty])) { XCTAssertTrue("\($0)".contains(empty.path), "\($0)") }
        }
    }
}
