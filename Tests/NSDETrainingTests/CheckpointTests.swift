import Foundation
import NSDECore
import NSDEData
import NSDEModels
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest
@testable import NSDEPlot
@testable import NSDETraining

/// `Checkpoint`: the file layout, the round trip, and the crash-safe write protocol.
final class CheckpointTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A trainer after one epoch on 32 synthetic images (writing into `directory` when given).
    func trainedOneEpoch(into directory: URL?) throws -> Trainer {
        let trainer = try Trainer(configuration: SyntheticImages.trainingConfiguration(), trainSet: SyntheticImages.dataset(count: 32, seed: 1),
                                  testSet: SyntheticImages.dataset(count: 16, seed: 2), outputDirectory: directory)
        _ = try trainer.run()
        return trainer
    }

    func bits(_ tensors: [String: Tensor]) -> [String: [UInt32]] { tensors.mapValues { $0.scalars.map(\.bitPattern) } }

    /// What the trainer writes reads back exactly: state (64-bit seeds included), weights and
    /// momentum buffers; the files are the documented ones and nothing else is left behind.
    func testRoundTripIsExact() throws {
        let trainer = try trainedOneEpoch(into: directory)
        let saved = try Checkpoint.read(from: directory)
        let expected = trainer.checkpoint()
        XCTAssertEqual(saved.state.epoch, 1)
        XCTAssertEqual(saved.state.configuration, expected.state.configuration)
        XCTAssertEqual(saved.state.random, expected.state.random)
        XCTAssertEqual(saved.state.random.seeds, TrainingSeeds(seed: 12_345_678_901_234_567_890))
        XCTAssertGreaterThan(saved.state.random.noiseCounter, 0)
        XCTAssertEqual(saved.state.history, trainer.history)
        XCTAssertEqual(saved.state.optimizer.parameterNames, trainer.model.namedParameters().map(\.name))
        XCTAssertEqual(saved.state.schedule, SchedulePosition(nextEpoch: 1, nextLearningRate: 0.005))
        XCTAssertEqual(saved.state.dataLoader.nextEpoch, 1)
        XCTAssertEqual(bits(saved.model), bits(trainer.model.stateDict()))
        XCTAssertEqual(bits(saved.optimizer), bits(trainer.optimizer.stateDict()))
        XCTAssertEqual(Set(saved.optimizer.keys), Set((0..<trainer.model.parameters.count).map { "\($0).momentum" }))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertEqual(files, [".lock", "checkpoint.json", "metrics.jsonl", "model.safetensors", "optimizer.safetensors"])
        // model.safetensors carries the model configuration for `nsde eval --model-file`.
        let (_, metadata) = try SafeTensors.read(from: directory.appendingPathComponent(Checkpoint.modelFileName))
        XCTAssertEqual(try Checkpoint.modelConfiguration(metadata: metadata), SyntheticImages.trainingConfiguration().model)
        XCTAssertEqual(metadata["format"], "pt")
    }

    /// checkpoint.json uses the documented keys.
    func testStateFileKeys() throws {
        _ = try trainedOneEpoch(into: directory)
        let data = try Data(contentsOf: directory.appendingPathComponent(Checkpoint.stateFileName))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(json.keys), ["format", "version", "epoch", "configuration", "optimizer", "schedule", "data_loader",
                                        "random", "data", "files", "history", "parameter_count", "saved_at", "threads"])
        let random = try XCTUnwrap(json["random"] as? [String: Any])
        XCTAssertNotNil(random["noise_counter"])
        let files = try XCTUnwrap(json["files"] as? [String: Any])
        XCTAssertEqual(Set(files.keys), [Checkpoint.modelFileName, Checkpoint.optimizerFileName])
    }

    /// A save interrupted after the new tensor files replaced the old ones but before
    /// checkpoint.json was committed still loads the previous epoch, from the `.previous` links.
    func testInterruptedSaveLoadsThePreviousEpoch() throws {
        let trainer = try trainedOneEpoch(into: nil)
        let first = trainer.checkpoint()
        try first.write(to: directory)
        _ = try trainer.trainEpoch()
        let second = trainer.checkpoint()
        // Steps 1-2 of the protocol, then a "crash": no checkpoint.json for epoch 2.
        for name in [Checkpoint.modelFileName, Checkpoint.optimizerFileName] {
            Checkpoint.preservePrevious(directory.appendingPathComponent(name))
        }
        try AtomicFile.write(Data(try SafeTensors.encode(second.model)), to: directory.appendingPathComponent(Checkpoint.modelFileName))
        let loaded = try Checkpoint.read(from: directory)
        XCTAssertEqual(loaded.state.epoch, 1)
        XCTAssertEqual(bits(loaded.model), bits(first.model))
        XCTAssertEqual(bits(loaded.optimizer), bits(first.optimizer))
        // The next complete save commits epoch 2 and removes the links.
        try second.write(to: directory)
        XCTAssertEqual(try Checkpoint.read(from: directory).state.epoch, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(".model.safetensors.previous").path))
    }

    /// Tensors that match nothing checkpoint.json recorded are an error naming the file.
    func testMismatchedTensorFileIsAnErrorNamingIt() throws {
        _ = try trainedOneEpoch(into: directory)
        let url = directory.appendingPathComponent(Checkpoint.modelFileName)
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: url)
        XCTAssertThrowsError(try Checkpoint.read(from: directory)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("the checkpoint in \(directory.path) cannot be used: model.safetensors does not match checkpoint.json"), message)
        }
        try FileManager.default.removeItem(at: url)
        XCTAssertThrowsError(try Checkpoint.read(from: directory)) { XCTAssertTrue("\($0)".contains("found no file"), "\($0)") }
    }

    func testMissingCheckpointIsAnError() {
        XCTAssertThrowsError(try Checkpoint.read(from: directory)) {
            XCTAssertEqual("\($0)", "\(directory.path) holds no checkpoint.json: expected a `nsde train` output directory "
                           + "(to start a new run there, train without --resume)")
        }
        let nowhere = directory.appendingPathComponent("nonexistent")
        XCTAssertThrowsError(try Checkpoint.read(from: nowhere)) {
            XCTAssertTrue("\($0)".hasPrefix("\(nowhere.path) does not exist and holds no checkpoint.json"), "\($0)")
        }
    }

    /// Temporary files a killed writer left behind are removed by the next save.
    func testStaleTemporaryFilesAreRemoved() throws {
        let stale = directory.appendingPathComponent(".model.safetensors.tmp-abc123")
        try Data([1, 2, 3]).write(to: stale)
        let other = directory.appendingPathComponent(".unrelated.tmp-1")
        try Data([1]).write(to: other)
        _ = try trainedOneEpoch(into: directory)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.path))
    }

    /// `GradientMethod` is its own configuration value: parsed from and written as the names the
    /// command line and `checkpoint.json` use (the removed `GradientChoice`'s spellings).
    func testGradientMethodParsesAndCodesItsNames() throws {
        XCTAssertEqual(GradientMethod("backprop"), .backprop)
        XCTAssertEqual(GradientMethod("adjoint"), .adjoint)
        XCTAssertEqual(GradientMethod("reversible-adjoint"), .reversibleAdjoint)
        XCTAssertEqual(GradientMethod("checkpointed:4"), .checkpointed(every: 4))
        XCTAssertEqual(GradientMethod("checkpointed(4)"), .checkpointed(every: 4), "the earlier spelling")
        XCTAssertEqual(GradientMethod("forward-sensitivity"), .forwardSensitivity)
        XCTAssertEqual(GradientMethod("adjoint:0.001,1e-05,4"), .adjoint(rtol: 1e-3, atol: 1e-5, maxIterations: 4))
        for bad in ["checkpointed:0", "checkpointed:", "checkpointed", "checkpointed(2", "forward", "", "adjoint:1,0,3",
                    "adjoint:1,2", "adjoint:-1,1,1", "adjoint:nan,1,1"] {
            XCTAssertNil(GradientMethod(bad), bad)
        }
        let methods: [GradientMethod] = [.backprop, .adjoint, .reversibleAdjoint, .checkpointed(every: 3), .forwardSensitivity,
                                         .adjoint(rtol: 1e-4, atol: 1e-7, maxIterations: 12)]
        for m in methods {
            XCTAssertEqual(GradientMethod(m.description), m, m.description)
            let json = try JSONEncoder().encode([m])
            XCTAssertEqual(try JSONDecoder().decode([GradientMethod].self, from: json), [m])
        }
        XCTAssertEqual(GradientMethod.checkpointed(every: 3).description, "checkpointed:3")
        XCTAssertEqual(String(data: try JSONEncoder().encode([GradientMethod.checkpointed(every: 4)]), encoding: .utf8), #"["checkpointed:4"]"#)
        XCTAssertThrowsError(try JSONDecoder().decode([GradientMethod].self, from: Data(#"["sideways"]"#.utf8))) {
            XCTAssertTrue("\($0)".contains("gradient 'sideways' is not backprop, adjoint"), "\($0)")
        }
        // Training rejects forward sensitivity by name (one solve per parameter).
        var c = ModelConfiguration(inChannels: 1, classes: 2, width: 4)
        c.gradient = .forwardSensitivity
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("forward sensitivity costs one solve per parameter"), "\($0)") }
    }

    func testStagedScheduleDividesByTenPerStage() {
        let s = ScheduleConfiguration.staged(stages: [2, 1, 1])
        XCTAssertEqual((0..<6).map { s.learningRate(atEpoch: $0, base: 0.1) }, [0.1, 0.1, 0.01, 0.001, 0.001, 0.001])
        XCTAssertEqual(s.length, 4)
        XCTAssertEqual(ScheduleConfiguration.parseStages("40,40, 20,20"), [40, 40, 20, 20])
        for bad in ["", "40,,20", "40,0", "a"] { XCTAssertNil(ScheduleConfiguration.parseStages(bad), bad) }
    }
}
