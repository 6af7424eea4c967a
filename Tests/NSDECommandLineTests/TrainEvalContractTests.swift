import Foundation
import NSDETestSupport
import XCTest
import NeuralSDE
@testable import NSDETraining

/// The `--json` contracts of `nsde model summary`, `nsde train` and `nsde eval`.
final class TrainEvalContractTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs `nsde` with `arguments`; returns (exit status, stdout, stderr) (``NSDEExecutable``: skips
    /// when `nsde` is not built, except under CI, where that fails).
    func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let r = try NSDEExecutable.run(arguments)
        return (r.status, r.stdout, r.stderr)
    }

    /// Parses stdout as exactly one JSON object on one line.
    func object(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try NSDEExecutable.object(stdout, file: file, line: line)
    }

    func testModelSummaryJSON() throws {
        for (model, channels, expected) in [("paper-small", "3", 115_594), ("paper-small", "1", 114_442), ("paper-big", "3", 2_440_202)] {
            let (status, stdout, stderr) = try run(["model", "summary", "--model", model, "--in-channels", channels, "--classes", "10", "--json"])
            XCTAssertEqual(status, 0, stderr)
            let json = try object(stdout)
            XCTAssertEqual(json["parameters"] as? Int, expected, model)
            for key in ["model", "in_channels", "classes", "width", "noise", "modules", "state_dict"] {
                XCTAssertNotNil(json[key], "missing \(key)")
            }
            let entries = try XCTUnwrap(json["state_dict"] as? [[String: Any]])
            let total = entries.map { ($0["shape"] as? [Int] ?? []).reduce(1, *) }.reduce(0, +)
            XCTAssertEqual(total, expected)
            let modules = try XCTUnwrap(json["modules"] as? [[String: Any]])
            let top = modules.filter { !($0["name"] as? String ?? ".").contains(".") }.compactMap { $0["parameters"] as? Int }
            XCTAssertEqual(top.reduce(0, +), expected)
        }
        let (_, stdout, _) = try run(["model", "summary", "--model", "paper-small", "--in-channels", "3", "--classes", "10",
                                      "--width", "8", "--noise", "learned", "--json"])
        let json = try object(stdout)
        XCTAssertEqual(json["width"] as? Int, 8)
        XCTAssertEqual(json["noise"] as? String, "learned")
        XCTAssertTrue((json["state_dict"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "diffusion.conv.conv.weight" })
    }

    /// Writes a small two-class dataset in the MNIST layout (bright left or right half, 8x8).
    func writeData() throws -> URL {
        let data = directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for (prefix, count) in [("train", 256), ("t10k", 40)] {
            var pixels = [UInt8](), labels = [UInt8]()
            var generator = PhiloxGenerator(seed: 1, stream: UInt64(count))
            for i in 0..<count {
                labels.append(UInt8(i % 2))
                for _ in 0..<8 { for x in 0..<8 {
                    let bright = (x < 4) == (i % 2 == 0)
                    pixels.append(UInt8((bright ? 180 : 60) + Int(generator.nextInt(below: 40))))
                } }
            }
            try IDX.write(IDXArray(uint8: pixels, shape: [count, 8, 8]), to: data.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try IDX.write(IDXArray(uint8: labels, shape: [count]), to: data.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        return data
    }

    func testTrainAndEvalJSON() throws {
        let data = try writeData()
        let out = directory.appendingPathComponent("run")
        let (status, stdout, stderr) = try run(["train", "--dataset", "mnist", "--data-dir", data.path, "--out", out.path,
                                                "--width", "4", "--steps", "2", "--noise", "dropout", "--sigma", "0.3",
                                                "--stages", "2", "--batch-size", "32", "--lr", "0.05", "--crop-padding", "0", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let train = try object(stdout)
        for key in ["out", "epochs", "epochs_completed", "train_loss", "train_acc", "test_acc", "best_test_acc", "images_per_s",
                    "parameters", "seconds", "checkpoint", "metrics"] {
            XCTAssertNotNil(train[key], "missing \(key)")
        }
        XCTAssertEqual(train["epochs_completed"] as? Int, 2)
        XCTAssertTrue(stderr.contains("epoch 2/2"), stderr)

        let csv = directory.appendingPathComponent("confusion.csv")
        let (s2, evalOut, evalErr) = try run(["eval", "--checkpoint", out.path, "--data-dir", data.path, "--ttn", "3",
                                              "--test-sigma", "0.3", "--seed", "5", "--confusion", csv.path, "--json"])
        XCTAssertEqual(s2, 0, evalErr)
        let eval = try object(evalOut)
        for key in ["accuracy", "accuracy_ttn", "ttn_samples", "ci95", "ci95_ttn", "per_class", "n", "test_sigma", "seed",
                    "nll", "nll_ttn", "dataset", "model", "noise", "epoch", "confusion"] {
            XCTAssertNotNil(eval[key], "missing \(key)")
        }
        XCTAssertEqual(eval["ttn_samples"] as? Int, 3)
        XCTAssertEqual(eval["n"] as? Int, 40)
        XCTAssertEqual(eval["epoch"] as? Int, 2)
        XCTAssertEqual(eval["dataset"] as? String, "mnist")
        let accuracy = try XCTUnwrap(eval["accuracy"] as? Double)
        let ci = try XCTUnwrap(eval["ci95"] as? [Double])
        XCTAssertEqual(ci.count, 2)
        XCTAssertLessThanOrEqual(ci[0], accuracy)
        XCTAssertGreaterThanOrEqual(ci[1], accuracy)
        let perClass = try XCTUnwrap(eval["per_class"] as? [[String: Any]])
        XCTAssertEqual(perClass.count, 10)
        XCTAssertEqual(perClass.compactMap { $0["n"] as? Int }.reduce(0, +), 40)
        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 11)
        XCTAssertTrue(rows[0].hasPrefix("true\\predicted,0,1,2"))

        // The same seed gives the same TTN result; --ttn 0 gives null TTN fields; a model file works too.
        let (_, again, _) = try run(["eval", "--checkpoint", out.path, "--data-dir", data.path, "--ttn", "3",
                                     "--test-sigma", "0.3", "--seed", "5", "--json"])
        XCTAssertEqual(try object(again)["accuracy_ttn"] as? Double, eval["accuracy_ttn"] as? Double)
        let (s3, plain, e3) = try run(["eval", "--model-file", out.appendingPathComponent("model.safetensors").path,
                                       "--dataset", "mnist", "--data-dir", data.path, "--ttn", "0", "--json"])
        XCTAssertEqual(s3, 0, e3)
        let plainJSON = try object(plain)
        XCTAssertTrue(plainJSON["accuracy_ttn"] is NSNull)
        XCTAssertTrue(plainJSON["ci95_ttn"] is NSNull)
        XCTAssertEqual(plainJSON["accuracy"] as? Double, accuracy)
    }

    func testEvalNeedsExactlyOneModelSource() throws {
        let (status, stdout, stderr) = try run(["eval", "--json"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        XCTAssertTrue(stderr.contains("give exactly one of --checkpoint DIR and --model-file FILE"), stderr)
    }
}
