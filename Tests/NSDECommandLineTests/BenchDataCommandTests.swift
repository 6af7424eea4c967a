import Foundation
import NSDETestSupport
import XCTest

/// `nsde bench data --json`: a smoke test of the JSON contract on small inputs.
final class BenchDataCommandTests: XCTestCase {
    func testJSONKeysWithoutFashionMNIST() throws {
        _ = try NSDEExecutable.require()
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-no-such-folder-\(getpid())")
        let run = try NSDEExecutable.run(["bench", "data", "--json", "--fashion-mnist-dir", missing.path, "--cifar-records", "50",
                                          "--batch", "32", "--prefetch", "1", "--repeats", "1", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        XCTAssertNil(json["fashion_mnist_load_ms"], "left out without the files: \(json)")
        for key in ["cifar10_parse_ms", "batch_ms", "epoch_ms", "epoch_images_per_second"] {
            XCTAssertGreaterThan(json[key] as? Double ?? 0, 0, key)
        }
        XCTAssertEqual(json["cifar10_records"] as? Int, 50)
        XCTAssertEqual(json["epoch_images"] as? Int, 60_000 / 32 * 32, "an epoch of whole batches")
        XCTAssertEqual(json["epoch_source"] as? String, "synthetic")
        XCTAssertEqual(json["batch"] as? Int, 32)
        XCTAssertEqual(json["prefetch"] as? Int, 1)
        XCTAssertEqual(json["threads"] as? Int, 1)

        let bad = try NSDEExecutable.run(["bench", "data", "--prefetch=-1"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--prefetch must be >= 0, got -1"), bad.stderr)
    }
}
