import CKernels

/// Euler–Maruyama steps of an SDE whose drift is a tanh MLP, `f(y) = tanh(y W1ᵀ + b1) W2ᵀ + b2`,
/// and the pullback of a whole solve's steps, each as one C call (`nsde_tanh_mlp_step`,
/// `nsde_tanh_mlp_steps_pullback`) that runs the kernels the layers would run one at a time, in
/// the same order: the same bits without a Swift call per kernel.
///
/// Built only where every product of the step and its pullback runs on the register-tiled kernel
/// (``GEMM/automaticBackend(m:n:k:transB:)`` at this size, an AVX-512 processor) and on one thread
/// (a batch shard's solve, or `Parallel.threadCount == 1`): there the layers' path runs these
/// kernels too, and the single-threaded C loop gives up no parallelism.
public struct TanhMLPSteps {
    /// Whether solvers may use these kernels (default `true`); `false` runs the layers' kernels
    /// one call at a time (the same bits: for comparisons and benchmarks).
    nonisolated(unsafe) public static var isEnabled = true

    /// States per step (the batch shard's rows), state width and hidden width.
    public let rows: Int, features: Int, hidden: Int
    private let w1: Tensor, w1t: Tensor, b1: Tensor?, w2: Tensor, w2t: Tensor, b2: Tensor?

    /// The update's pullback with respect to the drift, for the steps' diffusion.
    public enum UpdatePullback: Sendable, Equatable {
        /// Dropout noise, `y + f ⊙ (σ·ΔW + Δt)`: ∂L/∂f = g ⊙ (ΔW·σ + Δt).
        case productAffine(scale: Float)
        /// Additive noise, `y + f·Δt + σ·ΔW`: ∂L/∂f = g·Δt.
        case scaled
    }

    /// What the pullback needs of one step: its starting state, the hidden layer's output it kept,
    /// the Brownian increment (for dropout noise), Δt, and a gradient of the starting state from
    /// elsewhere (an output's cotangent) or `nil`.
    public struct SavedStep {
        public var state: Tensor, hidden: Tensor, noise: Tensor?, dt: Float, cotangent: Tensor?
        public init(state: Tensor, hidden: Tensor, noise: Tensor?, dt: Float, cotangent: Tensor?) {
            (self.state, self.hidden, self.noise, self.dt, self.cotangent) = (state, hidden, noise, dt, cotangent)
        }
    }

    /// The steps for `rows` states through weights `w1` `[hidden, features]` and `w2`
    /// `[features, hidden]` (with their transposes and optional biases `[hidden]`, `[features]`),
    /// or `nil` where a product would not run on the register-tiled kernel or more than one
    /// thread would share it (see the type's comment).
    public init?(rows: Int, w1: Tensor, w1Transposed: Tensor, b1: Tensor?, w2: Tensor, w2Transposed: Tensor, b2: Tensor?) {
        guard w1.rank == 2, w2.rank == 2, rows > 0 else { return nil }
        let h = w1.shape[0], d = w1.shape[1]
        guard w2.shape == [d, h], w1Transposed.shape == [d, h], w2Transposed.shape == [h, d],
              b1.map({ $0.shape == [h] }) ?? true, b2.map({ $0.shape == [d] }) ?? true,
              TanhMLPSteps.runsFused(rows: rows, features: d, hidden: h) else { return nil }
        (self.rows, features, hidden) = (rows, d, h)
        (self.w1, w1t, self.b1, self.w2, w2t, self.b2) = (w1, w1Transposed, b1, w2, w2Transposed, b2)
    }

    /// Whether the steps and their pullback may run fused now: one thread, and the six products
    /// (forward `[rows, features] x [features, hidden]` and `[rows, hidden] x [hidden, features]`,
    /// the input gradients, the weight gradients over the rows) all on the register-tiled kernel.
    public static func runsFused(rows: Int, features d: Int, hidden h: Int) -> Bool {
        guard isEnabled, Parallel.threadCount == 1 else { return false }
        let products = [(rows, h, d), (rows, d, h), (d, h, rows), (h, d, rows)]
        return products.allSatisfy { GEMM.automaticBackend(m: $0.0, n: $0.1, k: $0.2) == .registerTiled }
    }

    private func withDescription<R>(_ body: (UnsafePointer<nsde_tanh_mlp>) -> R) -> R {
        var mlp = nsde_tanh_mlp(rows: Int64(rows), features: Int64(features), hidden: Int64(hidden),
                                w1: w1.storage.pointer, w1t: w1t.storage.pointer, b1: b1.map { UnsafePointer($0.storage.pointer) },
                                w2: w2.storage.pointer, w2t: w2t.storage.pointer, b2: b2.map { UnsafePointer($0.storage.pointer) })
        let result = withUnsafePointer(to: &mlp) { body($0) }
        withExtendedLifetime((w1, w1t, b1, w2, w2t, b2)) {}
        return result
    }

    /// `update` applied to f(`y`) (`y` `[rows, features]`), with the hidden layer's output
    /// `[rows, hidden]`: the values and bits of the fused Linear–Tanh and Linear layers' forward
    /// pass with the update in the last product.
    public func step(_ y: Tensor, then update: ElementwiseUpdate) -> (updated: Tensor, hidden: Tensor) {
        precondition(y.shape == [rows, features], "TanhMLPSteps.step: expected y [\(rows), \(features)], got \(y.shape)")
        let (state, noise) = update.operands
        precondition(state.shape == y.shape && noise.shape == y.shape,
                     "TanhMLPSteps.step: update operands \(state.shape) and \(noise.shape) do not match y \(y.shape)")
        let hiddenValue = Tensor(uninitializedShape: [rows, hidden]), next = Tensor(uninitializedShape: [rows, features])
        let form = update.epilogueUpdate
        withDescription { mlp in
            nsde_tanh_mlp_step(mlp, y.storage.pointer, form.form, form.state, form.noise, form.a, form.b,
                               hiddenValue.storage.pointer, next.storage.pointer)
        }
        withExtendedLifetime((y, update)) {}
        return (next, hiddenValue)
    }

    /// The parameters' gradients of a pullback: `w1` `[hidden, features]`, `b1` `[hidden]`, `w2`
    /// `[features, hidden]`, `b2` `[features]` (`b1`, `b2` `nil` without biases).
    public typealias ParameterGradients = (w1: Tensor, b1: Tensor?, w2: Tensor, b2: Tensor?)

    /// The pullback of `steps` (first to last as they ran) for ∂L/∂y after the last one,
    /// `gradient` (`[rows, features]`, overwritten: its buffer receives ∂L/∂y₀, which is returned):
    /// ∂L/∂y₀ and the parameters' gradients summed over the steps, the bits of the layers' and the
    /// diffusion's pullbacks run step by step (`b1`, `b2` `nil` without biases).
    ///
    /// With `sums` (what an earlier call returned, for the steps after these), each step's
    /// parameter gradients are added into those tensors, which are returned: a solve pulled back
    /// in stretches, last first, gets the bits of one call over all its steps.
    public func pullback(_ steps: [SavedStep], update: UpdatePullback, gradient: Tensor, addingInto sums: ParameterGradients? = nil)
        -> (state: Tensor, w1: Tensor, b1: Tensor?, w2: Tensor, b2: Tensor?) {
        precondition(!steps.isEmpty, "TanhMLPSteps.pullback: no steps")
        precondition(gradient.shape == [rows, features], "TanhMLPSteps.pullback: expected a gradient [\(rows), \(features)], got \(gradient.shape)")
        let form: nsde_update_form, sigma: Float
        switch update {
        case let .productAffine(scale): (form, sigma) = (NSDE_UPDATE_PRODUCT_AFFINE, scale)
        case .scaled: (form, sigma) = (NSDE_UPDATE_SCALED, 0)
        }
        for s in steps {
            precondition(s.state.shape == [rows, features] && s.hidden.shape == [rows, hidden]
                         && (s.cotangent.map { $0.shape == [rows, features] } ?? true),
                         "TanhMLPSteps.pullback: a step's saved tensors do not have the shapes [\(rows), \(features)] and [\(rows), \(hidden)]")
            precondition(form != NSDE_UPDATE_PRODUCT_AFFINE || s.noise?.shape == [rows, features],
                         "TanhMLPSteps.pullback: dropout noise needs each step's increment [\(rows), \(features)]")
        }
        if let sums {
            precondition(sums.w1.shape == [hidden, features] && sums.w2.shape == [features, hidden]
                         && (sums.b1?.shape ?? [hidden]) == [hidden] && (sums.b2?.shape ?? [features]) == [features]
                         && (sums.b1 == nil) == (b1 == nil) && (sums.b2 == nil) == (b2 == nil),
                         "TanhMLPSteps.pullback: the gradients to add into do not match the network's parameters")
        }
        let dw1 = sums?.w1 ?? Tensor(uninitializedShape: [hidden, features]), dw2 = sums?.w2 ?? Tensor(uninitializedShape: [features, hidden])
        let db1 = b1 == nil ? nil : sums?.b1 ?? Tensor(uninitializedShape: [hidden])
        let db2 = b2 == nil ? nil : sums?.b2 ?? Tensor(uninitializedShape: [features])
        let states: [UnsafePointer<Float>?] = steps.map { UnsafePointer($0.state.storage.pointer) }
        let hiddens: [UnsafePointer<Float>?] = steps.map { UnsafePointer($0.hidden.storage.pointer) }
        let noises: [UnsafePointer<Float>?] = steps.map { $0.noise.map { UnsafePointer($0.storage.pointer) } }
        let cotangents: [UnsafePointer<Float>?] = steps.map { $0.cotangent.map { UnsafePointer($0.storage.pointer) } }
        let dts = steps.map(\.dt)
        withDescription { mlp in
            let scratch = Tensor(uninitializedShape: [Int(nsde_tanh_mlp_pullback_scratch(mlp))])
            nsde_tanh_mlp_steps_pullback(mlp, Int64(steps.count), states, hiddens, noises, dts, form, sigma, cotangents,
                                         gradient.storage.pointer, dw1.storage.pointer, db1?.storage.pointer, dw2.storage.pointer,
                                         db2?.storage.pointer, sums == nil ? 0 : 1, scratch.storage.pointer)
        }
        withExtendedLifetime(steps) {}
        return (gradient, dw1, db1, dw2, db2)
    }
}
