import Foundation
import NSDEData
import NSDETensor
import XCTest

/// A two-class image task for training tests: grey `size x size` images whose left half (class
/// 0) or right half (class 1) is bright, with uniform pixel noise. Learnable in seconds by a
/// tiny classifier (the stem's edge detectors see which way the bright/dark edge runs).
enum SyntheticImages {
    /// `count` images, classes alternating, pixels drawn from a Philox generator with `seed`.
    static func dataset(count: Int, size: Int = 8, seed: UInt64, classNames: [String] = ["left", "right"]) -> InMemoryImageDataset {
        var generator = PhiloxGenerator(seed: seed, stream: 77)
        var pixels = [UInt8](), labels = [Int]()
        pixels.reserveCapacity(count * size * size)
        for i in 0..<count {
            let label = i % 2
            labels.append(label)
            for _ in 0..<size {
                for x in 0..<size {
                    let bright = (x < size / 2) == (label == 0)
                    let value = (bright ? 0.7 : 0.25) + 0.3 * (generator.nextUniform() - 0.5)
                    pixels.append(UInt8(max(0, min(255, (value * 255).rounded()))))
                }
            }
        }
        return InMemoryImageDataset(pixels: pixels, labels: labels, imageShape: [1, size, size], classes: classNames)
    }

    /// Writes a train and a test split in the MNIST layout (`train-images-idx3-ubyte`, …,
    /// uncompressed) into `directory`, for `nsde … --dataset mnist --data-dir directory`. Labels
    /// are 0 and 1 of MNIST's ten classes.
    static func writeMNISTLayout(to directory: URL, train: Int, test: Int, size: Int = 8) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (prefix, count, seed) in [("train", train, UInt64(1)), ("t10k", test, UInt64(2))] {
            let d = dataset(count: count, size: size, seed: seed)
            try IDX.write(IDXArray(uint8: d.pixels, shape: [count, size, size]),
                          to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try IDX.write(IDXArray(uint8: d.labels.map(UInt8.init), shape: [count]),
                          to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }
}

/// Runs the built `nsde` executable (next to the test bundle, as in `CommandLineContractTests`).
enum NSDEExecutable {
    /// The executable's location: the directory of the `.xctest` bundle.
    static var url: URL {
        var dir = Bundle.main.bundleURL
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dir = bundle.bundleURL.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("nsde")
    }

    /// Skips the test when `nsde` is not built, except under CI (`CI` set), where that fails.
    static func require() throws -> URL {
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
    static func process(_ arguments: [String], stdout: Pipe, stderr: Pipe, environment extra: [String: String] = [:]) throws -> Process {
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
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = Pipe(), err = Pipe()
        let process = try process(arguments, stdout: out, stderr: err, environment: environment)
        try process.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
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
    static func object(_ stdout: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let lines = stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "stdout must be one JSON line: \(stdout)", file: file, line: line)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], file: file, line: line)
    }
}
