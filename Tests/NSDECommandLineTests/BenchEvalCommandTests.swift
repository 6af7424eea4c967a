import Foundation
import NSDETestSupport
import XCTest

/// `nsde bench eval --json`: a smoke test of the JSON contract on a tiny model.
final class BenchEvalCommandTests: XCTestCase {
    func testJSONKeys() throws {
        _ = try NSDEExecutable.require()
        let run = try NSDEExecutable.run(["bench", "eval", "--json", "--width", "4", "--steps", "2", "--batch", "4", "--ttn", "3",
                                          "--iterations", "2", "--warmup", "0", "--dataset", "fashion-mnist", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        for key in ["images_per_second", "images_per_second_ttn", "median_ms", "median_ms_ttn", "min_ms", "min_ms_ttn"] {
            XCTAssertGreaterThan(json[key] as? Double ?? 0, 0, key)
        }
        XCTAssertEqual(json["ttn"] as? Int, 3)
        XCTAssertEqual(json["batch"] as? Int, 4)
        XCTAssertEqual(json["threads"] as? Int, 1)
        XCTAssertEqual(json["width"] as? Int, 4)
        XCTAssertEqual(json["noise"] as? String, "dropout")
        XCTAssertEqual(json["image_shape"] as? [Int], [1, 28, 28])
        XCTAssertEqual(json["passes_ttn"] as? Int, 4)
        let bad = try NSDEExecutable.run(["bench", "eval", "--noise", "nope"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("The value 'nope' is invalid for '--noise <noise>'. Please provide one of "
                                          + "'ode', 'additive', 'multiplicative', 'dropout' or 'learned'."), bad.stderr)
    }
}
