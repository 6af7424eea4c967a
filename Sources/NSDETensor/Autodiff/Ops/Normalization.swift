/// Group normalisation (Wu & He 2018). Inputs: x `[N, C, ...]`, γ `[C]`, β `[C]`.
/// Adjoint: dx = rstd·(γ·dy − mean(γ·dy) − x̂·mean(γ·dy·x̂)) per group; dγ = Σ dy·x̂; dβ = Σ dy.
/// With a fused ReLU the output is max(y, 0) and the upstream gradient is masked by y > 0.
struct GroupNormOp: DifferentiableOp {
    let x: Tensor, gamma: Tensor?, groups: Int, stats: GroupNormKernel.Statistics
    /// The op's output when it applied ReLU, else nil.
    let reluOutput: Tensor?
    var name: String { reluOutput == nil ? "groupNorm" : "groupNormReLU" }

    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let (dx, dg, db) = GroupNormKernel.backward(g, x: x, groups: groups, gamma: gamma, stats: stats,
                                                    reluOutput: reluOutput, needInput: needsGradient[0])
        return gamma == nil ? [dx] : [dx, needsGradient[1] ? dg : nil, needsGradient[2] ? db : nil]
    }

    /// x̂' = rstd·(x' − mean(x') − x̂·mean(x̂·x')), y' = γ·x̂' + γ'·x̂ + β'.
    func jvp(_ t: [Tensor?]) -> Tensor? {
        let c = x.shape[1]
        let bshape = [1, c] + [Int](repeating: 1, count: x.rank - 2)
        // Unit-affine normalisation of x gives x̂; its "backward" with dy = t computes exactly
        // rstd·(t − mean(t) − x̂·mean(x̂·t)) = x̂'.
        var out: Tensor? = nil
        if let tx = t[0] {
            let (xhatDot, _, _) = GroupNormKernel.backward(tx, x: x, groups: groups, gamma: nil, stats: stats)
            out = gamma.map { xhatDot! * $0.reshaped(bshape) } ?? xhatDot!
        }
        if gamma != nil, t.count == 3 {
            let xh = normalizedInput()
            if let tg = t[1] { out = (out.map { $0 + xh * tg.reshaped(bshape) }) ?? xh * tg.reshaped(bshape) }
            if let tb = t[2] { out = (out.map { $0 + tb.reshaped(bshape) }) ?? tb.reshaped(bshape).broadcast(to: x.shape) }
        }
        let result = out ?? Tensor(repeating: 0, shape: x.shape)
        guard let y = reluOutput else { return result }
        return Elementwise.zip(result, y) { t, y in y > 0 ? t : 0 }
    }

    /// x̂ recomputed from the saved statistics (eps is already folded into rstd).
    private func normalizedInput() -> Tensor {
        let (n, _, hw, cpg) = GroupNormKernel.geometry(x.shape, groups: groups)
        let out = Tensor(uninitializedShape: x.shape)
        let m = cpg * hw
        for row in 0..<(n * groups) {
            let mu = stats.mean[row], rs = stats.rstd[row]
            let s = x.storage.pointer + row * m, d = out.storage.pointer + row * m
            for i in 0..<m { d[i] = (s[i] - mu) * rs }
        }
        return out
    }
}

extension Tensor {
    /// Group normalisation over `groups` groups of channels of an `[N, C, ...]` tensor, with
    /// optional per-channel scale `gamma` and shift `beta` (`[C]` each).
    public func groupNorm(groups: Int, gamma: Tensor? = nil, beta: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        groupNorm(groups: groups, gamma: gamma, beta: beta, eps: eps, relu: false)
    }

    /// `groupNorm(...).relu()` in one pass over memory forward and backward (the pre-activation
    /// is never stored).
    public func groupNormReLU(groups: Int, gamma: Tensor? = nil, beta: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        groupNorm(groups: groups, gamma: gamma, beta: beta, eps: eps, relu: true)
    }

    private func groupNorm(groups: Int, gamma: Tensor?, beta: Tensor?, eps: Float, relu: Bool) -> Tensor {
        precondition((gamma == nil) == (beta == nil), "groupNorm: pass both gamma and beta, or neither")
        if let gamma { precondition(gamma.shape == [shape[1]] && beta!.shape == [shape[1]],
                                    "groupNorm: gamma/beta must have shape [\(shape[1])], got \(gamma.shape) and \(beta!.shape)") }
        let (y, stats) = GroupNormKernel.forward(self, groups: groups, gamma: gamma, beta: beta, eps: eps, relu: relu)
        let x = detached(), g = gamma?.detached()
        let inputs = gamma == nil ? [self] : [self, gamma!, beta!]
        return Tensor.record(y, inputs: inputs) {
            GroupNormOp(x: x, gamma: g, groups: groups, stats: stats, reluOutput: relu ? y : nil)
        }
    }
}
