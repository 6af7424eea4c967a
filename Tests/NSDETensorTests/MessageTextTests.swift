import Foundation
import XCTest
@testable import NSDETensor

/// Untrusted text in messages is clipped; Foundation and decoding errors read as one line.
final class MessageTextTests: XCTestCase {
    func testClipKeepsShortTextAndSaysHowMuchWasLeftOut() {
        XCTAssertEqual(clipForMessage("abc"), "abc")
        XCTAssertEqual(clipForMessage(String(repeating: "x", count: 200)), String(repeating: "x", count: 200))
        XCTAssertEqual(clipForMessage(String(repeating: "y", count: 50_000_000), limit: 5), "yyyyy… (49999995 more characters)")
    }

    func testFileErrorsNameThePathAndTheReason() {
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: "/nonexistent/file.bin"))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(readableError(error), "/nonexistent/file.bin: no such file or directory")
            XCTAssertEqual(readableErrorReason(error), "no such file or directory")
            XCTAssertFalse(readableError(error).contains("NSCocoaErrorDomain"))
        }
    }

    func testDecodingErrorsSayWhereAndWhat() {
        struct Inner: Decodable { let width: Int }
        struct Outer: Decodable { let model: Inner }
        do {
            _ = try JSONDecoder().decode(Outer.self, from: Data(#"{"model": {"width": "wide"}}"#.utf8))
            XCTFail("expected an error")
        } catch {
            let text = readableError(error)
            XCTAssertTrue(text.hasPrefix("at model.width: expected Int"), text)
        }
        do {
            _ = try JSONDecoder().decode(Outer.self, from: Data(#"{"model": {}}"#.utf8))
            XCTFail("expected an error")
        } catch {
            XCTAssertEqual(readableError(error), "at model: missing key 'width'")
        }
    }
}
