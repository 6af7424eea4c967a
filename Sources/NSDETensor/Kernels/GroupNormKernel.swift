import CKernels

/// Group normalisation kernels on NCHW tensors, parallel over (sample, group) pairs.
///
/// For each sample n and group g of `C / G` channels, with `m = (C / G)·H·W` elements:
/// `x̂ = (x − μ) · rstd`, `rstd = 1 / sqrt(σ² + ε)`, `y = γ_c · x̂ + β_c`.
public enum GroupNormKernel {
    /// Per-(sample, group) statistics saved by the forward pass for the backward pass.
    public struct Statistics {
        /// Mean of each (n, g), `[N·G]`.
        public let mean: [Float]
        /// 1 / sqrt(variance + eps) of each (n, g), `[N·G]`.
        public let rstd: [Float]
    }

    @inline(__always)
    static func geometry(_ shape: [Int], groups: Int) -> (n: Int, c: Int, hw: Int, cpg: Int) {
        precondition(shape.count >= 2, "groupNorm: expects [N, C, ...], got \(shape)")
        let n = shape[0], c = shape[1], hw = shape[2...].reduce(1, *)
        precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels are not divisible into \(groups) groups")
        return (n, c, hw, c / groups)
    }

    /// Forward pass. `gamma`/`beta` are `[C]` (nil means 1 and 0). With `relu`, returns
    /// max(y, 0) instead of y (one pass instead of two). Returns the output and the statistics.
    /// The mean and variance are sums with 8-lane partial sums in a fixed order
    /// (`nsde_group_norm_forward`, the same bits on every instruction set).
    public static func forward(_ x: Tensor, groups: Int, gamma: Tensor?, beta: Tensor?, eps: Float,
                               relu: Bool = false) -> (Tensor, Statistics) {
        let (n, _, hw, cpg) = geometry(x.shape, groups: groups)
        let y = Tensor(uninitializedShape: x.shape)
        let rows = n * groups, m = cpg * hw
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        let src = x.storage.pointer, dst = y.storage.pointer
        let gp = gamma?.storage.pointer, bp = beta?.storage.pointer
        mean.withUnsafeMutableBufferPointer { meanBuf in
            rstd.withUnsafeMutableBufferPointer { rstdBuf in
                let mb = meanBuf.baseAddress!, rb = rstdBuf.baseAddress!
                Parallel.forEachChunk(rows, grain: max(1, 16_384 / max(m, 1))) { r in
                    nsde_group_norm_forward(src, dst, Int64(r.lowerBound), Int64(r.upperBound), Int64(groups), Int64(cpg),
                                            Int64(hw), gp, bp, eps, relu ? 1 : 0, mb, rb)
                }
            }
        }
        return (y, Statistics(mean: mean, rstd: rstd))
    }

    /// Backward pass: returns (dx, dgamma, dbeta); dgamma/dbeta are nil when `gamma` is nil.
    /// When the forward pass applied ReLU, pass its output as `reluOutput`: the upstream
    /// gradient is then masked where the output was zero, inside the same loops
    /// (`nsde_group_norm_backward`).
    public static func backward(_ dy: Tensor, x: Tensor, groups: Int, gamma: Tensor?, stats: Statistics,
                                reluOutput: Tensor? = nil, needInput: Bool = true) -> (Tensor?, Tensor?, Tensor?) {
        let (n, c, hw, cpg) = geometry(x.shape, groups: groups)
        let rows = n * groups, m = cpg * hw
        let dx = needInput ? Tensor(uninitializedShape: x.shape) : nil
        // Per-(n, c) partial sums for the affine gradients, reduced over n afterwards.
        let dgPart = UnsafeMutablePointer<Float>.allocate(capacity: n * c)
        let dbPart = UnsafeMutablePointer<Float>.allocate(capacity: n * c)
        defer { dgPart.deallocate(); dbPart.deallocate() }
        let xs = x.storage.pointer, g = dy.storage.pointer, dxp = dx?.storage.pointer
        let gp = gamma?.storage.pointer
        let yp = reluOutput?.storage.pointer
        stats.mean.withUnsafeBufferPointer { meanBuf in
            stats.rstd.withUnsafeBufferPointer { rstdBuf in
                let mb = meanBuf.baseAddress!, rb = rstdBuf.baseAddress!
                Parallel.forEachChunk(rows, grain: max(1, 8_192 / max(m, 1))) { r in
                    // With a fused ReLU, the masked upstream gradient of one row at a time.
                    let scratch = yp == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: m)
                    defer { scratch?.deallocate() }
                    nsde_group_norm_backward(g, xs, yp, scratch, dxp, Int64(r.lowerBound), Int64(r.upperBound), Int64(groups),
                                             Int64(cpg), Int64(hw), gp, mb, rb, dgPart, dbPart)
                }
            }
        }
        guard gamma != nil else { return (dx, nil, nil) }
        let (dgamma, dbeta) = affineGradients(dgPart, dbPart, samples: n, channels: c)
        return (dx, dgamma, dbeta)
    }
}

// MARK: - ReLU'd output in oneDNN's blocked layout

extension GroupNormKernel {
    /// dγ and dβ `[C]`: the per-(sample, channel) partial sums `[N·C]` added over the samples in order.
    static func affineGradients(_ dgPart: UnsafePointer<Float>, _ dbPart: UnsafePointer<Float>, samples n: Int,
                                channels c: Int) -> (Tensor, Tensor) {
        let dgamma = Tensor(repeating: 0, shape: [c]), dbeta = Tensor(repeating: 0, shape: [c])
        for s in 0..<n {
            for ch in 0..<c {
                dgamma.storage.pointer[ch] += dgPart[s * c + ch]
                dbeta.storage.pointer[ch] += dbPart[s * c + ch]
            }
        }
        return (dgamma, dbeta)
    }

    /// Whether ``forwardBlocked(_:adding:groups:gamma:beta:eps:)`` handles `shape` with `groups`:
    /// `[N, C, H, W]` with C a multiple of 16 and whole groups in every 16-channel block.
    static func supportsBlocked(_ shape: [Int], groups: Int) -> Bool {
        guard shape.count == 4, groups > 0, shape[1] % groups == 0 else { return false }
        let cpg = shape[1] / groups
        return shape[1] % 16 == 0 && 16 % cpg == 0
    }

    /// `relu(groupNorm(x))` written in oneDNN's `nChw16c` layout (the source layout of its AVX-512
    /// convolutions), parallel over (sample, 16-channel block) units. For an NCHW `x`, the same values
    /// and statistics as ``forward(_:groups:gamma:beta:eps:relu:)`` (`nsde_group_norm_relu_forward_blocked`).
    /// For `x` itself in `nChw16c` (`[N, C/16, H, W, 16]`, the output of a convolution that stays in
    /// oneDNN's layout), of `x + addend` with `addend` one sample's `[C/16, H·W, 16]` block broadcast
    /// over the batch, added as x is read (`nsde_group_norm_forward_blocked_input`): its
    /// statistics are lane-wise sums, so they agree with the NCHW ones to rounding.
    ///
    /// With `relu` false (blocked inputs only), the normalisation alone: `groupNorm(x + addend)` in `nChw16c`.
    static func forwardBlocked(_ x: Tensor, adding addend: TensorStorage? = nil, groups: Int, gamma: Tensor?,
                               beta: Tensor?, eps: Float, relu: Bool = true) -> (TensorStorage, Statistics) {
        let blockedInput = x.rank == 5
        precondition(blockedInput || addend == nil, "groupNorm (blocked): an addend needs an nChw16c input")
        precondition(blockedInput || relu, "groupNorm (blocked): without ReLU the input must be in nChw16c")
        let shape = blockedInput ? BlockedLayout.logicalShape(x.shape) : x.shape
        precondition(supportsBlocked(shape, groups: groups), "groupNorm (blocked): unsupported shape \(shape) with \(groups) groups")
        let (n, c, hw, cpg) = geometry(shape, groups: groups)
        let y = TensorStorage(uninitializedCount: x.count)
        var mean = [Float](repeating: 0, count: n * groups), rstd = [Float](repeating: 0, count: n * groups)
        let src = x.storage.pointer, dst = y.pointer, ap = addend?.pointer
        let gp = gamma?.storage.pointer, bp = beta?.storage.pointer
        mean.withUnsafeMutableBufferPointer { meanBuf in
            rstd.withUnsafeMutableBufferPointer { rstdBuf in
                let mb = meanBuf.baseAddress!, rb = rstdBuf.baseAddress!
                Parallel.forEachChunk(n * c / 16, grain: max(1, 16_384 / max(16 * hw, 1))) { r in
                    let (begin, end) = (Int64(r.lowerBound), Int64(r.upperBound))
                    if blockedInput {
                        nsde_group_norm_forward_blocked_input(src, ap, dst, begin, end, Int64(groups), Int64(cpg), Int64(hw),
                                                              gp, bp, eps, relu ? 1 : 0, mb, rb)
                    } else {
                        nsde_group_norm_relu_forward_blocked(src, dst, begin, end, Int64(groups), Int64(cpg), Int64(hw), gp, bp,
                                                             eps, mb, rb)
                    }
                }
            }
        }
        withExtendedLifetime((x, addend)) {}
        return (y, Statistics(mean: mean, rstd: rstd))
    }

    /// The backward pass of ``forwardBlocked(_:adding:groups:gamma:beta:eps:relu:)``: `dy` in `nChw16c`,
    /// `x`, `addend`, `gamma`, `beta` and `stats` those of the forward pass, the returned input
    /// gradient in `x`'s layout. For an NCHW `x`, the values of ``backward(_:x:groups:gamma:stats:reluOutput:needInput:)``
    /// with the forward pass's output (the ReLU's mask is recomputed from x, element for element).
    /// `relu` must be the forward pass's. With `inputAccumulator` (blocked inputs only: a gradient of
    /// `x`'s shape that nothing else references), the input gradient is added into it (the values
    /// of a separate addition) and it is returned as the input gradient.
    static func backwardBlocked(_ dy: TensorStorage, x: Tensor, adding addend: TensorStorage? = nil, groups: Int,
                                gamma: Tensor?, beta: Tensor?, stats: Statistics, relu: Bool = true,
                                needInput: Bool, inputAccumulator: Tensor? = nil) -> (Tensor?, Tensor?, Tensor?) {
        let blockedInput = x.rank == 5
        precondition(blockedInput || relu, "groupNorm (blocked): without ReLU the input must be in nChw16c")
        let (n, c, hw, cpg) = geometry(blockedInput ? BlockedLayout.logicalShape(x.shape) : x.shape, groups: groups)
        precondition(inputAccumulator.map { blockedInput && needInput && $0.shape == x.shape } ?? true,
                     "groupNorm (blocked): an input accumulator needs a blocked input of its shape")
        let dx = needInput ? inputAccumulator ?? Tensor(uninitializedShape: x.shape) : nil
        let dgPart = UnsafeMutablePointer<Float>.allocate(capacity: n * c)
        let dbPart = UnsafeMutablePointer<Float>.allocate(capacity: n * c)
        defer { dgPart.deallocate(); dbPart.deallocate() }
        let xs = x.storage.pointer, g = dy.pointer, dxp = dx?.storage.pointer, ap = addend?.pointer
        let gp = gamma?.storage.pointer, bp = beta?.storage.pointer
        stats.mean.withUnsafeBufferPointer { meanBuf in
            stats.rstd.withUnsafeBufferPointer { rstdBuf in
                let mb = meanBuf.baseAddress!, rb = rstdBuf.baseAddress!
                Parallel.forEachChunk(n * c / 16, grain: max(1, 8_192 / max(16 * hw, 1))) { r in
                    let (begin, end) = (Int64(r.lowerBound), Int64(r.upperBound))
                    if blockedInput {
                        nsde_group_norm_backward_blocked_input(g, xs, ap, bp, relu ? 1 : 0, inputAccumulator == nil ? 0 : 1, dxp, begin, end, Int64(groups),
                                                               Int64(cpg), Int64(hw), gp, mb, rb, dgPart, dbPart)
                    } else {
                        // The masked upstream gradient of one unit at a time, in NCHW order.
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 16 * hw)
                        defer { scratch.deallocate() }
                        nsde_group_norm_relu_backward_blocked(g, xs, bp, scratch, dxp, begin, end, Int64(groups), Int64(cpg),
                                                              Int64(hw), gp, mb, rb, dgPart, dbPart)
                    }
                }
            }
        }
        withExtendedLifetime((dy, x, addend)) {}
        guard gamma != nil else { return (dx, nil, nil) }
        let (dgamma, dbeta) = affineGradients(dgPart, dbPart, samples: n, channels: c)
        return (dx, dgamma, dbeta)
    }
}
