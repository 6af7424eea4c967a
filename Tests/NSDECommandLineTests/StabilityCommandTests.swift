import Foundation
import NeuralSDE
import NSDETestSupport
import XCTest

/// `nsde stability toy|model`: the `--json` contracts, `--plot`, and error messages.
final class StabilityCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nsde-stability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Runs `nsde arguments --threads 1`; returns (exit status, stdout, stderr).
    func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let r = try NSDEExecutable.run(arguments + ["--threads", "1"])
        return (r.status, r.stdout, r.stderr)
    }

    /// Parses stdout as exactly one JSON object on one line.
    func object(_ stdout: String) throws -> [String: Any] { try NSDEExecutable.object(stdout) }

    static let toy = ["stability", "toy", "--sigma", "1", "--t-end", "5", "--paths", "200", "--steps", "50", "--seed", "3"]
    static let toyKeys = ["sigma", "t_end", "paths", "steps", "seed", "dt", "scheme", "renormalize_every", "lyapunov", "stderr",
                          "theory", "discrete_theory", "bias", "bias_note", "stable"]

    /// `nsde stability toy --json`: exactly the contract keys, the theory 1 − σ²/2, an estimate
    /// within 4 standard errors of it, and the settings echoed.
    func testToyJSONContract() throws {
        let (status, stdout, stderr) = try run(Self.toy + ["--json"])
        XCTAssertEqual(status, 0, stderr)
        let json = try object(stdout)
        XCTAssertEqual(Set(json.keys), Set(Self.toyKeys))
        let theory = try XCTUnwrap(json["theory"] as? Double), lyapunov = try XCTUnwrap(json["lyapunov"] as? Double)
        let stderrValue = try XCTUnwrap(json["stderr"] as? Double)
        XCTAssertEqual(theory, 0.5, accuracy: 1e-12)
        XCTAssertEqual(lyapunov, theory, accuracy: 4 * stderrValue)
        XCTAssertEqual(json["scheme"] as? String, "exact")
        XCTAssertEqual(json["paths"] as? Int, 200)
        XCTAssertEqual(json["steps"] as? Int, 50)
        XCTAssertEqual(json["seed"] as? Int, 3)
        XCTAssertEqual(json["t_end"] as? Double, 5)
        XCTAssertEqual(json["stable"] as? Bool, false)
    }

    /// Euler–Maruyama reports its discrete-map exponent and bias; σ = 2.8 is stable.
    func testToyEulerMaruyamaReportsItsBias() throws {
        let (status, stdout, stderr) = try run(["stability", "toy", "--sigma", "2.8", "--t-end", "5", "--paths", "100",
                                                "--steps", "5000", "--scheme", "euler-maruyama", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let json = try object(stdout)
        let bias = try XCTUnwrap(json["bias"] as? Double)
        XCTAssertEqual(bias, ToyBias.at2p8dt1e3, accuracy: 1e-4)
        XCTAssertEqual(json["stable"] as? Bool, true)
    }

    /// --plot writes a valid SVG of λ against σ, adds `sweep` and `plot` to the JSON and keeps
    /// stdout to the one object.
    func testToyPlotWritesTheSweep() throws {
        let path = directory.appendingPathComponent("lyapunov & σ.svg").path
        let (status, stdout, stderr) = try run(Self.toy + ["--plot", path, "--plot-sigmas", "0,1.5, 3", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let json = try object(stdout)
        XCTAssertEqual(Set(json.keys), Set(Self.toyKeys + ["sweep", "plot"]))
        XCTAssertEqual(json["plot"] as? String, path)
        let sweep = try XCTUnwrap(json["sweep"] as? [[String: Any]])
        XCTAssertEqual(sweep.compactMap { $0["sigma"] as? Double }, [0, 1.5, 3])
        let xml = XMLCheck.parse(try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertNil(xml.error)
        XCTAssertTrue(xml.texts.contains("theory 1 − σ²/2"), "\(xml.texts)")
    }

    /// Bad arguments fail with a clear message and nothing on stdout.
    func testToyBadArgumentsAreClearErrors() throws {
        let (status, stdout, stderr) = try run(["stability", "toy", "--scheme", "rk4"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        XCTAssertTrue(stderr.contains("rk4"), stderr)
        let (status2, _, stderr2) = try run(["stability", "toy", "--plot-sigmas", "1,x"])
        XCTAssertNotEqual(status2, 0)
        XCTAssertTrue(stderr2.contains("--plot-sigmas must be a comma-separated list"), stderr2)
    }

    /// `nsde stability model --json` on a tiny random model and random images: one result per σ
    /// with the per-σ contract keys.
    func testModelJSONContract() throws {
        let (status, stdout, stderr) = try run(["stability", "model", "--width", "4", "--dataset", "random", "--images", "2",
                                                "--image-size", "10", "--sigmas", "0,1", "--t-end", "1", "--transient", "0.2",
                                                "--lipschitz-points", "2", "--power-iterations", "3", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let json = try object(stdout)
        for key in ["model", "width", "source", "dataset", "noise", "noise_shape", "drift_time", "t_end", "dt", "steps",
                    "lipschitz_method", "results", "init_seed"] {
            XCTAssertNotNil(json[key], "missing \(key)")
        }
        XCTAssertEqual(json["source"] as? String, "random-init")
        XCTAssertEqual(json["noise"] as? String, "multiplicative")
        XCTAssertEqual(json["steps"] as? Int, 11)
        let results = try XCTUnwrap(json["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 2)
        for (r, sigma) in zip(results, [0.0, 1.0]) {
            for key in ["sigma", "lyapunov", "stderr", "lipschitz", "one_sided_lipschitz", "corollary_applies",
                        "corollary_condition_holds", "theorem_bound", "stable", "perturbation_noise"] {
                XCTAssertTrue(r.keys.contains(key), "missing \(key)")
            }
            XCTAssertEqual(r["sigma"] as? Double, sigma)
            XCTAssertNotNil(r["lyapunov"] as? Double)
            XCTAssertEqual(r["corollary_applies"] as? Bool, false)
        }
        XCTAssertEqual(results[1]["perturbation_noise"] as? String, "multiplicative-diagonal")
    }

    /// `--model-file FILE` reads a state_dict without nsde metadata (architecture from --model,
    /// --width, --noise); `--weights FILE`, its older spelling, does the same with the same JSON
    /// (`source` "weights", the path in `weights`); giving both spellings is an error.
    func testModelFileAndItsOlderSpellingWeights() throws {
        let file = directory.appendingPathComponent("model.safetensors")
        try SafeTensors.write(ModelConfiguration(inChannels: 1, classes: 10, width: 4).makeModel().stateDict(), to: file)
        let common = ["stability", "model", "--width", "4", "--dataset", "random", "--images", "1", "--image-size", "8",
                      "--sigmas", "0", "--t-end", "1", "--transient", "0.2", "--lipschitz-points", "0", "--json"]
        var reports: [[String: Any]] = []
        for spelling in ["--model-file", "--weights"] {
            let (status, stdout, stderr) = try run(common + [spelling, file.path])
            XCTAssertEqual(status, 0, "\(spelling): \(stderr)")
            let json = try object(stdout)
            XCTAssertEqual(json["source"] as? String, "weights", spelling)
            XCTAssertEqual(json["weights"] as? String, file.standardizedFileURL.path, spelling)
            XCTAssertTrue(json["checkpoint"] is NSNull, spelling)
            reports.append(json)
        }
        let lyapunov = reports.map { (($0["results"] as? [[String: Any]])?.first?["lyapunov"] as? Double) }
        XCTAssertNotNil(lyapunov[0])
        XCTAssertEqual(lyapunov[0], lyapunov[1])
        let (status, stdout, stderr) = try run(common + ["--model-file", file.path, "--weights", file.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        XCTAssertTrue(stderr.contains("--weights is the older spelling of --model-file: give one of them, not both"), stderr)
    }

    /// Model options are checked before any work.
    func testModelBadArgumentsAreClearErrors() throws {
        let (status, stdout, stderr) = try run(["stability", "model", "--sigma", "1", "--sigmas", "0,1"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.isEmpty)
        XCTAssertTrue(stderr.contains("give --sigma or --sigmas, not both"), stderr)
        let (status2, _, stderr2) = try run(["stability", "model", "--noise", "brownian"])
        XCTAssertNotEqual(status2, 0)
        XCTAssertTrue(stderr2.contains("The value 'brownian' is invalid for '--noise <noise>'. Please provide one of "
                                       + "'ode', 'additive', 'multiplicative', 'dropout' or 'learned'."), stderr2)
    }
}

/// E log|1 + Δt + σΔW|/Δt − (1 − σ²/2) at σ = 2.8, Δt = 10⁻³ (numpy quadrature).
private enum ToyBias { static let at2p8dt1e3 = -0.0398363781 }
