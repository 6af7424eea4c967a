import Foundation
import NSDENN
import NSDETensor
import NSDETestSupport
import NSDETraining
import XCTest

/// `--distributed` under Open MPI's `mpirun` (2 processes on this machine): the contract of
/// issue 14 for training and evaluation, the error without a launcher, and ranks started
/// differently.
final class DistributedCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-distributed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Two epochs of 16 batches of 16 synthetic 8x8 images (dropout noise).
    func trainArguments(out: String, threads: Int = 1) -> [String] {
        ["train", "--dataset", "mnist", "--data-dir", directory.appendingPathComponent("data").path,
         "--width", "4", "--steps", "2", "--noise", "dropout", "--sigma", "0.3", "--stages", "1,1",
         "--batch-size", "16", "--crop-padding", "1", "--seed", "3", "--threads", "\(threads)", "--json",
         "--out", directory.appendingPathComponent(out).path]
    }

    func weights(_ out: String) throws -> [String: Tensor] {
        try SafeTensors.read(from: directory.appendingPathComponent(out).appendingPathComponent("model.safetensors")).tensors
    }

    /// Data-parallel training: 2 processes of 1 thread (each half of every global batch,
    /// gradients summed in rank order) follow the 1-process run of 2 threads (2 shards of the
    /// same halves, same per-sample noise) up to the order of floating-point sums, and two
    /// 2-process runs are bit-identical; rank 0 alone prints and writes, its JSON has `ranks`.
    func testTwoProcessTrainingFollowsOneProcessAndIsReproducible() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 256, test: 32)
        let single = try NSDEExecutable.run(trainArguments(out: "one", threads: 2))
        XCTAssertEqual(single.status, 0, single.stderr)
        let one = try NSDEExecutable.object(single.stdout)
        var runs: [[String: Any]] = []
        for name in ["two-a", "two-b"] {
            let job = try NSDEExecutable.runUnderMPI(perRank: Array(repeating: trainArguments(out: name) + ["--distributed"], count: 2))
            XCTAssertEqual(job.status, 0, job.stderr)
            runs.append(try NSDEExecutable.object(job.stdout))
        }
        XCTAssertEqual(runs[0]["ranks"] as? Int, 2)
        XCTAssertEqual(runs[0]["epochs_completed"] as? Int, 2)
        try assertWeights(of: "one", followedBy: "two-a", "two-b", within: 1e-4)
        let loss1 = try XCTUnwrap(one["train_loss"] as? Double), loss2 = try XCTUnwrap(runs[0]["train_loss"] as? Double)
        XCTAssertEqual(loss2, loss1, accuracy: 1e-5 * max(1, abs(loss1)))
        XCTAssertEqual(runs[0]["test_acc"] as? Double, one["test_acc"] as? Double)

        // The checkpoint records the process count; resuming with another one says it is not bit-identical.
        XCTAssertEqual(try Checkpoint.readState(from: directory.appendingPathComponent("two-a")).ranks, 2)
        XCTAssertNil(try Checkpoint.readState(from: directory.appendingPathComponent("one")).ranks)
        let resumed = try NSDEExecutable.run(["train", "--out", directory.appendingPathComponent("two-a").path, "--resume",
                                              "--epochs", "3", "--threads", "1", "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("was written by 2 processes; resuming with 1"), resumed.stderr)
    }
    /// A longer data-parallel run: 7 epochs of 32 batches of 8 synthetic 8x8 images (224 optimiser
    /// steps, the learning rate divided by 10 after epoch 5). 2 processes of 1 thread against 1
    /// process of 2 threads (the same halves of every batch): every weight within 1e-4 of the
    /// largest weight of its tensor, and every epoch's training loss (metrics.jsonl) within 1e-5
    /// relative, the test accuracy equal; two 2-process runs bit-identical (weights and losses).
    func testLongTwoProcessTrainingFollowsOneProcessAndIsReproducible() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 256, test: 32)
        func arguments(_ out: String, threads: Int) -> [String] {
            trainArguments(out: out, threads: threads).map { $0 == "1,1" ? "5,2" : $0 == "16" ? "8" : $0 }
        }
        let single = try NSDEExecutable.run(arguments("one", threads: 2))
        XCTAssertEqual(single.status, 0, single.stderr)
        for name in ["two-a", "two-b"] {
            let job = try NSDEExecutable.runUnderMPI(perRank: Array(repeating: arguments(name, threads: 1) + ["--distributed"], count: 2))
            XCTAssertEqual(job.status, 0, job.stderr)
        }
        let worst = try assertWeights(of: "one", followedBy: "two-a", "two-b", within: 1e-4)
        print("224 steps: largest weight difference, 2 processes against 1: \(worst) of the tensor's largest weight")
        let (m1, ma, mb) = (try metrics("one"), try metrics("two-a"), try metrics("two-b"))
        XCTAssertEqual(m1.count, 7)
        XCTAssertEqual(ma.count, 7)
        XCTAssertEqual(ma.map { $0["train_examples"] as? Int }, Array(repeating: 256, count: 7))
        for (epoch, (one, two)) in zip(m1, ma).enumerated() {
            let (l1, l2) = (try XCTUnwrap(one["train_loss"] as? Double), try XCTUnwrap(two["train_loss"] as? Double))
            XCTAssertEqual(l2, l1, accuracy: 1e-5 * max(1, abs(l1)), "epoch \(epoch + 1): training loss")
            XCTAssertEqual(two["test_acc"] as? Double, one["test_acc"] as? Double, "epoch \(epoch + 1): test accuracy")
            XCTAssertEqual(two["lr"] as? Double, one["lr"] as? Double, "epoch \(epoch + 1): learning rate")
        }
        XCTAssertEqual(ma.map { $0["train_loss"] as? Double }, mb.map { $0["train_loss"] as? Double }, "two 2-process loss curves differ")
        let first = try XCTUnwrap(m1.first?["train_loss"] as? Double), last = try XCTUnwrap(m1.last?["train_loss"] as? Double)
        XCTAssertLessThan(last, first, "the run learns")
    }

    /// Asserts that the 2-process runs `a` and `b` have bit-identical weights and that `a`'s are
    /// within `tolerance` of the 1-process run `one`'s, relative to the largest weight of each
    /// tensor (at least 1e-3); returns the largest such relative difference.
    @discardableResult
    /// 3 processes of 1 thread against 1 process of 3 threads (3 shards, the same rows of every
    /// batch): the gradients are summed in rank order through the chain all-reduce (3 processes
    /// add differently from 2: `(g₀ + g₁) + g₂` is not `g₀ + (g₁ + g₂)`), so the weights are
    /// bit-identical; batches of 16 split 6, 5, 5. Width 64 (the paper's) gives 113,000 gradient
    /// values: 14 of the chain's chunks of 8,192 and a shorter last one.
    func testThreeProcessTrainingEqualsThreeShardsBitForBit() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 256, test: 32)
        func arguments(_ out: String, threads: Int) -> [String] {
            trainArguments(out: out, threads: threads).map { $0 == "4" ? "64" : $0 }
        }
        let single = try NSDEExecutable.run(arguments("one", threads: 3))
        XCTAssertEqual(single.status, 0, single.stderr)
        let job = try NSDEExecutable.runUnderMPI(perRank: Array(repeating: arguments("three", threads: 1) + ["--distributed"], count: 3))
        XCTAssertEqual(job.status, 0, job.stderr)
        XCTAssertEqual(try NSDEExecutable.object(job.stdout)["ranks"] as? Int, 3)
        XCTAssertEqual(try assertWeights(of: "one", followedBy: "three", "three", within: 0), 0)
    }

    func assertWeights(of one: String, followedBy a: String, _ b: String, within tolerance: Float) throws -> Float {
        let (w1, wa, wb) = (try weights(one), try weights(a), try weights(b))
        XCTAssertEqual(Set(w1.keys), Set(wa.keys))
        var largest: Float = 0
        for (name, reference) in w1 {
            let x = try XCTUnwrap(wa[name]), y = try XCTUnwrap(wb[name])
            XCTAssertEqual(x.scalars.map(\.bitPattern), y.scalars.map(\.bitPattern), "\(name): two 2-process runs differ")
            let scale = max(reference.scalars.map(abs).max() ?? 0, 1e-3)
            let worst = (zip(x.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0) / scale
            XCTAssertLessThanOrEqual(worst, tolerance, "\(name): 2 processes against 1")
            largest = max(largest, worst)
        }
        return largest
    }

    /// The per-epoch lines of the run's metrics.jsonl.
    func metrics(_ out: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: directory.appendingPathComponent(out).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    /// The shipped demo SDE model (`models/demo` of this checkout).
    private static let model = ShippedDemoModelsTests.root.appendingPathComponent("dropout-0.3")

    /// The demo SDE model on the first 200 test images with 3 TTN passes, 1 thread per process.
    private let evalArguments = ["eval", "--checkpoint", model.path, "--test-subset", "200", "--ttn", "3",
                                 "--batch-size", "32", "--json", "--threads", "1"]

    /// Two processes give exactly the single process's numbers (accuracies, NLLs, per-class
    /// results); only rank 0 prints, and its JSON gains `ranks`.
    func testTwoProcessEvaluationEqualsOneProcess() throws {
        let single = try NSDEExecutable.run(evalArguments)
        XCTAssertEqual(single.status, 0, single.stderr)
        let one = try NSDEExecutable.object(single.stdout)
        XCTAssertNil(one["ranks"], "ranks is only reported with --distributed")

        let job = try NSDEExecutable.runUnderMPI(perRank: Array(repeating: evalArguments + ["--distributed"], count: 2))
        XCTAssertEqual(job.status, 0, job.stderr)
        let two = try NSDEExecutable.object(job.stdout)   // exactly one JSON line: rank 0 alone prints
        XCTAssertEqual(two["ranks"] as? Int, 2)
        for key in ["accuracy", "accuracy_ttn", "nll", "nll_ttn", "correct", "correct_ttn", "n"] {
            XCTAssertEqual("\(two[key] ?? "missing")", "\(one[key] ?? "missing")", key)
        }
        XCTAssertEqual(two["per_class"] as? NSArray, one["per_class"] as? NSArray)
        XCTAssertNotNil(one["per_class"] as? NSArray)
    }

    /// A process killed mid-run ends the whole job with a non-zero status; the checkpoint on disk
    /// is the last complete epoch and loads; `--resume --distributed` finishes the run, bit-identical
    /// to an uninterrupted 2-process run.
    func testKilledProcessEndsTheJobAndTheRunResumes() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 512, test: 32)
        func arguments(_ out: String) -> [String] {
            trainArguments(out: out).map { $0 == "1,1" ? "2,3" : $0 } + ["--distributed"]
        }
        let reference = try NSDEExecutable.runUnderMPI(perRank: [arguments("reference"), arguments("reference")])
        XCTAssertEqual(reference.status, 0, reference.stderr)

        let killedDir = directory.appendingPathComponent("killed")
        let out = Pipe(), err = Pipe()
        let job = try NSDEExecutable.mpiProcess(perRank: [arguments("killed"), arguments("killed")], stdout: out, stderr: err)
        final class Box: @unchecked Sendable { var data = Data() }
        let stderrText = Box()
        let drained = DispatchGroup()
        drained.enter()
        try job.run()
        DispatchQueue.global().async {
            stderrText.data = err.fileHandleForReading.readDataToEndOfFile()
            drained.leave()
        }
        DispatchQueue.global().async { _ = out.fileHandleForReading.readDataToEndOfFile() }
        let deadline = Date().addingTimeInterval(120)
        var committed = 0
        while Date() < deadline, job.isRunning {
            if let state = try? Checkpoint.readState(from: killedDir), state.epoch >= 1 { committed = state.epoch; break }
            usleep(2_000)
        }
        // Kill one of the two nsde processes (not mpirun): those whose command line names the run.
        let ranks = try processes(naming: killedDir.path).filter { $0 != job.processIdentifier }
        XCTAssertEqual(ranks.count, 2, "the job's nsde processes: \(ranks)")
        if let victim = ranks.max() { kill(victim, SIGKILL) }
        job.waitUntilExit()
        drained.wait()
        XCTAssertNotEqual(job.terminationStatus, 0, "the job must fail when a process dies")
        XCTAssertGreaterThanOrEqual(committed, 1, "no epoch was committed before the kill")

        let left = try Checkpoint.read(from: killedDir)
        XCTAssertGreaterThanOrEqual(left.state.epoch, 1)
        XCTAssertLessThan(left.state.epoch, 5)
        let resumeArguments = ["train", "--out", killedDir.path, "--resume", "--threads", "1", "--json", "--distributed"]
        let resumed = try NSDEExecutable.runUnderMPI(perRank: [resumeArguments, resumeArguments])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let json = try NSDEExecutable.object(resumed.stdout)
        XCTAssertEqual(json["epochs_completed"] as? Int, 5)
        XCTAssertEqual(json["resumed_from_epoch"] as? Int, left.state.epoch)
        let (a, b) = (try weights("reference"), try weights("killed"))
        for (name, tensor) in a {
            XCTAssertEqual(b[name]?.scalars.map(\.bitPattern), tensor.scalars.map(\.bitPattern), name)
        }
        _ = stderrText.data
    }

    /// The processes whose command line contains `text` (from /proc).
    private func processes(naming text: String) throws -> [Int32] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(text) && line.contains("nsde") && !line.contains("mpirun") ? pid : nil
        }
    }

    /// A 2-process Table 1 sweep (runs dealt over the processes, rank 0 writes the report) gives
    /// every run the results it gets when one process runs them all.
    func testTwoProcessTable1EqualsOneProcess() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 256, test: 32)
        func arguments(_ out: String) -> [String] {
            ["experiment", "table1", "--dataset", "mnist", "--data-dir", directory.appendingPathComponent("data").path,
             "--models", "ode,additive:0.3", "--seeds", "2", "--width", "4", "--steps", "2", "--stages", "1",
             "--train-subset", "128", "--test-subset", "32", "--batch-size", "32", "--ttn", "2", "--threads", "1",
             "--json", "--out", directory.appendingPathComponent(out).path]
        }
        let (one, two) = try oneAndTwoProcesses(arguments)
        let (a, b) = (try XCTUnwrap(one["models"] as? [[String: Any]]), try XCTUnwrap(two["models"] as? [[String: Any]]))
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(b.count, 2)
        for (ma, mb) in zip(a, b) {
            let (sa, sb) = (try XCTUnwrap(ma["per_seed"] as? [[String: Any]]), try XCTUnwrap(mb["per_seed"] as? [[String: Any]]))
            XCTAssertEqual(sa.count, 2)
            for (ra, rb) in zip(sa, sb) {
                var (x, y) = (ra, rb)
                x["run"] = nil
                y["run"] = nil
                XCTAssertEqual(NSDictionary(dictionary: x), NSDictionary(dictionary: y), "\(ma["noise"] ?? "?")")
            }
        }
        for name in ["ode/seed-0", "ode/seed-1", "additive-0.3/seed-0", "additive-0.3/seed-1"] {
            XCTAssertNoThrow(try Checkpoint.readState(from: directory.appendingPathComponent("two").appendingPathComponent(name)),
                             "run directory \(name)")
        }
    }

    /// A 2-process σ search chooses the same σ from the same validation grid as one process.
    func testTwoProcessSigmaSearchEqualsOneProcess() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 256, test: 32)
        func arguments(_ out: String) -> [String] {
            ["experiment", "sigma-search", "--dataset", "mnist", "--data-dir", directory.appendingPathComponent("data").path,
             "--noises", "additive", "--sigmas", "0.1,0.3", "--seeds", "1", "--width", "4", "--steps", "2", "--stages", "1",
             "--train-subset", "128", "--test-subset", "32", "--val-size", "32", "--batch-size", "32", "--ttn", "2",
             "--threads", "1", "--json", "--out", directory.appendingPathComponent(out).path]
        }
        let (one, two) = try oneAndTwoProcesses(arguments)
        XCTAssertEqual(two["grid"] as? NSArray, one["grid"] as? NSArray)
        XCTAssertEqual(two["chosen"] as? NSArray, one["chosen"] as? NSArray)
        XCTAssertNotNil(one["grid"] as? NSArray)
    }

    /// The JSON of `arguments("one")` in one process and of `arguments("two") --distributed` in two
    /// (which must report `ranks` 2); both must succeed.
    private func oneAndTwoProcesses(_ arguments: (String) -> [String]) throws -> (one: [String: Any], two: [String: Any]) {
        let single = try NSDEExecutable.run(arguments("one"))
        XCTAssertEqual(single.status, 0, single.stderr)
        let job = try NSDEExecutable.runUnderMPI(perRank: Array(repeating: arguments("two") + ["--distributed"], count: 2))
        XCTAssertEqual(job.status, 0, job.stderr)
        let (one, two) = (try NSDEExecutable.object(single.stdout), try NSDEExecutable.object(job.stdout))
        XCTAssertEqual(two["ranks"] as? Int, 2)
        return (one, two)
    }

    /// `bench train-step --distributed` reports the scaling contract: ranks, images_per_s (one
    /// process's share) and images_per_s_total, and allreduce_ms_per_step.
    func testDistributedTrainStepBenchmarkReportsRanks() throws {
        let arguments = ["bench", "train-step", "--batch", "8", "--in-channels", "1", "--size", "8", "--width", "4",
                         "--gn-groups", "2", "--steps", "2", "--repeats", "2", "--warmup", "1", "--threads", "1", "--json",
                         "--distributed"]
        let job = try NSDEExecutable.runUnderMPI(perRank: [arguments, arguments])
        XCTAssertEqual(job.status, 0, job.stderr)
        let report = try NSDEExecutable.object(job.stdout)
        XCTAssertEqual(report["ranks"] as? Int, 2)
        let perRank = try XCTUnwrap(report["images_per_s"] as? Double), total = try XCTUnwrap(report["images_per_s_total"] as? Double)
        XCTAssertEqual(total, 2 * perRank, accuracy: 1e-6 * total)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(report["allreduce_ms_per_step"] as? Double), 0)
        let single = try NSDEExecutable.object(try NSDEExecutable.run(Array(arguments.dropLast())).stdout)
        XCTAssertNil(single["ranks"])
        XCTAssertNil(single["images_per_s_total"])
    }

    /// Corruption evaluation over 2 processes equals 1 process exactly (the report's JSON but the
    /// timings and paths).
    func testTwoProcessCorruptionEvaluationEqualsOneProcess() throws {
        func arguments(_ out: String) -> [String] {
            ["eval-corrupt", "--checkpoint", Self.model.path, "--corruptions", "gaussian_noise,contrast", "--severities", "1,5",
             "--test-subset", "64", "--ttn", "2", "--batch-size", "16", "--threads", "1", "--json",
             "--out", directory.appendingPathComponent(out).path]
        }
        let (one, two) = try oneAndTwoProcesses(arguments)
        let (a, b) = (try XCTUnwrap(one["models"] as? [[String: Any]]), try XCTUnwrap(two["models"] as? [[String: Any]]))
        XCTAssertEqual(a.count, 1)
        for key in ["results", "mean", "by_severity", "by_corruption", "clean"] {
            XCTAssertEqual(b[0][key] as? NSObject, a[0][key] as? NSObject, key)
            XCTAssertNotNil(a[0][key] as? NSObject, key)
        }
    }

    /// A 2-process attack (3 batches: 2 on rank 0, 1 on rank 1) equals 1 process exactly: every
    /// ε's accuracies w/o and w/ TTN, with and without EOT, and the mean perturbation norms.
    func testTwoProcessAttackEqualsOneProcess() throws {
        func arguments(_ out: String) -> [String] {
            ["attack", "--checkpoint", Self.model.path, "--test-subset", "24", "--batch-size", "8", "--eps", "0,0.5", "--steps", "3",
             "--eot", "2", "--method", "madry", "--ttn", "2", "--threads", "1", "--json",
             "--out", directory.appendingPathComponent(out).path]
        }
        let (one, two) = try oneAndTwoProcesses(arguments)
        XCTAssertEqual(two["n"] as? Int, 24)
        XCTAssertEqual(two["results"] as? NSArray, one["results"] as? NSArray)
        let results = try XCTUnwrap(one["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        XCTAssertNotNil(results[1]["accuracy_no_eot"] as? Double, "the SDE is attacked with and without EOT")
        let (a, b) = (try XCTUnwrap(one["models"] as? [[String: Any]]), try XCTUnwrap(two["models"] as? [[String: Any]]))
        XCTAssertEqual(b.map { $0["results"] as? NSArray }, a.map { $0["results"] as? NSArray })
        let file = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: directory.appendingPathComponent("two").appendingPathComponent("attack.json"))) as? [String: Any])
        XCTAssertEqual(file["results"] as? NSArray, one["results"] as? NSArray)
        XCTAssertNil(file["ranks"], "attack.json is the same file as one process writes")
    }

    /// A 2-process robustness experiment (2 models x 2 seeds dealt over the processes, then Table
    /// 2's and Figure 3's 2 batches and Figure 4's 2 models) gives one process's numbers: every run's
    /// clean accuracy, Table 2, Figure 3, Figure 4 and the summary over seeds.
    func testTwoProcessRobustnessExperimentEqualsOneProcess() throws {
        try SyntheticImages.writeMNISTLayout(to: directory.appendingPathComponent("data"), train: 128, test: 160)
        func arguments(_ out: String) -> [String] {
            ["experiment", "robustness", "--dataset", "mnist", "--data-dir", directory.appendingPathComponent("data").path,
             "--models", "ode,dropout:0.3", "--seeds", "2", "--width", "4", "--gn-groups", "2", "--steps", "2", "--stages", "1",
             "--batch-size", "32", "--test-subset", "32", "--corruptions", "gaussian_noise", "--corruption-images", "150",
             "--eps", "0,1", "--attack-images", "150", "--attack-steps", "2", "--eot", "2", "--perturb-images", "2", "--draws", "2",
             "--ttn", "2", "--threads", "1", "--json", "--runs", directory.appendingPathComponent(out + "-runs").path,
             "--out", directory.appendingPathComponent(out).path]
        }
        let (one, two) = try oneAndTwoProcesses(arguments)
        XCTAssertEqual(two["seeds"] as? [Int], [0, 1])
        for key in ["models", "corruption", "attack", "perturbation", "summary", "preset"] {
            XCTAssertEqual(two[key] as? NSObject, one[key] as? NSObject, key)
            XCTAssertNotNil(one[key] as? NSObject, key)
        }
        XCTAssertEqual((one["models"] as? [Any])?.count, 4, "2 models x 2 seeds")
        for run in ["ode/seed-0", "ode/seed-1", "dropout-0.3/seed-0", "dropout-0.3/seed-1"] {
            XCTAssertNoThrow(try Checkpoint.readState(from: directory.appendingPathComponent("two-runs").appendingPathComponent(run)),
                             "run directory \(run)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("two/seed-1/robustness-seed.json").path))
    }

    /// Without an MPI launcher, --distributed is one clear line and a non-zero exit.
    func testDistributedWithoutLauncherIsAnError() throws {
        let run = try NSDEExecutable.run(evalArguments + ["--distributed"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("--distributed needs an MPI launcher"), run.stderr)
        XCTAssertTrue(run.stdout.isEmpty, run.stdout)
    }

    /// Processes started with different arguments are refused, naming the difference, and the
    /// job ends (no process waits for the others).
    func testProcessesWithDifferentArgumentsAreRefused() throws {
        let job = try NSDEExecutable.runUnderMPI(perRank: [evalArguments + ["--distributed"],
                                                           evalArguments + ["--distributed", "--seed", "5"]])
        XCTAssertNotEqual(job.status, 0)
        XCTAssertTrue(job.stderr.contains("the processes were started with different settings"), job.stderr)
        XCTAssertTrue(job.stderr.contains("--seed 5"), job.stderr)
    }
}
