import Foundation
import NSDEData
import NSDEModels
import NSDETestSupport
import XCTest
@testable import NSDEPlot
@testable import NSDERobustness

/// `CorruptionReport`: the Markdown table (the paper's Table 2 shape), the long CSV, the JSON
/// keys and the SVG figure are well formed, and `write(to:)` writes all four files.
final class CorruptionEvaluationReportTests: XCTestCase {
    /// An ODE and a dropout model on 2 corruptions x 3 severities of 6 synthetic images.
    static func report() throws -> CorruptionReport {
        let clean = SyntheticImages.dataset(count: 6, seed: 8)
        let bench = try CorruptionEvaluation(corruptions: ["shot_noise", "pixelate"], severities: [1, 3, 5], ttnSamples: 2, batchSize: 4)
        let ode = CorruptionEvaluationTests.model(noise: .ode, sigma: 0)
        let sde = CorruptionEvaluationTests.model(noise: .dropout, sigma: 0.5)
        let results = try bench.run([ode, sde], clean: clean)
        return CorruptionReport(dataset: "synthetic", entries: [
            .init(label: "ODE", checkpoint: nil, noise: "ode", sigma: 0, result: results[0]),
            .init(label: "dropout σ=0.5", checkpoint: "/tmp/a,b", noise: "dropout", sigma: 0.5, result: results[1]),
        ])
    }

    func testMarkdownHasTable2Shape() throws {
        let report = try Self.report()
        let md = report.markdown()
        let lines = md.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("| Model | Clean | Level 1 | Level 3 | Level 5 | Mean |"), md)
        // ODE: no TTN row (TTN draws no noise); dropout: w/o and with TTN, as the paper's rows.
        let modelRows = lines.filter { $0.hasPrefix("| ODE |") || $0.hasPrefix("| dropout σ=0.5") }
        XCTAssertEqual(modelRows.count, 3, md)
        XCTAssertTrue(lines.contains { $0.hasPrefix("| dropout σ=0.5 + TTN (K=2) |") }, md)
        XCTAssertFalse(md.contains("ODE + TTN"))
        XCTAssertTrue(lines.contains("| Corruption | ODE | dropout σ=0.5 | dropout σ=0.5 + TTN (K=2) |"), md)
        XCTAssertTrue(lines.contains { $0.hasPrefix("| shot_noise |") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("| **mean** |") })
        // Every table row has as many cells as its header.
        for table in md.components(separatedBy: "\n\n") where table.hasPrefix("|") {
            let rows = table.split(separator: "\n")
            let width = rows[0].filter { $0 == "|" }.count
            for row in rows { XCTAssertEqual(row.filter { $0 == "|" }.count, width, String(row)) }
        }
        // The first row's numbers are the means in percent.
        let ode = report.entries[0].result
        let expected = String(format: "%.2f", 100 * ode.meanBySeverity[0].accuracy)
        XCTAssertTrue(modelRows[0].contains("| \(expected) |"), modelRows[0])
    }

    func testCSVIsLongFormat() throws {
        let report = try Self.report()
        let rows = report.csv().split(separator: "\n").map(String.init)
        XCTAssertEqual(rows[0], "model,corruption,severity,accuracy,accuracy_ttn,n")
        XCTAssertEqual(rows.count, 1 + 2 * 6)
        XCTAssertTrue(rows[1].hasPrefix("ODE,shot_noise,1,"), rows[1])
        XCTAssertTrue(rows[1].hasSuffix(",6"), rows[1])
        let fields = rows[7].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(fields.count, 6, rows[7])
        XCTAssertEqual(Double(fields[3]) ?? -1, report.entries[1].result.cells[0].accuracy, accuracy: 1e-6)
        XCTAssertNotNil(Double(fields[4]))
        XCTAssertEqual(csvField("a,\"b\""), "\"a,\"\"b\"\"\"")
    }

    func testJSONKeys() throws {
        let report = try Self.report()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["dataset", "source", "cifar10c_directory", "corruptions", "severities", "seed", "ttn",
                                          "batch_size", "models"])
        XCTAssertEqual(object["source"] as? String, "in-memory")
        XCTAssertEqual(object["severities"] as? [Int], [1, 3, 5])
        let models = try XCTUnwrap(object["models"] as? [[String: Any]])
        XCTAssertEqual(models.count, 2)
        XCTAssertEqual(Set(models[1].keys), ["label", "checkpoint", "noise", "sigma", "test_sigma", "ttn", "ttn_is_noisy", "clean",
                                             "mean", "by_severity", "by_corruption", "results", "seconds"])
        let clean = try XCTUnwrap(models[1]["clean"] as? [String: Any])
        XCTAssertEqual(Set(clean.keys), ["accuracy", "accuracy_ttn", "n", "ci95", "ci95_ttn"])
        let mean = try XCTUnwrap(models[1]["mean"] as? [String: Any])
        XCTAssertEqual(Set(mean.keys), ["accuracy", "accuracy_ttn"])
        let results = try XCTUnwrap(models[1]["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 6)
        XCTAssertEqual(Set(results[0].keys), ["corruption", "severity", "accuracy", "accuracy_ttn", "n", "ci95", "ci95_ttn"])
        XCTAssertEqual(results[0]["corruption"] as? String, "shot_noise")
        XCTAssertEqual(results[0]["n"] as? Int, 6)
        let bySeverity = try XCTUnwrap(models[0]["by_severity"] as? [[String: Any]])
        XCTAssertEqual(bySeverity.map { $0["severity"] as? Int }, [1, 3, 5])
        let byCorruption = try XCTUnwrap(models[0]["by_corruption"] as? [[String: Any]])
        XCTAssertEqual(byCorruption.map { $0["corruption"] as? String }, ["shot_noise", "pixelate"])
        XCTAssertEqual(models[0]["ttn_is_noisy"] as? Bool, false)
    }

    func testFigureIsWellFormedSVG() throws {
        let report = try Self.report()
        let svg = report.figure().svgString()
        let check = XMLCheck.parse(svg)
        XCTAssertNil(check.error, "\(String(describing: check.error))")
        XCTAssertEqual(check.elements.first, "svg")
        // One mean panel and one per corruption.
        XCTAssertEqual(report.figure().panels.count, 3)
        XCTAssertEqual(report.figure().panels[0].series.map(\.name), ["ODE", "dropout σ=0.5", "dropout σ=0.5 + TTN"])
        XCTAssertEqual(report.figure().panels[0].series.map(\.dashed), [false, false, true])
        XCTAssertEqual(report.figure().panels[0].series[0].points.map(\.x), [0, 1, 3, 5], "severity 0 is the clean set")
        XCTAssertTrue(check.texts.contains("pixelate"))
    }

    func testWriteCreatesAllFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-corruption-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try Self.report()
        let urls = try report.write(to: directory)
        XCTAssertEqual(urls.map(\.lastPathComponent), ["corruption.md", "corruption.csv", "corruption.json", "corruption.svg"])
        XCTAssertEqual(try String(contentsOf: urls[0], encoding: .utf8), report.markdown())
        XCTAssertEqual(try String(contentsOf: urls[1], encoding: .utf8), report.csv())
        XCTAssertEqual(try Data(contentsOf: urls[2]), try report.json())
        XCTAssertNil(XMLCheck.parse(try String(contentsOf: urls[3], encoding: .utf8)).error)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [])
    }
}
