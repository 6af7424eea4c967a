import NSDETensor

/// Counts reported by ``sdeint(_:y0:times:solver:dt:stepSize:brownian:gradient:)`` and ``odeint(_:y0:times:solver:dt:rtol:atol:maxSteps:)``.
public struct SolverStats: Equatable, Sendable {
    /// Drift (or ODE right-hand side) evaluations.
    public var driftEvaluations = 0
    /// Diffusion evaluations (each g or g·ΔW formed counts once).
    public var diffusionEvaluations = 0
    /// Steps taken and kept.
    public var acceptedSteps = 0
    /// Steps rejected by the adaptive controller (always 0 for fixed steps).
    public var rejectedSteps = 0
    /// Creates zero counts.
    public init() {}
}

/// The states a solve returns: stacked into one tensor (the memory-saving gradient methods record
/// one op whose output is the stack) or one tensor per output time (backprop and `odeint`, whose
/// states are on the tape already).
enum SolvedStates {
    case stacked(Tensor)
    case separate([Tensor])
}

/// The result of a solve: the states at the requested times and the solver's counts.
public struct Solution {
    private let solved: SolvedStates
    /// The states at ``times``, stacked: `[T, batch, …]`; `states[0]` is y₀. Recorded on the
    /// autodiff tape, so gradients flow back to y₀ and to the SDE's parameters.
    ///
    /// A backprop solve keeps its states separate and stacks them on each read of this
    /// property (a copy, and one more op on the tape): read ``state(at:)`` or ``final`` for one
    /// state.
    public var states: Tensor {
        switch solved {
        case .stacked(let states): return states
        case .separate(let states): return stackStates(states)
        }
    }
    /// The requested output times (model time units), strictly increasing.
    public let times: [Double]
    /// Evaluation and step counts of the forward solve.
    public let stats: SolverStats
    /// Counts of the backward pass of a memory-saving gradient method, filled in when the states
    /// are differentiated.
    public let backwardStats: BackwardStats

    /// Creates a solution from its stacked states `[T, batch, …]`.
    public init(states: Tensor, times: [Double], stats: SolverStats, backwardStats: BackwardStats = BackwardStats()) {
        self.init(solved: .stacked(states), times: times, stats: stats, backwardStats: backwardStats)
    }

    init(solved: SolvedStates, times: [Double], stats: SolverStats, backwardStats: BackwardStats = BackwardStats()) {
        self.solved = solved
        self.times = times
        self.stats = stats
        self.backwardStats = backwardStats
    }

    /// The state at `times[i]`, shape `[batch, …]`: for a backprop solve the state itself as the
    /// solver computed it (no copy), else a slice of the stacked states.
    public func state(at i: Int) -> Tensor {
        switch solved {
        case .stacked(let states):
            let inner = Array(states.shape.dropFirst())
            return states.slice(axis: 0, i..<(i + 1)).reshaped(inner)
        case .separate(let states):
            return states[i]
        }
    }

    /// The state at the last time, shape `[batch, …]`.
    public var final: Tensor { state(at: times.count - 1) }
}
