import Foundation
import NSDETestSupport
import XCTest
import NSDEModels
@testable import NSDETraining
@testable import NSDEExperiments

/// The converged checkpoints `nsde demo` ships in `models/demo` (made by
/// `scripts/make-demo-models.sh`): they load, their recorded recipe is the script's, and the Neural
/// ODE is a Fashion-MNIST classifier a user recognises as working (≥ 85 % on the first 2,000 real
/// test images), evaluated through `nsde eval`.
final class ShippedDemoModelsTests: XCTestCase {
    /// `models/demo` of this checkout.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/demo")

    func runs() throws -> [URL] {
        let runs = (try? FileManager.default.contentsOfDirectory(at: Self.root, includingPropertiesForKeys: nil)) ?? []
        return runs.filter { Checkpoint.exists(in: $0) }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testShippedRunsFollowTheDocumentedRecipe() throws {
        let runs = try runs()
        guard !runs.isEmpty else { throw XCTSkip("no models/demo in this checkout") }
        XCTAssertEqual(runs.count, 2, "an ODE and one SDE: \(runs.map(\.lastPathComponent))")
        XCTAssertTrue(runs.contains { $0.lastPathComponent == "ode" })
        for run in runs {
            let (model, state) = try Checkpoint.loadClassifier(from: run)
            let c = state.configuration
            XCTAssertEqual(c.dataset, "fashion-mnist")
            XCTAssertEqual(c.model.width, 16)
            XCTAssertEqual(c.model.groupNormGroups, 8)
            XCTAssertEqual(c.model.steps, 4)
            XCTAssertEqual(c.schedule, .staged(stages: [5, 2]))
            XCTAssertEqual(c.epochs, 7)
            XCTAssertEqual(state.epoch, 7, "\(run.lastPathComponent) is trained to the end")
            XCTAssertEqual(c.batchSize, 32)
            XCTAssertEqual(c.optimizer.learningRate, 0.05)
            XCTAssertEqual(c.validationSize, 5_000)
            XCTAssertEqual(c.seed, 0)
            XCTAssertNil(c.dataDirectory, "no machine path is stored")
            XCTAssertEqual(run.lastPathComponent, NoiseSetting(noise: c.model.noise, sigma: c.model.sigma).runName)
            XCTAssertEqual(model.parameterCount, PaperClassifier(architecture: .paperSmall, inChannels: 1, classes: 10, width: 16).parameterCount)
        }
    }

    func testShippedODEIsAWorkingFashionMNISTClassifier() throws {
        let runs = try runs()
        guard let ode = runs.first(where: { $0.lastPathComponent == "ode" }) else { throw XCTSkip("no models/demo in this checkout") }
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            if let ci = ProcessInfo.processInfo.environment["CI"], !ci.isEmpty, ci != "0", ci.lowercased() != "false" {
                return XCTFail("Fashion-MNIST is missing: CI must install the Debian package dataset-fashion-mnist")
            }
            throw XCTSkip("Fashion-MNIST is not installed")
        }
        let run = try NSDEExecutable.run(["eval", "--checkpoint", ode.path, "--test-subset", "2000", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try NSDEExecutable.object(run.stdout)
        let accuracy = try XCTUnwrap(json["accuracy"] as? Double)
        XCTAssertGreaterThanOrEqual(accuracy, 0.85, "the shipped ODE must be a working classifier")
    }
}
