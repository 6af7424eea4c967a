import Foundation
import NSDEData
import NSDETestSupport
import XCTest
@testable import NSDERobustness

/// `nsde corrupt` as a process: the contract scripts rely on (`--input --corruption --severity
/// --out`, same shape out, atomic), `--list`, the CIFAR-10-C directory mode, and one clear error
/// per bad argument.
final class CorruptionCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-corrupt-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs `nsde corrupt` with `arguments`; returns (exit status, stdout, stderr).
    func corrupt(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try NSDEExecutable.run(["corrupt"] + arguments)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes the four test images (`[4, 32, 32, 3]`) to `images.npy`, and their first channel
    /// (`[4, 32, 32]`) to `grey.npy`.
    func writeInputs() throws -> CorruptionBatch {
        let batch = CorruptionBatch(images: CorruptionTestImages.all())
        try NumPy.write(batch.numPyArray, to: URL(fileURLWithPath: path("images.npy")))
        let grey = CorruptionBatch(count: 4, height: 32, width: 32, channels: 1, hasChannelAxis: false,
                                   pixels: CorruptionTestImages.all().flatMap { CorruptionTestImages.grey($0).pixels })
        try NumPy.write(grey.numPyArray, to: URL(fileURLWithPath: path("grey.npy")))
        return batch
    }

    func testListPrintsTheFifteenNames() throws {
        let (status, stdout, _) = try corrupt(["--list"])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(stdout.split(separator: "\n").map(String.init), Corruptions.names)
    }

    func testOneSeverityKeepsShapeMatchesTheLibraryAndIsReproducible() throws {
        let batch = try writeInputs()
        let args = ["--input", path("images.npy"), "--corruption", "snow", "--severity", "3", "--seed", "7"]
        let (status, stdout, stderr) = try corrupt(args + ["--out", path("a.npy")])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertEqual(stdout, "wrote \(path("a.npy")): snow severity 3, 4 image(s) [4, 32, 32, 3] uint8, seed 7\n")
        let a = try NumPy.read(contentsOf: URL(fileURLWithPath: path("a.npy")))
        XCTAssertEqual(a.dtype, .uint8)
        XCTAssertEqual(a.shape, [4, 32, 32, 3])
        XCTAssertEqual(a.data, try batch.corrupted(by: Snow(), severity: 3, seed: 7).pixels)
        XCTAssertEqual(try corrupt(args + ["--out", path("b.npy"), "--threads", "1"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("a.npy"))), try Data(contentsOf: URL(fileURLWithPath: path("b.npy"))))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [])
    }

    func testGreyscaleWithoutChannelAxisKeepsItsShape() throws {
        _ = try writeInputs()
        for name in ["gaussian_noise", "frost", "jpeg_compression"] {
            let (status, _, stderr) = try corrupt(["--input", path("grey.npy"), "--corruption", name, "--severity", "5", "--out", path("g.npy")])
            XCTAssertEqual(status, 0, stderr)
            XCTAssertEqual(try NumPy.read(contentsOf: URL(fileURLWithPath: path("g.npy"))).shape, [4, 32, 32])
        }
    }

    func testAllSeveritiesWritesADirectoryTheLoaderReads() throws {
        let batch = try writeInputs()
        try NumPy.write(NumPyArray([Int64]([2, 7, 1, 8]), shape: [4]), to: URL(fileURLWithPath: path("labels-in.npy")))
        let out = path("c10c")
        let (status, stdout, stderr) = try corrupt(["--input", path("images.npy"), "--all-severities", "--out-dir", out,
                                                    "--corruption", "fog,pixelate", "--labels", path("labels-in.npy"), "--seed", "3", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["corruptions"] as? [String], ["fog", "pixelate"])
        XCTAssertEqual(json["severities"] as? [Int], [1, 2, 3, 4, 5])
        XCTAssertEqual((json["files"] as? [String])?.count, 3)
        XCTAssertTrue(stderr.contains("wrote \(out)/fog.npy"), stderr)
        for s in 1 ... 5 {
            let fog = try CIFAR10C.load(directory: URL(fileURLWithPath: out), corruptionName: "fog", severity: s)
            XCTAssertEqual(fog.labels, [2, 7, 1, 8])
            let expected = try batch.corrupted(by: Fog(), severity: s, seed: 3)
            XCTAssertEqual(fog.pixels[3 * 3072 + 2 * 1024 + 5 * 32 + 9], expected[3][5, 9, 2])
        }
    }

    /// Each bad argument gives one error line naming the problem, a non-zero status, nothing on
    /// stdout, and no output file.
    func testBadArgumentsAreClearErrors() throws {
        _ = try writeInputs()
        try NumPy.write(NumPyArray(dtype: .uint8, shape: [2, 8, 8, 4], data: [UInt8](repeating: 0, count: 512)),
                        to: URL(fileURLWithPath: path("rgba.npy")))
        let base = ["--input", path("images.npy"), "--out", path("x.npy")]
        let cases: [([String], String)] = [
            (base + ["--corruption", "fogg", "--severity", "2"],
             "--corruption: unknown corruption 'fogg' (valid: gaussian_noise, shot_noise, impulse_noise, defocus_blur, glass_blur, motion_blur, zoom_blur, snow, frost, fog, brightness, contrast, elastic_transform, pixelate, jpeg_compression)"),
            (base + ["--corruption", "fog", "--severity", "6"], "--severity must be 1...5, got 6"),
            (base + ["--corruption", "fog"], "--severity K (1...5) is required"),
            (base + ["--severity", "2"], "--corruption NAME is required (valid: gaussian_noise,"),
            (["--input", path("rgba.npy"), "--out", path("x.npy"), "--corruption", "fog", "--severity", "2"],
             "images have shape [2, 8, 8, 4]; expected uint8 [N, H, W, C] with C = 1 or 3, or [N, H, W]"),
            (["--input", path("missing.npy"), "--out", path("x.npy"), "--corruption", "fog", "--severity", "2"], path("missing.npy")),
            (["--input", path("images.npy"), "--all-severities", "--out-dir", path("d"), "--severity", "2"],
             "--severity is not used with --all-severities"),
            (["--input", path("images.npy"), "--all-severities"], "--all-severities needs --out-dir DIR"),
            (["--corruption", "fog", "--severity", "2", "--out", path("x.npy")], "--input FILE.npy is required (or --list)"),
        ]
        for (arguments, message) in cases {
            let (status, stdout, stderr) = try corrupt(arguments)
            XCTAssertNotEqual(status, 0, "\(arguments)")
            XCTAssertEqual(stdout, "", "\(arguments)")
            XCTAssertTrue(stderr.contains(message), "\(arguments): \(stderr)")
            XCTAssertEqual(stderr.components(separatedBy: "Error:").count, 2, "one error: \(stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.npy")))
    }
}
