import NSDENN
import NSDETensor

/// The tape node of a solve made with a memory-saving gradient method: its inputs are y₀ and
/// the SDE's parameter values, its output the stacked states `[T, batch, …]`, and its pullback
/// runs the method's backward pass, with the parameters' values fixed as during the forward solve
/// (``NSDENN/Parameter/withValuesFixed(_:)``: the drift evaluations it repeats reuse the weights'
/// transposes).
struct SolveOp: DifferentiableOp {
    let name: String
    /// Maps the cotangent of the stacked states to the gradients of [y₀] + parameters.
    let pullback: (Tensor) -> [Tensor?]

    func vjp(_ upstream: Tensor, needsGradient: [Bool]) -> [Tensor?] { Parameter.withValuesFixed { pullback(upstream) } }
}

/// What every backward pass needs: the integrator (SDE, solver, Brownian motion), the accepted
/// steps of the forward solve, the parameters to differentiate and the stats to fill.
struct BackwardContext<S: SDE, Solver: SDESolver> {
    let integrator: Integrator<S, Solver>
    let steps: [StepRecord]
    let outputCount: Int
    let parameters: [Parameter]
    let stats: BackwardStats

    /// The cotangent of output `i` from the stacked cotangent `[T, batch, …]`.
    func outputCotangent(_ upstream: Tensor, _ i: Int) -> Tensor { stackedOutputCotangent(upstream, i) }

    /// Runs `body` with the parameters' accumulated gradients set aside, and returns what `body`
    /// accumulated into each (zeros where nothing was), restoring the previous gradients.
    func isolatingParameterGradients(_ body: () -> Void) -> [Tensor] {
        let saved = parameters.map { $0.value.grad }
        for p in parameters { p.value.grad = nil }
        body()
        let accumulated = parameters.map { p in p.value.grad ?? Tensor(repeating: 0, shape: p.shape) }
        for (p, g) in zip(parameters, saved) { p.value.grad = g }
        return accumulated
    }
}

/// The cotangent of output `i` (`[batch, …]`) from the stacked cotangent `[T, batch, …]`, in a
/// buffer of its own (a slice copies; the pullbacks add into it in place).
func stackedOutputCotangent(_ upstream: Tensor, _ i: Int) -> Tensor {
    upstream.slice(axis: 0, i..<(i + 1)).reshaped(Array(upstream.shape.dropFirst()))
}

/// The parameters with duplicates (the same object listed twice) removed, order kept.
func uniqueParameters(_ parameters: [Parameter]) -> [Parameter] {
    var seen = Set<ObjectIdentifier>()
    return parameters.filter { seen.insert(ObjectIdentifier($0)).inserted }
}

/// A fresh leaf with y's values that records its gradient.
func gradientLeaf(_ y: Tensor) -> Tensor {
    var leaf = y.detached()
    leaf.requiresGrad = true
    return leaf
}

extension NoiseType {
    /// The pullback of ``apply(_:_:)`` with respect to g: the g-shaped tensor whose pairing with g
    /// equals ⟨a, g·ΔW⟩ (a ⊙ ΔW for elementwise noise, summed to g's shape for scalar noise;
    /// the outer product a ⊗ ΔW for general noise).
    func applyTranspose(_ a: Tensor, _ dW: Tensor) -> Tensor {
        switch self {
        case .diagonal, .additive, .scalar:
            return a * dW
        case .general:
            let b = a.shape[0], d = a.shape[1], m = dW.shape[1]
            return a.reshaped([b, d, 1]).matmul(dW.reshaped([b, 1, m]))
        }
    }
}
