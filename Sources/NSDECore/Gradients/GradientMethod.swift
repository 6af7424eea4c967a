/// How ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` makes its solution
/// differentiable: the same forward values, different time/memory trade-offs for the backward pass.
///
/// | Method | Memory in the number of steps N | Backward cost (in forward solves) | Gradient |
/// |---|---|---|---|
/// | ``backprop`` | O(N): every step's intermediates stay on the tape | ≈ 2 | exact for the discretised solve |
/// | ``adjoint`` | O(1) | ≈ 3–4 (state reconstruction + one pullback per step; ≈ 2–3 for a tape-free MLP drift with Euler–Maruyama) | exact up to the reconstruction tolerance |
/// | ``reversibleAdjoint`` | O(1) | ≈ 3 | exact up to float rounding (``ReversibleHeun`` only) |
/// | ``checkpointed(every:)`` | O(N/k + k) | ≈ 3 | exact (``backprop``'s bits for a tape-free MLP drift with Euler–Maruyama) |
/// | ``forwardSensitivity`` | O(1) | (parameters + elements of y₀) forward solves | exact |
///
/// All methods replay the same Brownian increments, so on the same path they agree with each
/// other (tests check adjoint vs backprop to 10⁻³, reversible to 10⁻⁵, forward sensitivity to
/// 10⁻⁴, and all of them against finite differences). The memory-saving methods and forward
/// sensitivity differentiate with respect to y₀ and the SDE's ``SDE/parameters``; backprop
/// differentiates with respect to anything on the tape.
public struct GradientMethod: Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case backprop
        case adjoint(rtol: Double, atol: Double, maxIterations: Int)
        case reversibleAdjoint
        case checkpointed(Int)
        case forwardSensitivity
    }
    let kind: Kind

    /// Backpropagation through every solver step (the authors' method). Fastest, O(N) memory.
    ///
    /// Fixed Euler–Maruyama steps of a ``NeuralDriftSDE`` built from a ``NSDENN/TapeFreeLayer``
    /// drift (an MLP of `Linear` and activation layers) with a parameter-free diffusion are
    /// differentiated without recording each op: one tape node for the whole solve, whose
    /// pullback walks the steps back through the layers' and the diffusion's own pullbacks, with
    /// the same kernels in the same order (the same gradients: bit for bit for additive, dropout
    /// and no noise; to rounding for multiplicative noise, where the tape sums in another order).
    /// Every other solve is recorded op by op.
    public static let backprop = GradientMethod(kind: .backprop)

    /// The stochastic adjoint (Li, Wong, Chen & Duvenaud 2020) with default reconstruction
    /// tolerances (rtol 10⁻⁵, atol 10⁻⁶, at most 8 iterations per step).
    ///
    /// The forward solve keeps only the output states. The backward pass walks the accepted steps
    /// from the end, replaying each step's Brownian increment: it reconstructs the state at the
    /// step's start by inverting the forward step, yₙ = yₙ₊₁ − (Φ(yₙ) − yₙ), with fixed-point
    /// iterations until the estimated error of the reconstructed state, ρ/(1 − ρ) times the last
    /// scaled correction with ρ the contraction measured from successive corrections, is within
    /// tolerance (the last correction itself while ρ ≥ ½), then pulls the adjoint aₙ₊₁ =
    /// ∂L/∂yₙ₊₁ and the parameter gradients back through Φ at yₙ (one vector–Jacobian product). As
    /// Δt → 0 this is the augmented adjoint SDE of Li et al. integrated backwards on the same
    /// path; because each step inverts the *forward* scheme, Itô SDEs need no separate
    /// Itô–Stratonovich correction (the inversion supplies it), and the gradient is that of the
    /// discretised forward solve up to the tolerance. Works with every solver that carries no
    /// state between steps (not ``ReversibleHeun``: use ``reversibleAdjoint``). The inversion
    /// converges when Δt·Lip(f) + |ΔW|·Lip(g) < 1; steps that do not converge are counted in
    /// ``BackwardStats/unconvergedSteps`` and a warning is written to stderr, because their
    /// gradients are inaccurate. Smooth drifts such as MLPs converge in one iteration after the
    /// initial guess at Δt = 0.01 (two step evaluations per step plus the pullback; the pullback
    /// is taken at the last iterate but one, so the gradients match backprop to ≈ 2·10⁻⁵ relative
    /// at the default tolerances and ≈ 10⁻⁶ at rtol 10⁻⁷, atol 10⁻⁸). With Euler–Maruyama and a
    /// ``NSDENN/TapeFreeLayer`` drift network (which ignores time), steps run and pull back without
    /// the tape, and each initial guess reuses the drift of the later step's last evaluation (made
    /// within the tolerance of the guess's point): one network evaluation per step plus the
    /// pullback. Drifts with a large Lipschitz constant at coarse steps (the paper's GroupNorm
    /// convolutional drift at 11 steps) do not: train those with ``checkpointed(every:)`` or
    /// ``reversibleAdjoint``.
    public static let adjoint = GradientMethod(kind: .adjoint(rtol: 1e-5, atol: 1e-6, maxIterations: 8))

    /// ``adjoint`` with explicit reconstruction tolerances (estimated scaled RMS error of each
    /// reconstructed state ≤ 1 with these rtol/atol) and iteration limit.
    public static func adjoint(rtol: Double, atol: Double, maxIterations: Int = 8) -> GradientMethod {
        precondition(rtol >= 0 && atol > 0 && maxIterations > 0, "GradientMethod.adjoint: need rtol ≥ 0, atol > 0, maxIterations > 0")
        return GradientMethod(kind: .adjoint(rtol: rtol, atol: atol, maxIterations: maxIterations))
    }

    /// Reversible Heun's exact algebraic adjoint (Kidger, Foster, Li & Lyons 2021): the backward
    /// pass recomputes each earlier (y, z) from the later one with
    /// ``ReversibleHeun/backwardStep(_:from:to:state:increment:solverState:)`` and pulls the
    /// cotangents of y, z, f(z), g(z) back through the forward step, one drift/diffusion pullback per
    /// step. O(1) memory; equal to backprop up to float rounding. Requires ``ReversibleHeun``.
    public static let reversibleAdjoint = GradientMethod(kind: .reversibleAdjoint)

    /// Backpropagation with checkpoints: the forward solve stores the state (and solver state)
    /// after every `k`-th step; the backward pass recomputes each stretch of k steps on the tape
    /// and backpropagates through it. Exact; memory O(N/k + k) states.
    ///
    /// Where ``backprop`` runs its one-node solve (fixed Euler–Maruyama steps of a ``NeuralDriftSDE``
    /// with a ``NSDENN/TapeFreeLayer`` drift and a parameter-free diffusion), each stretch is
    /// recomputed and pulled back without the tape through the same kernels, in the same order:
    /// the gradients are ``backprop``'s bit for bit, at the cost of one more forward solve (MLP SDE
    /// benchmark: `nsde bench mlp-sde --mode checkpointed`).
    public static func checkpointed(every k: Int) -> GradientMethod {
        precondition(k > 0, "GradientMethod.checkpointed: k must be positive, got \(k)")
        return GradientMethod(kind: .checkpointed(k))
    }

    /// The paper's path-wise forward sensitivity (Liu et al. 2019, Theorem 3.1, eq. 10): for each
    /// scalar parameter w (and each element of y₀), β_t = ∂h_t/∂w is propagated forward with the
    /// state by forward-mode Jacobian–vector products on the same Brownian path,
    /// dβ = (∂f/∂h·β + ∂f/∂w) dt + (∂G/∂h·β + ∂G/∂w) dB, discretised by the same solver; the
    /// gradient is Σᵢ ⟨∂L/∂h(tᵢ), β(tᵢ)⟩. One forward solve per scalar, so use it for models with
    /// few parameters (a 2-D toy, a handful of physical constants), not for networks.
    public static let forwardSensitivity = GradientMethod(kind: .forwardSensitivity)

    /// The algorithm that implements the method (its solver check, forward and backward pass).
    var algorithm: any GradientAlgorithm {
        switch kind {
        case .backprop: return BackpropAlgorithm()
        case let .adjoint(rtol, atol, iterations): return StochasticAdjointAlgorithm(rtol: rtol, atol: atol, maxIterations: iterations)
        case .reversibleAdjoint: return ReversibleAdjointAlgorithm()
        case let .checkpointed(k): return CheckpointedAlgorithm(every: k)
        case .forwardSensitivity: return ForwardSensitivityAlgorithm()
        }
    }

    /// The method's family without its settings: "backprop", "adjoint", "reversible-adjoint",
    /// "checkpointed" or "forward-sensitivity".
    public var name: String {
        switch kind {
        case .backprop: return "backprop"
        case .adjoint: return "adjoint"
        case .reversibleAdjoint: return "reversible-adjoint"
        case .checkpointed: return "checkpointed"
        case .forwardSensitivity: return "forward-sensitivity"
        }
    }
}

// MARK: - Names (command line, configuration files)

extension GradientMethod: LosslessStringConvertible, Codable {
    /// The accepted spellings, for messages.
    public static let syntax = "backprop, adjoint, reversible-adjoint, checkpointed:K (K >= 1) or forward-sensitivity"

    /// The method's name as the command line and configuration files (`checkpoint.json`) spell
    /// it: "backprop", "adjoint" (or "adjoint:RTOL,ATOL,ITERATIONS" for other tolerances than the
    /// default), "reversible-adjoint", "checkpointed:K" or "forward-sensitivity".
    public var description: String {
        switch kind {
        case let .adjoint(rtol, atol, iterations) where self != .adjoint: return "adjoint:\(rtol),\(atol),\(iterations)"
        case let .checkpointed(k): return "checkpointed:\(k)"
        default: return name
        }
    }

    /// Parses ``description``'s spellings (and "checkpointed(K)", an earlier one); `nil` for
    /// anything else, including invalid settings (K < 1, a negative tolerance).
    public init?(_ description: String) {
        switch description {
        case "backprop": self = .backprop
        case "adjoint": self = .adjoint
        case "reversible-adjoint": self = .reversibleAdjoint
        case "forward-sensitivity": self = .forwardSensitivity
        default:
            if let k = Self.argument(of: description, prefix: "checkpointed:", suffix: "")
                ?? Self.argument(of: description, prefix: "checkpointed(", suffix: ")") {
                guard let k = Int(k), k >= 1 else { return nil }
                self = .checkpointed(every: k)
                return
            }
            guard let settings = Self.argument(of: description, prefix: "adjoint:", suffix: "") else { return nil }
            let parts = settings.split(separator: ",", omittingEmptySubsequences: false)
            guard parts.count == 3, let rtol = Double(parts[0]), let atol = Double(parts[1]), let iterations = Int(parts[2]),
                  rtol >= 0, rtol.isFinite, atol > 0, atol.isFinite, iterations > 0 else { return nil }
            self = .adjoint(rtol: rtol, atol: atol, maxIterations: iterations)
        }
    }

    private static func argument(of text: String, prefix: String, suffix: String) -> String? {
        guard text.hasPrefix(prefix), text.hasSuffix(suffix), text.count >= prefix.count + suffix.count else { return nil }
        return String(text.dropFirst(prefix.count).dropLast(suffix.count))
    }

    /// Decodes one of the spellings of ``init(_:)`` from a string.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = GradientMethod(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "gradient '\(text)' is not \(Self.syntax)"))
        }
        self = value
    }

    /// Encodes ``description`` as a string.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Counts from the backward pass of a memory-saving gradient method, filled in when the
/// solution is differentiated (all zero before, and for ``GradientMethod/backprop``).
public final class BackwardStats: @unchecked Sendable {
    /// Solver steps walked backwards (or re-run, for checkpointing and forward sensitivity).
    public internal(set) var steps = 0
    /// Solver-step evaluations made by the backward pass (reconstruction iterations, pullbacks,
    /// recomputations, tangent solves).
    public internal(set) var stepEvaluations = 0
    /// Fixed-point iterations used to reconstruct states (``GradientMethod/adjoint``).
    public internal(set) var reconstructionIterations = 0
    /// Steps whose reconstruction did not reach the tolerance within the iteration limit.
    public internal(set) var unconvergedSteps = 0
    /// The largest scaled error estimate of an accepted reconstructed state (≤ 1 when every step
    /// converged; see ``GradientMethod/adjoint``).
    public internal(set) var maxReconstructionResidual = 0.0
    /// Complete forward solves made by ``GradientMethod/forwardSensitivity``.
    public internal(set) var forwardSolves = 0
    /// Creates zero counts.
    public init() {}
}
