import Foundation
import XCTest

/// Runs the built `nsde` executable (next to the test bundle) for the command-line tests of every
/// test target: the one place that starts the process and reads its output (both pipes at once).
public enum NSDEExecutable {
    /// The executable's location: the directory of the `.xctest` bundle.
    public static var url: URL {
        var dir = Bundle.main.bundleURL
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dir = bundle.bundleURL.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("nsde")
    }

    /// Skips the test when `nsde` is not built, except under CI (`CI` set), where that fails.
    public static func require() throws -> URL {
        let url = self.url
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            let message = "nsde is not built at \(url.path)"
            if let ci = ProcessInfo.processInfo.environment["CI"], !ci.isEmpty, ci.lowercased() != "false", ci != "0" {
                XCTFail(message + " (CI is set, so this is a failure, not a skip)")
            }
            throw XCTSkip(message)
        }
        return url
    }

    /// A configured, not yet started process running `nsde arguments` (no OpenMP relaunch), with
    /// `extra` added to the environment.
    public static func process(_ arguments: [String], stdout: Pipe, stderr: Pipe, environment extra: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = try require()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GOMP_SPINCOUNT"] = environment["GOMP_SPINCOUNT"] ?? "10000"
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = stderr
        return process
    }

    /// Runs `nsde arguments` to completion; returns (exit status, stdout, stderr).
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = Pipe(), err = Pipe()
        return try complete(try process(arguments, stdout: out, stderr: err, environment: environment), out, err)
    }

    /// Runs an MPI job of `nsde` processes to completion with Open MPI's `mpirun` (as root too:
    /// `--allow-run-as-root`; more processes than cores: `--oversubscribe`): process r runs
    /// `nsde perRank[r]` (the same arguments for all in the usual case). Fails the test when
    /// `mpirun` is missing (`scripts/ensure-deps.sh` installs it).
    public static func runUnderMPI(perRank: [[String]]) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = Pipe(), err = Pipe()
        return try complete(try mpiProcess(perRank: perRank, stdout: out, stderr: err), out, err)
    }

    /// A configured, not yet started `mpirun` process for ``runUnderMPI(perRank:)``.
    public static func mpiProcess(perRank: [[String]], stdout: Pipe, stderr: Pipe) throws -> Process {
        let nsde = try require()
        let mpirun = try XCTUnwrap(["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                   "mpirun not found: run scripts/ensure-deps.sh (Debian package openmpi-bin)")
        var arguments = ["--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader"]
        for (r, rankArguments) in perRank.enumerated() {
            if r > 0 { arguments.append(":") }
            arguments += ["-np", "1", nsde.path] + rankArguments
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GOMP_SPINCOUNT"] = environment["GOMP_SPINCOUNT"] ?? "10000"
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = stderr
        return process
    }

    /// Starts `process` and waits for it, reading both pipes at once so neither fills up and
    /// blocks the child.
    private static func complete(_ process: Process, _ out: Pipe, _ err: Pipe) throws -> (status: Int32, stdout: String, stderr: String) {
        try process.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let errData = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
    }

    /// Parses `stdout` as exactly one JSON object on one line.
    public static func object(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let lines = stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "stdout must be one JSON line: \(stdout)", file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], file: file, line: line)
    }
}
