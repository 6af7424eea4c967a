import ArgumentParser
import Foundation
import NeuralSDE

// MARK: - nsde stability model

extension NSDE.Stability {
    struct ModelExponent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "model",
            abstract: "Measure the top Lyapunov exponent of a classifier's SDE block and check Corollary 3.2.1.",
            discussion: """
            The model comes from --checkpoint DIR (a `nsde train` directory), --model-file FILE.safetensors \
            (a state_dict; its nsde metadata, else --model/--width/--noise, give the architecture), or \
            neither: a randomly initialised --model with --init-seed (the theory holds for any weights). \
            h_0 is the stem's output for the first --images test images of --dataset (`random`: uniform \
            pixels, for machines without the data).

            For each σ in --sigmas, the block dh = f(h) dt + G(h) dB (G from --noise, σ-scaled) is run \
            twice from h_0 and h_0 + ε_0 with the same Brownian path (ε_0 = --perturbation·‖h_0‖ in a \
            random direction) over [0, --t-end] in steps of --dt, ε renormalised every \
            --renormalize-every steps after --transient (Benettin's method). λ = mean over images and \
            --draws noise draws of (1/(T − transient)) Σ log growth, with its standard error.

            The drift's empirical Lipschitz constant L is the largest spectral norm of its Jacobian at \
            --lipschitz-points states of the trajectory, by --power-iterations of power iteration on JᵀJ \
            (forward- and reverse-mode products): a lower bound of the true, global L. The one-sided \
            constant μ = λ_max((J + Jᵀ)/2) is estimated the same way. Corollary 3.2.1 (λ ≤ L − σ²/2, \
            stable if σ² > 2L) covers G = σh with ONE Brownian motion per sample: use --noise \
            multiplicative --noise-shape scalar for its setting; the paper's blocks draw one increment per \
            element (--noise-shape diagonal), which it does not cover. `corollary_condition_holds` is \
            σ² > 2L with the empirical L; `stable` is the measured λ < 0; they may disagree either way.

            --drift-time frozen (default) evaluates the drift at t = --frozen-t (default half the model's \
            horizon), the trained vector field, for as long as --t-end; running feeds it t up to --t-end, \
            far beyond the trained [0, 1]. λ is the exponent of the discretised block (Euler–Maruyama, \
            step --dt): with multiplicative noise about 3σ⁴dt/4 below the continuous one.

            The paper's drift starts with GroupNorm, so f(c·h) = f(h) and its Jacobian scales like 1/‖h‖: the ODE's λ falls towards 0 as --t-end grows (polynomial, not exponential, separation), and multiplicative noise, which shrinks ‖h‖, raises L along the trajectory.
            """)

        enum DriftTimeChoice: String, CaseIterable, ExpressibleByArgument { case frozen, running }

        @OptionGroup var modelSource: ModelSourceOptions
        @Option(help: "Architecture for a random model or weights without nsde metadata (default paper-small).")
        var model: ModelConfiguration.Architecture?
        @Option(help: "Channels of the SDE block for a random model or weights without metadata (default: the paper's, 64 or 256).")
        var width: Int?
        @Option(help: "Noise G of the analysed block (default: the model's, multiplicative for an ODE or random model).")
        var noise: BlockNoise?
        @Option(help: "One Brownian motion per element (diagonal, the paper's blocks) or per sample (scalar: Corollary 3.2.1's m = 1).")
        var noiseShape: PaperBlockStability.NoiseShape = .diagonal
        @Option(help: "σ to compare with σ = 0 (dimensionless, per √time; default: the model's σ, else 1). Shorthand for --sigmas 0,S.")
        var sigma: Float?
        @Option(help: ArgumentHelp("Comma-separated σ values, each with the same drift (default 0 and --sigma).", valueName: "s,s,..."))
        var sigmas: String?
        @Option(help: "Seed of a randomly initialised model's weights.")
        var initSeed: UInt64 = 0
        @Option(help: "Dataset of h_0, or random: uniform pixels (default: the checkpoint's, else fashion-mnist).")
        var dataset: InitialStateSource?
        @Option(help: ArgumentHelp("Directory of the dataset's files (default: its standard place).", valueName: "dir"))
        var dataDir: String?
        @Option(help: "Number of test images (the first ones) giving h_0.")
        var images: Int = 4
        @Option(help: "Image side in pixels for --dataset random (channels from the model).")
        var imageSize: Int = 28
        @Option(help: "Horizon T of the Lyapunov run, model time units (the block itself uses 1).")
        var tEnd: Double = 10
        @Option(help: "Solver step, model time units (default: the model's, horizon/steps = 1/11).")
        var dt: Double?
        @Option(help: "Time discarded before counting growth (lets ε align with the most expanding direction), model time units.")
        var transient: Double = 1
        @Option(help: "Solver steps between renormalisations of ε.")
        var renormalizeEvery: Int = 1
        @Option(help: "Size of ε relative to ‖h‖ per image (0 < δ ≤ 0.1).")
        var perturbation: Double = 1e-3
        @Option(help: "Independent Brownian paths per image (one when σ = 0).")
        var draws: Int = 2
        @Option(help: "Seed of the Brownian paths, perturbation directions and power-iteration starts.")
        var seed: UInt64 = 0
        @Option(help: "SDE solver (default: the model's, euler-maruyama); one that carries no state between steps.")
        var solver: SolverKind?
        @Option(help: "When the drift reads its time input: frozen (at --frozen-t) or running (t up to --t-end).")
        var driftTime: DriftTimeChoice = .frozen
        @Option(help: "The frozen time t*, model time units (default: half the model's horizon, 0.5).")
        var frozenT: Double?
        @Option(help: "Trajectory states where the drift's Lipschitz constant is estimated (0: skip it and the bound).")
        var lipschitzPoints: Int = 3
        @Option(help: "Power iterations per state for the Lipschitz constants.")
        var powerIterations: Int = 10
        @Flag(help: "Print one JSON object: the settings and `results`, per σ: lyapunov, stderr, lipschitz, one_sided_lipschitz, corollary_applies, corollary_condition_holds, theorem_bound, stable, …")
        var json = false
        @OptionGroup var threadOptions: ThreadOptions

        func validate() throws {
            if modelSource.givenCount > 1 {
                throw ValidationError("give at most one of --checkpoint DIR and --model-file FILE (--weights FILE)")
            }
            if sigma != nil && sigmas != nil { throw ValidationError("give --sigma or --sigmas, not both") }
            if let sigma, !(sigma.isFinite && sigma >= 0) { throw ValidationError("--sigma must be a finite number >= 0, got \(sigma)") }
            if let sigmas, parseSigmaList(sigmas) == nil {
                throw ValidationError("--sigmas must be a comma-separated list of non-negative numbers, got '\(sigmas)'")
            }
            if let width, width < 1 { throw ValidationError("--width must be positive, got \(width)") }
            guard images >= 1 else { throw ValidationError("--images must be positive, got \(images)") }
            guard imageSize >= 3, imageSize <= 1_024 else { throw ValidationError("--image-size must be 3...1024, got \(imageSize)") }
            guard tEnd.isFinite, tEnd > 0 else { throw ValidationError("--t-end must be positive, got \(tEnd)") }
            if let dt, !(dt.isFinite && dt > 0 && dt <= tEnd) { throw ValidationError("--dt must be in (0, --t-end], got \(dt)") }
            guard transient.isFinite, transient >= 0, transient < tEnd else {
                throw ValidationError("--transient must be in [0, --t-end), got \(transient)")
            }
            guard renormalizeEvery >= 1 else { throw ValidationError("--renormalize-every must be at least 1, got \(renormalizeEvery)") }
            guard perturbation > 0, perturbation <= 0.1 else { throw ValidationError("--perturbation must be in (0, 0.1], got \(perturbation)") }
            guard draws >= 1 else { throw ValidationError("--draws must be at least 1, got \(draws)") }
            if let frozenT, !frozenT.isFinite { throw ValidationError("--frozen-t must be finite") }
            guard lipschitzPoints >= 0 else { throw ValidationError("--lipschitz-points must be >= 0, got \(lipschitzPoints)") }
            guard powerIterations >= 1 else { throw ValidationError("--power-iterations must be at least 1, got \(powerIterations)") }
        }

        /// The model, its configuration, where it came from and the dataset it belongs to.
        func run() throws {
            try threadOptions.apply()
            let start = Date()
            let (net, config, source, path, checkpointDataset) = try loadModel()

            // h_0's images.
            let datasetName = dataset?.defaultValueDescription ?? checkpointDataset ?? DatasetName.fashionMNIST.rawValue
            let pixels: Tensor
            if dataset == .random {
                guard imageSize >= config.minimumImageSide else {
                    throw ValidationError("--image-size \(imageSize) is too small for \(config.architecture.rawValue): expected at least \(config.minimumImageSide)")
                }
                pixels = Tensor.randomUniform([images, config.inChannels, imageSize, imageSize], seed: seed, stream: 0x1A6E)
            } else {
                let test = try TrainingData.load(datasetName, split: .test, dataDirectory: dataDir)
                guard test.imageShape[0] == config.inChannels else {
                    throw ValidationError("the model takes \(config.inChannels)-channel images but \(datasetName) has \(test.imageShape[0]) channels")
                }
                guard test.imageShape.count == 3, test.imageShape[1] >= config.minimumImageSide, test.imageShape[2] >= config.minimumImageSide else {
                    throw ValidationError("the \(datasetName) test images (\(test.imageShape)) are too small for \(config.architecture.rawValue): "
                                          + "expected at least \(config.minimumImageSide)x\(config.minimumImageSide) pixels")
                }
                pixels = test.batch(range: 0..<min(images, test.count)).images
            }

            // The analysis.
            let analysedNoise = noise ?? (config.noise == .ode ? .multiplicative : config.noise)
            let compareSigma = sigma ?? (config.sigma > 0 ? config.sigma : 1)
            let sigmaList = sigmas.flatMap(parseSigmaList) ?? (compareSigma == 0 ? [0] : [0, compareSigma])
            let step = dt ?? Double(config.horizon) / Double(config.steps)
            let frozenTime = frozenT ?? Double(config.horizon) / 2
            let estimator = LyapunovEstimator(tEnd: tEnd, dt: step, transient: transient, renormalizeEvery: renormalizeEvery,
                                              perturbation: perturbation, draws: draws, seed: seed, solver: config.solver)
            let study = PaperBlockStability(
                sigmas: sigmaList, noise: analysedNoise, noiseShape: noiseShape,
                driftTime: driftTime == .frozen ? .frozen(frozenTime) : .running,
                analysis: StabilityAnalysis(estimator: estimator,
                                            lipschitz: LipschitzEstimator(iterations: powerIterations, oneSided: true, seed: seed),
                                            lipschitzPoints: lipschitzPoints))
            let h0 = noGrad { net.embed(pixels) }
            status("Stability of the \(config.architecture.rawValue) block (width \(config.width), \(source)): h_0 \(h0.shape) from "
                   + "\(h0.shape[0]) \(datasetName) images, \(analysedNoise.rawValue) noise (\(noiseShape.rawValue)), σ ∈ \(sigmaList.map { Double($0) }), "
                   + "T = \(tEnd), dt = \(estimator.effectiveStep), \(Parallel.threadCount) threads")
            let results = try study.run(drift: net.drift, diffusion: net.diffusion, from: h0) { r in
                status(String(format: "  σ = %g: λ = %.4f ± %.4f", r.sigma, r.estimate.lyapunov, r.estimate.standardError)
                       + (r.lipschitz.map { String(format: ", L = %.3f", $0.lipschitz) } ?? "") + String(format: " (%.1f s)", r.seconds))
            }

            let report = Report(
                model: config.architecture.rawValue, width: config.width, parameters: net.parameterCount, source: source,
                checkpoint: modelSource.checkpoint != nil ? path : nil, weights: modelSource.file != nil ? path : nil,
                init_seed: source == "random-init" ? initSeed : nil, trained_noise: config.noise.rawValue,
                trained_sigma: config.sigma, dataset: datasetName, images: h0.shape[0], state_shape: Array(h0.shape.dropFirst()),
                noise: analysedNoise.rawValue, noise_shape: noiseShape.rawValue, drift_time: driftTime.rawValue,
                frozen_t: driftTime == .frozen ? frozenTime : nil, t_end: tEnd, dt: estimator.effectiveStep,
                steps: estimator.stepCount, transient: estimator.countedTime < tEnd ? tEnd - estimator.countedTime : 0,
                renormalize_every: renormalizeEvery, perturbation: perturbation, draws: draws, seed: seed,
                solver: config.solver.rawValue, lipschitz_points: lipschitzPoints, power_iterations: powerIterations,
                lipschitz_method: LipschitzEstimate.method,
                results: results.map(SigmaReport.init), seconds: Date().timeIntervalSince(start))
            if json { try printJSON(report); return }

            print("Top Lyapunov exponent of the \(config.architecture.rawValue) SDE block (width \(config.width), \(source); "
                  + "\(analysedNoise.rawValue) noise, \(noiseShape.rawValue) Brownian motion; drift time \(driftTime.rawValue)"
                  + (driftTime == .frozen ? String(format: " at t = %g", frozenTime) : "") + ")")
            print(String(format: "  h_0 from %d %@ images, T = %g (counted %g), dt = %.4g, %d draws, ε = %g·‖h‖",
                         h0.shape[0], datasetName, tEnd, estimator.countedTime, estimator.effectiveStep, draws, perturbation))
            print("       σ        λ ± SE            L      μ (1-sided)  bound   corollary  stable")
            for r in report.results {
                func f(_ x: Double?, _ w: Int = 8) -> String { x.map { String(format: "%\(w).3f", $0) } ?? String(repeating: " ", count: w - 1) + "-" }
                let corollary = r.corollary_applies ? (r.corollary_condition_holds ? "holds" : "fails") : "n/a"
                print(String(format: "  %6g  %8.4f ± %-7.4f", Double(r.sigma), r.lyapunov ?? .nan, r.stderr ?? .nan)
                      + " \(f(r.lipschitz))  \(f(r.one_sided_lipschitz))  \(f(r.theorem_bound))  \(corollary.padding(toLength: 9, withPad: " ", startingAt: 0))  \(r.stable ? "yes" : "no")")
            }
            if let note = results.last?.bound?.note { print("  note: " + note) }
            print("  L is a lower bound (max over \(lipschitzPoints) trajectory states of the local Jacobian norm); the bound uses it.")
        }

        // MARK: Report

        struct SigmaReport: Encodable {
            let sigma: Float, lyapunov: Double?, stderr: Double?, lyapunov_min: Double?, lyapunov_max: Double?, samples: Int
            let lipschitz: Double?, lipschitz_mean: Double?, one_sided_lipschitz: Double?
            let perturbation_noise: String, corollary_applies: Bool, corollary_condition_holds: Bool
            let theorem_bound: Double?, theorem_bound_one_sided: Double?, within_bound: Bool?
            let stable: Bool, stable_beyond_2se: Bool, note: String?, precision_floor_hits: Int, seconds: Double

            init(_ r: StabilityResult) {
                sigma = Float(r.sigma)
                lyapunov = finite(r.estimate.lyapunov); stderr = finite(r.estimate.standardError)
                lyapunov_min = finite(r.estimate.minimum); lyapunov_max = finite(r.estimate.maximum)
                samples = r.estimate.samples.count
                lipschitz = r.lipschitz.flatMap { finite($0.lipschitz) }
                lipschitz_mean = r.lipschitz.flatMap { finite($0.meanLocal) }
                one_sided_lipschitz = r.lipschitz?.oneSided.flatMap(finite)
                perturbation_noise = r.noise.rawValue
                corollary_applies = r.bound?.corollaryApplies ?? (r.noise == .multiplicativeScalar && r.sigma > 0)
                corollary_condition_holds = r.bound?.corollaryConditionHolds ?? false
                theorem_bound = r.bound?.bound.flatMap(finite); theorem_bound_one_sided = r.bound?.oneSidedBound.flatMap(finite)
                within_bound = r.isWithinBound
                stable = r.isStable; stable_beyond_2se = r.isStableBeyondTwoStandardErrors
                note = r.bound?.note
                precision_floor_hits = r.estimate.precisionFloorHits
                seconds = r.seconds
            }

            func encode(to encoder: Encoder) throws {
                // Every key is always present (null when there is no value).
                enum K: String, CodingKey {
                    case sigma, lyapunov, stderr, lyapunov_min, lyapunov_max, samples, lipschitz, lipschitz_mean, one_sided_lipschitz
                    case perturbation_noise, corollary_applies, corollary_condition_holds, theorem_bound, theorem_bound_one_sided
                    case within_bound, stable, stable_beyond_2se, note, precision_floor_hits, seconds
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(sigma, forKey: .sigma); try c.encode(lyapunov, forKey: .lyapunov); try c.encode(stderr, forKey: .stderr)
                try c.encode(lyapunov_min, forKey: .lyapunov_min); try c.encode(lyapunov_max, forKey: .lyapunov_max)
                try c.encode(samples, forKey: .samples); try c.encode(lipschitz, forKey: .lipschitz)
                try c.encode(lipschitz_mean, forKey: .lipschitz_mean); try c.encode(one_sided_lipschitz, forKey: .one_sided_lipschitz)
                try c.encode(perturbation_noise, forKey: .perturbation_noise); try c.encode(corollary_applies, forKey: .corollary_applies)
                try c.encode(corollary_condition_holds, forKey: .corollary_condition_holds)
                try c.encode(theorem_bound, forKey: .theorem_bound); try c.encode(theorem_bound_one_sided, forKey: .theorem_bound_one_sided)
                try c.encode(within_bound, forKey: .within_bound); try c.encode(stable, forKey: .stable)
                try c.encode(stable_beyond_2se, forKey: .stable_beyond_2se); try c.encode(note, forKey: .note)
                try c.encode(precision_floor_hits, forKey: .precision_floor_hits); try c.encode(seconds, forKey: .seconds)
            }
        }

        struct Report: Encodable {
            let model: String, width: Int, parameters: Int, source: String, checkpoint: String?, weights: String?, init_seed: UInt64?
            let trained_noise: String, trained_sigma: Float
            let dataset: String, images: Int, state_shape: [Int]
            let noise: String, noise_shape: String, drift_time: String, frozen_t: Double?
            let t_end: Double, dt: Double, steps: Int, transient: Double, renormalize_every: Int, perturbation: Double
            let draws: Int, seed: UInt64, solver: String
            let lipschitz_points: Int, power_iterations: Int, lipschitz_method: String
            let results: [SigmaReport]
            let seconds: Double

            func encode(to encoder: Encoder) throws {
                enum K: String, CodingKey {
                    case model, width, parameters, source, checkpoint, weights, init_seed, trained_noise, trained_sigma
                    case dataset, images, state_shape, noise, noise_shape, drift_time, frozen_t, t_end, dt, steps, transient
                    case renormalize_every, perturbation, draws, seed, solver, lipschitz_points, power_iterations, lipschitz_method
                    case results, seconds
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(model, forKey: .model); try c.encode(width, forKey: .width); try c.encode(parameters, forKey: .parameters)
                try c.encode(source, forKey: .source); try c.encode(checkpoint, forKey: .checkpoint); try c.encode(weights, forKey: .weights)
                try c.encode(init_seed, forKey: .init_seed); try c.encode(trained_noise, forKey: .trained_noise)
                try c.encode(trained_sigma, forKey: .trained_sigma); try c.encode(dataset, forKey: .dataset)
                try c.encode(images, forKey: .images); try c.encode(state_shape, forKey: .state_shape); try c.encode(noise, forKey: .noise)
                try c.encode(noise_shape, forKey: .noise_shape); try c.encode(drift_time, forKey: .drift_time)
                try c.encode(frozen_t, forKey: .frozen_t); try c.encode(t_end, forKey: .t_end); try c.encode(dt, forKey: .dt)
                try c.encode(steps, forKey: .steps); try c.encode(transient, forKey: .transient)
                try c.encode(renormalize_every, forKey: .renormalize_every); try c.encode(perturbation, forKey: .perturbation)
                try c.encode(draws, forKey: .draws); try c.encode(seed, forKey: .seed); try c.encode(solver, forKey: .solver)
                try c.encode(lipschitz_points, forKey: .lipschitz_points); try c.encode(power_iterations, forKey: .power_iterations)
                try c.encode(lipschitz_method, forKey: .lipschitz_method); try c.encode(results, forKey: .results)
                try c.encode(seconds, forKey: .seconds)
            }
        }
    }
}
