import Foundation
import XCTest
import NSDEData

/// A fresh temporary directory, removed by `cleanUp()`.
final class TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("NSDEDataTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ bytes: [UInt8], to name: String) throws -> URL {
        let f = file(name)
        try Data(bytes).write(to: f)
        return f
    }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// Asserts that `body` throws a `DataError` accepted by `matches` whose description contains
/// `mentioning` (normally the offending file's path). Returns the error.
@discardableResult
func assertDataError<T>(_ body: @autoclosure () throws -> T, mentioning: String,
                        _ matches: (DataError) -> Bool,
                        file: StaticString = #filePath, line: UInt = #line) -> DataError? {
    do {
        _ = try body()
        XCTFail("expected a DataError, nothing was thrown", file: file, line: line)
        return nil
    } catch let error as DataError {
        XCTAssertTrue(matches(error), "unexpected error case: \(error)", file: file, line: line)
        XCTAssertTrue(error.description.contains(mentioning),
                      "message \"\(error.description)\" does not mention \"\(mentioning)\"", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a DataError, got \(error)", file: file, line: line)
        return nil
    }
}

/// Deterministic pseudo-random bytes (xorshift), `compressible` makes them repetitive.
func testBytes(_ n: Int, seed: UInt64 = 1, compressible: Bool = false) -> [UInt8] {
    var x = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { i in
        if compressible { return UInt8(truncatingIfNeeded: (i / 7) % 13) }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}
