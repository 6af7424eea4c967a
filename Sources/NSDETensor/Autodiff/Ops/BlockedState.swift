import CKernels

/// Differentiable ops on activations held in oneDNN's blocked layout `nChw16c` (`[N, C/16, H, W, 16]`
/// tensors, C a multiple of 16; see ``Tensor/blockedNChw16c()``), so that a state can stay in that
/// layout through a whole solve: the layout conversions, a GroupNorm from and to it, and the
/// Euler–Maruyama update of such a state whose Brownian increments stay in NCHW order.

/// NCHW → `nChw16c`. Adjoint: the gradient converted back.
struct ToBlockedOp: DifferentiableOp {
    var name: String { "toNChw16c" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [BlockedLayout.unblocked(g)] }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0].map { BlockedLayout.blocked($0) } }
}

/// `nChw16c` → NCHW. Adjoint: the gradient converted into `nChw16c`.
struct FromBlockedOp: DifferentiableOp {
    var name: String { "fromNChw16c" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [BlockedLayout.blocked(g)] }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0].map { BlockedLayout.unblocked($0) } }
}

extension Tensor {
    /// Whether a tensor of NCHW shape `shape` can be held in `nChw16c`: rank 4 with C a multiple of 16.
    public static func supportsNChw16c(_ shape: [Int]) -> Bool { shape.count == 4 && shape[1] > 0 && shape[1] % 16 == 0 }

    /// This `[N, C, H, W]` tensor in oneDNN's blocked layout `nChw16c`, as an `[N, C/16, H, W, 16]`
    /// tensor: element (n, c, h, w) moves to `[n, c / 16, h, w, c % 16]`. Pure data movement
    /// (the same bits); differentiable. C must be a multiple of 16 (``supportsNChw16c(_:)``).
    public func blockedNChw16c() -> Tensor {
        precondition(Tensor.supportsNChw16c(shape), "blockedNChw16c: expected [N, C, H, W] with C a multiple of 16, got \(shape)")
        return Tensor.record(BlockedLayout.blocked(self), inputs: [self]) { ToBlockedOp() }
    }

    /// An `[N, C/16, H, W, 16]` tensor in `nChw16c` back in NCHW `[N, C, H, W]`: the inverse of
    /// ``blockedNChw16c()``; differentiable.
    public func unblockedNChw16c() -> Tensor {
        precondition(rank == 5 && shape[4] == 16, "unblockedNChw16c: expected [N, C/16, H, W, 16], got \(shape)")
        return Tensor.record(BlockedLayout.unblocked(self), inputs: [self]) { FromBlockedOp() }
    }
}

// MARK: - Convolution into nChw16c

/// `input ⋆ weight + bias` from an NCHW input to an `nChw16c` output, straight from oneDNN's
/// kernels. Inputs: input, weight and, with a bias, bias. Where oneDNN's backward-data pass wants
/// its output gradient in NCHW (few input channels, as in a stem convolution on images), the input
/// gradient converts it first.
struct Conv2DToBlockedOp: DifferentiableOp {
    let input: Tensor, weight: Tensor
    let hasBias: Bool
    let geometry: Conv2DGeometry
    let algorithm: OneDNNConvolution.Algorithm
    /// Whether the backward-data pass takes the output gradient in `nChw16c`.
    let blockedBackwardData: Bool
    var name: String { "conv2d (to nChw16c)" }

    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        var dx = needsGradient[0] && blockedBackwardData ? Tensor(uninitializedShape: geometry.inputShape) : nil
        let dw = needsGradient[1] ? Tensor(uninitializedShape: geometry.weightShape) : nil
        let db = hasBias && needsGradient[2] ? Tensor(uninitializedShape: [geometry.outChannels]) : nil
        OneDNNConvolution.backward(geometry, gradOutput: g.storage.pointer, input: input.storage.pointer,
                                   weight: weight.storage.pointer, gradInput: dx?.storage.pointer,
                                   gradWeight: dw?.storage.pointer, gradBias: db?.storage.pointer, algorithm: algorithm,
                                   blockedOutput: true)
        withExtendedLifetime((g, input, weight)) {}
        if needsGradient[0] && !blockedBackwardData {
            dx = Convolution.backwardData(BlockedLayout.unblocked(g), weight: weight, inputShape: geometry.inputShape,
                                          stride: geometry.stride, padding: geometry.padding)
        }
        return hasBias ? [dx, dw, db] : [dx, dw]
    }

    /// The NCHW convolution's tangent, converted.
    func jvp(_ t: [Tensor?]) -> Tensor? {
        let op = Conv2DOp(input: input, weight: weight, hasBias: hasBias, stride: geometry.stride, padding: geometry.padding)
        return op.jvp(t).map { BlockedLayout.blocked($0) }
    }
}

extension Tensor {
    /// Whether ``conv2dToNChw16c(weight:bias:stride:padding:)`` runs for an NCHW input of shape
    /// `inputShape` and a weight of shape `weightShape` on this processor: the convolution the
    /// automatic backend picks keeps its output in `nChw16c` in the forward and backward-weights
    /// passes (oneDNN's AVX-512 kernels, O a multiple of 16).
    public static func supportsConv2dToNChw16c(inputShape: [Int], weightShape: [Int], stride: Int = 1,
                                               padding: Int = 0) -> Bool {
        guard inputShape.count == 4, weightShape.count == 4, weightShape[1] == inputShape[1] else { return false }
        let geometry = Conv2DGeometry(inputShape: inputShape, weightShape: weightShape, stride: stride, padding: padding)
        return Convolution.blockedOutputAlgorithm(geometry, backwardData: false) != nil
    }

    /// ``conv2d(weight:bias:stride:padding:)`` with the output in `nChw16c` (`[N, O/16, Ho, Wo, 16]`):
    /// the values of `conv2d(…).blockedNChw16c()` without the two layout conversions. Check
    /// ``supportsConv2dToNChw16c(inputShape:weightShape:stride:padding:)`` first.
    public func conv2dToNChw16c(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
        precondition(Tensor.supportsConv2dToNChw16c(inputShape: shape, weightShape: weight.shape, stride: stride, padding: padding),
                     "conv2dToNChw16c: no nChw16c output for input \(shape) and weight \(weight.shape): check supportsConv2dToNChw16c")
        let geometry = Conv2DGeometry(inputShape: shape, weightShape: weight.shape, stride: stride, padding: padding)
        if let bias {
            precondition(bias.shape == [geometry.outChannels], "conv2d: bias must have shape [\(geometry.outChannels)], got \(bias.shape)")
        }
        let algorithm = Convolution.blockedOutputAlgorithm(geometry, backwardData: false)!
        let blockedBackwardData = OneDNNConvolution.acceptsBlockedOutput(geometry, algorithm: algorithm)
        let x = detached(), w = weight.detached()
        let out = Tensor(uninitializedShape: BlockedLayout.blockedShape(geometry.outputShape))
        OneDNNConvolution.forward(geometry, input: x.storage.pointer, weight: w.storage.pointer, bias: bias?.storage.pointer,
                                  output: out.storage.pointer, algorithm: algorithm, blockedOutput: true)
        withExtendedLifetime((x, w, bias)) {}
        return Tensor.record(out, inputs: [self, weight] + (bias.map { [$0] } ?? [])) {
            Conv2DToBlockedOp(input: x, weight: w, hasBias: bias != nil, geometry: geometry, algorithm: algorithm,
                              blockedBackwardData: blockedBackwardData)
        }
    }
}

// MARK: - GroupNorm in nChw16c

/// `groupNorm(x + addend)`, followed by ReLU when `relu`, with x and the output in `nChw16c`
/// (`nsde_group_norm_forward_blocked_input`). Inputs: x, γ, β and, when there is one, the
/// `[1, C, H, W]` addend.
struct BlockedGroupNormOp: DifferentiableOp {
    /// The input in `nChw16c`.
    let x: Tensor
    let gamma: Tensor, beta: Tensor
    /// The `[1, C, H, W]` map added to every sample, kept as its `nChw16c` block only.
    let blockedInputAddend: TensorStorage?
    let groups: Int
    let stats: GroupNormKernel.Statistics
    /// The output when the op applied ReLU (whose mask the tangent needs), else nil.
    let reluOutput: Tensor?
    var name: String { reluOutput == nil ? "groupNorm (nChw16c)" : "groupNormReLU (nChw16c)" }

    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let needsAddend = blockedInputAddend != nil && needsGradient[3]
        let (dx, dgamma, dbeta) = GroupNormKernel.backwardBlocked(g.storage, x: x, adding: blockedInputAddend, groups: groups,
                                                                  gamma: gamma, beta: beta, stats: stats, relu: reluOutput != nil,
                                                                  needInput: needsGradient[0] || needsAddend)
        withExtendedLifetime(g) {}
        var grads: [Tensor?] = [needsGradient[0] ? dx : nil, needsGradient[1] ? dgamma : nil, needsGradient[2] ? dbeta : nil]
        if blockedInputAddend != nil { grads.append(needsAddend ? dx.map { BlockedLayout.batchSum($0) } : nil) }
        return grads
    }

    /// The NCHW GroupNorm's tangent of the converted input, converted back.
    func jvp(_ t: [Tensor?]) -> Tensor? {
        var tx = t[0].map { BlockedLayout.unblocked($0) }
        if blockedInputAddend != nil, let ta = t[3] {
            let broadcast = ta.broadcast(to: BlockedLayout.logicalShape(x.shape))
            tx = tx.map { $0 + broadcast } ?? broadcast
        }
        let xNCHW = BlockedLayout.unblocked(x, adding: BlockedLayout.unblockedMap(blockedInputAddend, of: x))
        let op = GroupNormOp(x: xNCHW, gamma: gamma, groups: groups, stats: stats,
                             reluOutput: reluOutput.map { BlockedLayout.unblocked($0) })
        return op.jvp([tx, t[1], t[2]]).map { BlockedLayout.blocked($0) }
    }
}

extension Tensor {
    /// `groupNorm(x + inputAddend)` for `self` in `nChw16c` (`[N, C/16, H, W, 16]` of the NCHW
    /// shape `shape`), returned in `nChw16c`: ``groupNorm(groups:gamma:beta:eps:)`` without leaving
    /// the blocked layout. `inputAddend` (`[1, C, H, W]`, NCHW) is added to every sample as the
    /// input is read (for example the time map of the convolution before it). The statistics are
    /// summed lane by lane, so the values agree with the NCHW GroupNorm to rounding. Needs
    /// whole groups in every 16 channels (C/groups dividing 16).
    public func groupNorm(blockedInputShape shape: [Int], groups: Int, gamma: Tensor, beta: Tensor, eps: Float = 1e-5,
                          inputAddend: Tensor? = nil) -> Tensor {
        blockedGroupNorm(shape, groups: groups, gamma: gamma, beta: beta, eps: eps, inputAddend: inputAddend, relu: false)
    }

    /// ``groupNorm(blockedInputShape:groups:gamma:beta:eps:inputAddend:)`` followed by ReLU in the
    /// same pass (``groupNormReLU(groups:gamma:beta:eps:)`` without leaving `nChw16c`).
    public func groupNormReLU(blockedInputShape shape: [Int], groups: Int, gamma: Tensor, beta: Tensor, eps: Float = 1e-5,
                              inputAddend: Tensor? = nil) -> Tensor {
        blockedGroupNorm(shape, groups: groups, gamma: gamma, beta: beta, eps: eps, inputAddend: inputAddend, relu: true)
    }

    private func blockedGroupNorm(_ shape: [Int], groups: Int, gamma: Tensor, beta: Tensor, eps: Float, inputAddend: Tensor?,
                                  relu: Bool) -> Tensor {
        precondition(Tensor.supportsNChw16c(shape) && self.shape == BlockedLayout.blockedShape(shape),
                     "groupNorm (nChw16c): expected input \(Tensor.supportsNChw16c(shape) ? BlockedLayout.blockedShape(shape) : shape) for NCHW shape \(shape), got \(self.shape)")
        precondition(GroupNormKernel.supportsBlocked(shape, groups: groups),
                     "groupNorm (nChw16c): \(groups) groups of \(shape[1]) channels do not fit whole in 16-channel blocks")
        precondition(gamma.shape == [shape[1]] && beta.shape == [shape[1]],
                     "groupNorm (nChw16c): gamma and beta must have shape [\(shape[1])], got \(gamma.shape) and \(beta.shape)")
        if let inputAddend {
            precondition(inputAddend.shape == [1] + shape.dropFirst(),
                         "groupNorm (nChw16c): inputAddend must have shape \([1] + shape.dropFirst()), got \(inputAddend.shape)")
        }
        let x = detached(), g = gamma.detached(), b = beta.detached()
        let blockedIA = inputAddend.map { BlockedLayout.blocked($0.detached()).storage }
        let (y, stats) = GroupNormKernel.forwardBlocked(x, adding: blockedIA, groups: groups, gamma: g, beta: b, eps: eps,
                                                        relu: relu)
        let out = Tensor(shape: self.shape, storage: y)
        let inputs = [self, gamma, beta] + (inputAddend.map { [$0] } ?? [])
        return Tensor.record(out, inputs: inputs) {
            BlockedGroupNormOp(x: x, gamma: g, beta: b, blockedInputAddend: blockedIA, groups: groups,
                               stats: stats, reluOutput: relu ? out : nil)
        }
    }
}

// MARK: - Euler–Maruyama update with increments in NCHW order

extension Tensor {
    /// The noise term of ``eulerMaruyamaUpdate(nChw16cDrift:increments:noise:dt:sigma:)``.
    public enum BlockedUpdateNoise: Sendable, Hashable {
        /// y + f·Δt + σ·ΔW.
        case additive
        /// y + f·Δt + σ·y ⊙ ΔW.
        case multiplicative
        /// y + f ⊙ (Δt + σ·ΔW) (the paper's dropout noise, G = σ·diag f).
        case dropout

        var kernelValue: nsde_blocked_noise {
            switch self {
            case .additive: return NSDE_BLOCKED_ADDITIVE
            case .multiplicative: return NSDE_BLOCKED_MULTIPLICATIVE
            case .dropout: return NSDE_BLOCKED_DROPOUT
            }
        }
    }

    /// One Euler–Maruyama update of a state `self` held in `nChw16c` (`[N, C/16, H, W, 16]`) with
    /// the drift `f` (same shape and layout) and Brownian increments `dW` whose elements are in
    /// **NCHW order** (any shape of the same count: element (n, c, h, w) of the state takes the
    /// increment at NCHW offset ((n·C + c)·H + h)·W + w), returned in `nChw16c`. The increments are
    /// transposed in registers as they are read, so a solve whose state stays blocked draws exactly
    /// the noise of the NCHW solve. The roundings are those of the NCHW updates
    /// (``addingScaled(_:_:_:_:)``, ``addingProduct(_:affine:scale:shift:)``), the same bits for
    /// the same inputs. Differentiable in the state and the drift; `dW` is a constant.
    public func eulerMaruyamaUpdate(nChw16cDrift f: Tensor, increments dW: Tensor, noise: BlockedUpdateNoise, dt: Float,
                                    sigma: Float) -> Tensor {
        precondition(rank == 5 && shape[4] == 16 && f.shape == shape && dW.count == count,
                     "eulerMaruyamaUpdate (nChw16c): expected a state [N, C/16, H, W, 16], a drift of its shape and \(count) increments, got \(shape), \(f.shape) and \(dW.shape)")
        let w = dW.detached()
        let value = BlockedLayout.eulerMaruyamaUpdate(self, drift: f, increments: w, noise: noise.kernelValue, dt: dt, sigma: sigma)
        return Tensor.record(value, inputs: [self, f]) { BlockedEulerMaruyamaUpdateOp(increments: w, noise: noise, dt: dt, sigma: sigma) }
    }
}

/// The update of ``Tensor/eulerMaruyamaUpdate(nChw16cDrift:increments:noise:dt:sigma:)``, linear
/// in (y, f) with diagonal coefficients: ∂/∂y = 1 (+ σ·ΔW multiplicative), ∂/∂f = Δt (dropout:
/// Δt + σ·ΔW). Its pullback and its tangent are the same maps.
struct BlockedEulerMaruyamaUpdateOp: DifferentiableOp {
    /// ΔW in NCHW order.
    let increments: Tensor
    let noise: Tensor.BlockedUpdateNoise
    let dt: Float, sigma: Float
    var name: String { "eulerMaruyamaUpdate (nChw16c)" }

    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let (state, drift) = coefficientsApplied(g, state: needsGradient[0], drift: needsGradient[1])
        return [state, drift]
    }

    func jvp(_ t: [Tensor?]) -> Tensor? {
        let fromState = t[0].map { coefficientsApplied($0, state: true, drift: false).state! }
        let fromDrift = t[1].map { coefficientsApplied($0, state: false, drift: true).drift! }
        switch (fromState, fromDrift) {
        case let (s?, d?): return s + d
        case let (s, d): return s ?? d
        }
    }

    /// (∂/∂y ⊙ a, ∂/∂f ⊙ a), each where asked for.
    private func coefficientsApplied(_ a: Tensor, state: Bool, drift: Bool) -> (state: Tensor?, drift: Tensor?) {
        switch noise {
        case .additive:
            return (state ? a : nil, drift ? a * dt : nil)
        case .multiplicative:
            guard state else { return (nil, drift ? a * dt : nil) }
            return BlockedLayout.eulerMaruyamaPullback(a, increments: increments, noise: noise.kernelValue, drift: drift,
                                                       dt: dt, sigma: sigma)
        case .dropout:
            guard drift else { return (state ? a : nil, nil) }
            let (_, d) = BlockedLayout.eulerMaruyamaPullback(a, increments: increments, noise: noise.kernelValue, drift: true,
                                                             dt: dt, sigma: sigma)
            return (state ? a : nil, d)
        }
    }
}
