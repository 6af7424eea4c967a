import NSDETensor
import XCTest
@testable import NSDETraining
@testable import NSDERobustness

/// ``RobustAccuracy`` and ``RobustAccuracyFigure``: accuracy against ε on a linear model with a
/// known breaking point, EOT defaults, the no-EOT comparison, and the CSV/SVG output.
final class AttackRobustAccuracyTests: XCTestCase {
    /// Four centred images of class 0 (margin 0.3) as a dataset.
    static func centredSet() -> AdversarialExamples {
        AdversarialExamples(images: AttackPGDTests.centred(4), labels: [0, 0, 0, 0], classes: ["zero", "one"])
    }

    /// Noise-free linear model: accuracy is 1 below ε* = m/‖w‖₂ and 0 above; K is forced to 1 and
    /// the no-EOT fields are nil; the mean achieved norm is ε (the attack ends on the sphere).
    func testAccuracyDropsExactlyAtTheLinearBreakingPoint() throws {
        let (model, w) = AttackPGDTests.linearModel()
        let critical = 0.3 / AttackPGDTests.l2(w)
        let settings = RobustAccuracy(norm: .l2, epsilons: [0, 0.5 * critical, 2 * critical], steps: 20,
                                      update: .madry(stepSize: nil, randomStart: false), eotSamples: 5, ttnSamples: 3, batchSize: 3)
        var calls = 0
        let result = try settings.run(model, on: Self.centredSet()) { done, total in
            calls += 1
            XCTAssertEqual(total, 6)
            XCTAssertEqual(done, calls)
        }
        XCTAssertEqual(result.points.map(\.accuracy), [1, 1, 0])
        XCTAssertEqual(result.points.map(\.accuracyTTN), [1, 1, 0])
        XCTAssertEqual(result.eotSamples, 1)
        XCTAssertEqual(result.count, 4)
        XCTAssertTrue(result.points.allSatisfy { $0.accuracyNoEOT == nil && $0.accuracyTTNNoEOT == nil && $0.meanNormNoEOT == nil })
        for (p, eps) in zip(result.points, settings.epsilons) { XCTAssertEqual(p.meanNorm, Double(eps), accuracy: 1e-5) }
    }

    /// A noisy model: EOT defaults to K = 10, the K = 1 attack is reported too, ε = 0 gives
    /// `evaluate`'s clean accuracies, runs are reproducible and the model state is restored.
    func testNoisyModelReportsTheAttackWithoutEOT() throws {
        let (model, w) = AttackPGDTests.linearModel()
        model.testSigma = 0.05
        model.noiseCounter = 3
        let critical = 0.3 / AttackPGDTests.l2(w)
        let settings = RobustAccuracy(norm: .l2, epsilons: [0, 2 * critical], steps: 10, ttnSamples: 4, seed: 8)
        XCTAssertEqual(settings.effectiveEOTSamples(for: model), RobustAccuracy.defaultEOTSamples)
        let result = try settings.run(model, on: Self.centredSet())
        XCTAssertEqual(result.eotSamples, 10)
        XCTAssertTrue(result.points.allSatisfy { $0.accuracyNoEOT != nil && $0.accuracyTTNNoEOT != nil && $0.meanNormNoEOT != nil })
        let clean = try evaluate(model, on: Self.centredSet(), testSigma: 0.05, ttnSamples: 4, batchSize: 100, seed: 8)
        XCTAssertEqual(result.points[0].accuracy, clean.accuracy)
        XCTAssertEqual(result.points[0].accuracyTTN, clean.accuracyTTN)
        XCTAssertEqual(result.points[0].meanNorm, 0)
        XCTAssertLessThan(result.points[1].accuracy, 1)
        let again = try settings.run(model, on: Self.centredSet())
        XCTAssertEqual(again.points, result.points)
        XCTAssertEqual(model.noiseCounter, 3)
        XCTAssertEqual(model.testSigma, 0.05)
    }

    /// JSON keys of a point are the contract's, with nulls present.
    func testPointJSONHasEveryKey() throws {
        let point = RobustAccuracyPoint(epsilon: 0.5, accuracy: 0.75, accuracyTTN: 0.8, accuracyNoEOT: nil, accuracyTTNNoEOT: nil,
                                        meanNorm: 0.49, meanNormNoEOT: nil)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(point)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["eps", "accuracy", "accuracy_ttn", "accuracy_no_eot", "accuracy_ttn_no_eot", "mean_norm",
                                          "mean_norm_no_eot"])
        XCTAssertTrue(object["accuracy_no_eot"] is NSNull)
        XCTAssertEqual(try JSONDecoder().decode(RobustAccuracyPoint.self, from: JSONEncoder().encode(point)), point)
    }

    /// The figure: one CSV row per (model, ε); a solid line per model and a dashed TTN line for a
    /// noisy one; both files written.
    func testFigureWritesCSVAndSVG() throws {
        let (model, _) = AttackPGDTests.linearModel()
        let settings = RobustAccuracy(epsilons: [0, 0.05, 0.1], steps: 2, ttnSamples: 2)
        let plain = try settings.run(model, on: Self.centredSet())
        model.testSigma = 0.1
        let noisy = try settings.run(model, on: Self.centredSet())
        let figure = RobustAccuracyFigure(curves: [.init(name: "ode, plain", result: plain), .init(name: "noisy", result: noisy)])
        let lines = figure.csv().split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 2 * 3)
        XCTAssertEqual(String(lines[0]), RobustAccuracyFigure.csvHeader)
        XCTAssertTrue(lines[1].hasPrefix("\"ode, plain\",0.0,"), String(lines[1]))
        XCTAssertEqual(figure.plot().series.map(\.dashed), [false, false, true])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-attack-fig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try figure.write(csv: directory.appendingPathComponent("a.csv"), svg: directory.appendingPathComponent("a.svg"))
        XCTAssertTrue(try String(contentsOf: directory.appendingPathComponent("a.svg"), encoding: .utf8).contains("<svg"))
    }
}
