import Foundation
import NSDECore
import NSDEPlot
import NSDETensor

/// Benettin's estimator of the top Lyapunov exponent of an SDE along its solutions, with shared
/// noise: λ = lim (1/t) log‖ε_t‖ for ε_t = h̃_t − h_t, two solutions from nearby initial values
/// driven by the same Brownian path (the paper's eq. 12–14).
///
/// For each noise draw r = 0..<``draws`` and each sample i of the batch:
/// 1. h₀ is the given state; ε₀ = δ·‖h₀ᵢ‖·u with u a random unit direction (Philox, key
///    ``seed``, independent of the Brownian paths), δ = ``perturbation``;
/// 2. h and h̃ = h + ε take the same solver steps of Δt with the same increments (a
///    ``BrownianGrid`` of key ``seed`` and stream r);
/// 3. every ``renormalizeEvery`` steps after the ``transient``, d = ‖h̃ᵢ − hᵢ‖ is measured, log(d/d₀)
///    added to the sample's sum, and h̃ᵢ reset to hᵢ + (δ‖hᵢ‖/d)(h̃ᵢ − hᵢ) (Benettin's
///    renormalisation: the perturbation stays small, so it follows the linearised dynamics, and
///    never under- or overflows);
/// 4. λ̂ᵢ,ᵣ = (sum of logs) / (T − transient).
///
/// The estimate is the mean of λ̂ over samples and draws, with its standard error (sample standard
/// deviation / √count). Without noise (``SDE/hasNoise`` false) every draw would repeat the same
/// path, so one draw is used.
///
/// What the number means:
/// - It is the exponent of the **discretised** map (solver, Δt). For Euler–Maruyama with
///   multiplicative noise the map's exponent is below the continuous one by about ¾σ⁴Δt per unit
///   time (see ``ToyLyapunov/eulerMaruyamaExponent(drift:sigma:dt:)``).
/// - At finite T it is biased by O(1/(T − transient)): the initial direction is random, not the
///   most expanding one; the ``transient`` lets it align before counting.
/// - ε is renormalised to δ relative to ‖hᵢ‖; δ = 10⁻³ keeps it in the linear regime while
///   float32 still resolves h̃ − h (relative rounding of a state is 6·10⁻⁸).
///
/// - Note: Assumes the SDE treats the samples of a batch independently (true for every SDE in
///   this library: GroupNorm normalises per sample). Solvers that carry state between steps
///   (reversible Heun) are not supported: renormalising h̃ would invalidate that state.
/// - Note: It steps the solver itself (``SDESolver/step(_:from:to:state:increment:solverState:)``)
///   instead of calling ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)``: h and h̃ must
///   take each step with the same increment and h̃ is reset between steps, which one solve cannot
///   do. The solver is checked by the same ``SDESolver/checkSupport(of:)`` as `sdeint`.
///
/// References: Benettin, Galgani, Giorgilli & Strelcyn (1980), Meccanica 15, 9–30; Arnold (1998),
/// "Random Dynamical Systems", ch. 3 (multiplicative ergodic theorem); Liu et al. (2019), "Neural
/// SDE", §3.3.
public struct LyapunovEstimator: Equatable, Sendable {
    /// The horizon T > 0, model time units.
    public var tEnd: Double
    /// The requested step (model time units); the steps used are N = ⌈T/dt⌉ of T/N
    /// (``effectiveStep``).
    public var dt: Double
    /// Time discarded at the start, in [0, T) model time units (default 0): the perturbation is
    /// renormalised at its end and growth is only counted after it.
    public var transient: Double
    /// Solver steps between renormalisations (≥ 1; default 1).
    public var renormalizeEvery: Int
    /// δ > 0, the perturbation's size relative to ‖hᵢ‖ (default 10⁻³); δ itself where ‖hᵢ‖ = 0.
    public var perturbation: Double
    /// Independent Brownian paths per sample (≥ 1; default 1; one is used when the SDE has no noise).
    public var draws: Int
    /// The Philox key of the Brownian paths (streams 0..<draws) and of the initial directions.
    public var seed: UInt64
    /// The one-step method (default Euler–Maruyama, the paper's).
    public var solver: SolverKind

    /// Creates the estimator's settings; checked by ``validate()``.
    public init(tEnd: Double = 10, dt: Double = 0.01, transient: Double = 0, renormalizeEvery: Int = 1,
                perturbation: Double = 1e-3, draws: Int = 1, seed: UInt64 = 0, solver: SolverKind = .eulerMaruyama) {
        self.tEnd = tEnd
        self.dt = dt
        self.transient = transient
        self.renormalizeEvery = renormalizeEvery
        self.perturbation = perturbation
        self.draws = draws
        self.seed = seed
        self.solver = solver
    }

    /// N = ⌈T/dt⌉ (dt within 10⁻⁹ relative of dividing T counts as dividing it).
    public var stepCount: Int { Swift.max(1, Int((tEnd / dt * (1 - 1e-9)).rounded(.up))) }
    /// The step used, T/N.
    public var effectiveStep: Double { tEnd / Double(stepCount) }
    /// Steps in the transient, round(transient / effectiveStep).
    public var transientSteps: Int { Int((transient / effectiveStep).rounded()) }
    /// The time over which growth is counted, (N − transient steps)·Δt.
    public var countedTime: Double { Double(stepCount - transientSteps) * effectiveStep }

    /// Throws unless T and dt are finite and positive, 0 ≤ transient with at least one counted
    /// step after it, renormalizeEvery ≥ 1, 0 < δ ≤ 0.1, draws ≥ 1 and the solver carries no state.
    ///
    /// - Throws: ``StabilityError/invalidParameter(name:value:expected:)``.
    public func validate() throws(StabilityError) {
        guard tEnd.isFinite, tEnd > 0 else { throw .invalidParameter(name: "t-end", value: "\(tEnd)", expected: "a finite value > 0") }
        guard dt.isFinite, dt > 0, dt <= tEnd else {
            throw .invalidParameter(name: "dt", value: "\(dt)", expected: "a finite value in (0, T = \(tEnd)]")
        }
        guard transient.isFinite, transient >= 0, transientSteps < stepCount else {
            throw .invalidParameter(name: "transient", value: "\(transient)", expected: "a time in [0, T) leaving at least one step (T = \(tEnd))")
        }
        guard renormalizeEvery >= 1 else {
            throw .invalidParameter(name: "renormalize-every", value: "\(renormalizeEvery)", expected: "at least 1 step")
        }
        guard perturbation.isFinite, perturbation > 0, perturbation <= 0.1 else {
            throw .invalidParameter(name: "perturbation", value: "\(perturbation)", expected: "a relative size in (0, 0.1]")
        }
        guard draws >= 1 else { throw .invalidParameter(name: "draws", value: "\(draws)", expected: "at least 1") }
        if type(of: solver.solver).carriesState {
            throw .invalidParameter(name: "solver", value: solver.rawValue,
                                    expected: "a solver that carries no state between steps (renormalisation would invalidate it)")
        }
    }

    // MARK: - Estimation

    /// Estimates the top Lyapunov exponent of `sde` from the states `y0`.
    ///
    /// - Parameters:
    ///   - sde: the SDE; its samples must evolve independently (see the type's note).
    ///   - y0: initial states `[batch, …]`, model units.
    ///   - recordPoints: how many states of the reference solution h (first draw) to return, at
    ///     evenly spaced steps from 0 to N (0: none; default 0); for ``LipschitzEstimator``.
    /// - Returns: see ``LyapunovEstimate``.
    /// - Throws: ``StabilityError`` for invalid settings; ``SDEError`` when the solver does not
    ///   support the SDE's noise or calculus, or a state becomes non-finite.
    /// - Complexity: 2·N·(draws) solver steps on the batch, plus a norm per sample per
    ///   renormalisation.
    public func estimate(_ sde: some SDE, from y0: Tensor, recordPoints: Int = 0) throws -> LyapunovEstimate {
        try validate()
        let method = solver.solver
        try method.checkSupport(of: sde)
        let batch = y0.shape.first ?? 1
        guard y0.rank >= 1, batch >= 1, y0.count > 0 else {
            throw StabilityError.invalidParameter(name: "initial state", value: "\(y0.shape)", expected: "a non-empty [batch, …] tensor")
        }
        let n = stepCount, h = effectiveStep, skip = transientSteps
        let effectiveDraws = sde.hasNoise ? draws : 1
        let recordSteps = Set(recordPoints <= 0 ? [] : (0..<recordPoints).map { k in
            recordPoints == 1 ? 0 : Int((Double(k) * Double(n) / Double(recordPoints - 1)).rounded())
        })
        var recorded: [(time: Double, state: Tensor)] = []
        var exponents: [Double] = []
        var floorHits = 0
        try noGrad {
            for r in 0..<effectiveDraws {
                let grid = BrownianGrid(shape: sde.brownianShape(state: y0.shape), dt: h, seed: seed, stream: UInt64(r),
                                        levyArea: type(of: method).needsLevyArea)
                let zero = BrownianIncrement(w: Tensor(repeating: 0, shape: grid.shape),
                                             h: type(of: method).needsLevyArea ? Tensor(repeating: 0, shape: grid.shape) : nil)
                var y = y0.detached()
                let direction = Tensor.randomNormal(y0.shape, seed: seed ^ Self.directionKey, stream: UInt64(r))
                var state = Perturbation(batch: batch)
                var yp = try state.reset(y, around: y, direction: direction, relative: perturbation, count: false, step: 0, time: 0)
                if r == 0 && recordSteps.contains(0) { recorded.append((0, y)) }
                for k in 0..<n {
                    let t0 = Double(k) * h, t1 = Double(k + 1) * h
                    let increment = sde.hasNoise ? grid.increment(from: t0, to: t1) : zero
                    y = method.step(sde, from: t0, to: t1, state: y, increment: increment, solverState: nil).state
                    yp = method.step(sde, from: t0, to: t1, state: yp, increment: increment, solverState: nil).state
                    let done = k + 1
                    if done == skip {
                        // End of the transient: restart at size δ·‖h‖ without counting the growth so far.
                        yp = try state.reset(yp, around: y, direction: direction, relative: perturbation, count: false, step: done, time: t1)
                    } else if done > skip && ((done - skip) % renormalizeEvery == 0 || done == n) {
                        yp = try state.reset(yp, around: y, direction: direction, relative: perturbation, count: true, step: done, time: t1)
                    }
                    if r == 0 && recordSteps.contains(done) { recorded.append((t1, y)) }
                }
                exponents += state.logGrowth.map { $0 / countedTime }
                floorHits += state.floorHits
            }
        }
        let stats = SampleStatistics(exponents)
        return LyapunovEstimate(lyapunov: stats.mean, standardError: exponents.count > 1 ? stats.standardError : .nan,
                                samples: exponents, batch: batch, draws: effectiveDraws, steps: n, dt: h,
                                countedTime: countedTime, precisionFloorHits: floorHits,
                                trajectoryTimes: recorded.map(\.time), trajectory: recorded.map(\.state))
    }

    /// The Philox key of the initial directions is `seed ^ directionKey` (streams 0..<draws), so
    /// directions never share counters with the Brownian paths of key `seed`.
    static let directionKey: UInt64 = 0x5EED_D1EC_7104_0000

    /// ‖xᵢ‖₂ per sample of `[batch, …]`, in Double.
    static func sampleNorms(_ x: Tensor) -> [Double] {
        let batch = x.shape.first ?? 1
        let per = x.count / Swift.max(batch, 1)
        return x.withUnsafeBufferPointer { p in
            (0..<batch).map { i in
                var sum = 0.0
                for j in (i * per)..<((i + 1) * per) { let v = Double(p[j]); sum += v * v }
                return sum.squareRoot()
            }
        }
    }

    /// A `[batch, 1, …, 1]` tensor of per-sample factors, for broadcasting over `[batch, …]`.
    static func perSample(_ values: [Float], rank: Int) -> Tensor {
        Tensor(shape: [values.count] + Array(repeating: 1, count: Swift.max(rank - 1, 0)), scalars: values)
    }
}

// MARK: - Benettin bookkeeping

/// The per-sample state of one Benettin run: the accumulated log growth and the size each
/// perturbation was last set to.
struct Perturbation {
    /// Σ log(dᵢ / targetᵢ) over counted renormalisations.
    var logGrowth: [Double]
    /// ‖h̃ᵢ − hᵢ‖ right after the last renormalisation (δ·‖hᵢ‖ up to float32 rounding).
    var targets: [Double]
    /// Renormalisations at which h̃ᵢ − hᵢ was exactly 0 in float32.
    var floorHits = 0

    init(batch: Int) {
        logGrowth = [Double](repeating: 0, count: batch)
        targets = [Double](repeating: 0, count: batch)
    }

    /// Measures dᵢ = ‖h̃ᵢ − hᵢ‖, adds log(dᵢ/targetᵢ) when `count`, and returns
    /// hᵢ + (δ‖hᵢ‖/dᵢ)(h̃ᵢ − hᵢ). At the start (h̃ = h) and wherever dᵢ = 0 — the perturbation
    /// fell below float32's resolution of the state — the sample restarts along `direction`, and a
    /// counted dᵢ = 0 adds log(2⁻²⁴‖hᵢ‖/targetᵢ), the resolution it fell below (``floorHits``).
    ///
    /// - Throws: ``SDEError/nonFiniteState(step:time:)`` when h or h̃ is not finite.
    mutating func reset(_ yp: Tensor, around y: Tensor, direction: Tensor, relative delta: Double, count: Bool,
                        step: Int, time: Double) throws -> Tensor {
        let diff = yp - y
        let d = LyapunovEstimator.sampleNorms(diff), hn = LyapunovEstimator.sampleNorms(y)
        for i in d.indices where !(d[i].isFinite && hn[i].isFinite) { throw SDEError.nonFiniteState(step: step, time: time) }
        let batch = d.count
        var scale = [Float](repeating: 0, count: batch), restart = [Float](repeating: 0, count: batch)
        var needsRestart = false
        let un = LyapunovEstimator.sampleNorms(direction)
        for i in 0..<batch {
            let target = delta * (hn[i] > 0 ? hn[i] : 1)
            if count {
                var di = d[i]
                if di == 0 {
                    floorHits += 1
                    di = Swift.max(Double(Float.ulpOfOne) / 2 * (hn[i] > 0 ? hn[i] : 1), Double(Float.leastNormalMagnitude))
                }
                if targets[i] > 0 { logGrowth[i] += Foundation.log(di / targets[i]) }
            }
            if d[i] > 0 {
                scale[i] = Float(target / d[i])
            } else {
                restart[i] = Float(target / un[i])
                needsRestart = true
            }
        }
        var out = y + diff * LyapunovEstimator.perSample(scale, rank: y.rank)
        if needsRestart { out = out + direction * LyapunovEstimator.perSample(restart, rank: y.rank) }
        // The size actually set, after float32 rounding of h + ε (the next growth is measured from it).
        targets = LyapunovEstimator.sampleNorms(out - y)
        return out
    }
}
