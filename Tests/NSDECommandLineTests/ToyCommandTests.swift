import Foundation
import NSDETestSupport
import XCTest

/// `nsde toy`: the `--json` contract and `--plot`.
final class ToyCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-toy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs `nsde` with `arguments`; returns (exit status, stdout, stderr).
    func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let r = try NSDEExecutable.run(arguments)
        return (r.status, r.stdout, r.stderr)
    }

    /// Parses stdout as exactly one JSON object on one line.
    func object(_ stdout: String) throws -> [String: Any] { try NSDEExecutable.object(stdout) }

    static let small = ["toy", "--sigma", "1", "--t-end", "1", "--paths", "50", "--steps", "20", "--seed", "3"]
    static let contractKeys = ["sigma", "t_end", "paths", "steps", "seed", "dt", "mean_log_abs", "stderr",
                               "exact_mean_log_abs", "exact_stderr", "theory", "drift_evaluations"]

    /// Without --plot the JSON keys are exactly the established ones.
    func testJSONKeepsItsKeys() throws {
        let (status, stdout, _) = try run(Self.small + ["--json"])
        XCTAssertEqual(status, 0)
        let json = try object(stdout)
        XCTAssertEqual(Set(json.keys), Set(Self.contractKeys))
        XCTAssertEqual(json["theory"] as? Double ?? .nan, 0.5, accuracy: 1e-6)
        XCTAssertEqual(json["drift_evaluations"] as? Int, 20)
    }

    /// --plot writes a parseable SVG with a panel per --plot-sigmas value, adds `plot` (the
    /// absolute path) to the JSON, and keeps stdout to the one JSON object.
    func testPlotWritesTheFigureAndReportsItsPath() throws {
        let path = directory.appendingPathComponent("fig & 1.svg").path
        let (status, stdout, stderr) = try run(Self.small + ["--plot", path, "--plot-sigmas", "0, 1.5,2.8", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let json = try object(stdout)
        XCTAssertEqual(Set(json.keys), Set(Self.contractKeys + ["plot"]))
        XCTAssertEqual(json["plot"] as? String, path)
        XCTAssertTrue(stderr.contains(path), stderr)
        let svg = try String(contentsOfFile: path, encoding: .utf8)
        let xml = XMLCheck.parse(svg)
        XCTAssertNil(xml.error)
        for title in ["σ = 0 (ODE)", "σ = 1.5", "σ = 2.8"] { XCTAssertTrue(xml.texts.contains(title), "\(xml.texts)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["fig & 1.svg"])
    }

    /// A --plot path in a missing directory fails before simulating, names the path, prints
    /// nothing on stdout and creates no file.
    func testBadPlotPathIsAClearError() throws {
        let path = directory.appendingPathComponent("missing/fig1.svg").path
        let (status, stdout, stderr) = try run(Self.small + ["--plot", path, "--json"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty, stdout)
        XCTAssertTrue(stderr.contains("cannot write \(path): directory \(directory.appendingPathComponent("missing").path) does not exist"),
                      stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])

        let (status2, stdout2, stderr2) = try run(Self.small + ["--plot", directory.path, "--json"])
        XCTAssertNotEqual(status2, 0)
        XCTAssertTrue(stdout2.isEmpty)
        XCTAssertTrue(stderr2.contains("cannot write \(directory.path): it is a directory"), stderr2)
    }

    /// Malformed --plot-sigmas and --plot-samples are usage errors naming the option.
    func testPlotOptionsAreValidated() throws {
        let (status, stdout, stderr) = try run(Self.small + ["--plot-sigmas", "0,abc"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        XCTAssertTrue(stderr.contains("--plot-sigmas must be a comma-separated list of non-negative numbers, got '0,abc'"), stderr)
        let (status2, _, stderr2) = try run(Self.small + ["--plot-samples", "51"])
        XCTAssertNotEqual(status2, 0)
        XCTAssertTrue(stderr2.contains("--plot-samples must be between 0 and --paths (50), got 51"), stderr2)
        let (status3, _, stderr3) = try run(Self.small + ["--plot-quantity", "median"])
        XCTAssertNotEqual(status3, 0)
        XCTAssertTrue(stderr3.contains("log-abs"), stderr3)
    }
}
