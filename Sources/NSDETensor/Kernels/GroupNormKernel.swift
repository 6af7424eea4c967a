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
                    for row in r {
                        let base = src + row * m
                        let mu = VectorSum.sum(base, m) / Float(m)
                        let v = VectorSum.sumOfSquaredDeviations(base, m, mean: mu)
                        let rs = 1 / (v / Float(m) + eps).squareRoot()
                        mb[row] = mu; rb[row] = rs
                        let g0 = (row % groups) * cpg
                        let out = dst + row * m
                        for k in 0..<cpg {
                            let ch = g0 + k
                            let scale = rs * (gp?[ch] ?? 1)
                            let shift = (bp?[ch] ?? 0) - mu * scale
                            let xi = base + k * hw, yo = out + k * hw
                            if relu {
                                for i in 0..<hw { yo[i] = Swift.max(xi[i] * scale + shift, 0) }
                            } else {
                                for i in 0..<hw { yo[i] = xi[i] * scale + shift }
                            }
                        }
                    }
                }
            }
        }
        return (y, Statistics(mean: mean, rstd: rstd))
    }

    /// Backward pass: returns (dx, dgamma, dbeta); dgamma/dbeta are nil when `gamma` is nil.
    /// When the forward pass applied ReLU, pass its output as `reluOutput`: the upstream
    /// gradient is then masked where the output was zero, inside the same loops.
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
        // With a fused ReLU, mask the upstream gradient once into a scratch buffer per row.
        let yp = reluOutput?.storage.pointer
        stats.mean.withUnsafeBufferPointer { meanBuf in
            stats.rstd.withUnsafeBufferPointer { rstdBuf in
                Parallel.forEachChunk(rows, grain: max(1, 8_192 / max(m, 1))) { r in
                    let scratch = yp == nil ? nil : UnsafeMutablePointer<Float>.allocate(capacity: m)
                    defer { scratch?.deallocate() }
                    for row in r {
                        let mu = meanBuf[row], rs = rstdBuf[row]
                        let g0 = (row % groups) * cpg, sample = row / groups
                        let xb = xs + row * m
                        var gb = g + row * m
                        if let yp, let scratch {
                            let yb = yp + row * m
                            VectorSum.reluMask(gb, by: yb, into: scratch, m)
                            gb = UnsafeMutablePointer(scratch)
                        }
                        // Sums of dxhat and dxhat * xhat over the group.
                        var sumD: Float = 0, sumDX: Float = 0
                        for k in 0..<cpg {
                            let ch = g0 + k
                            let gam = gp?[ch] ?? 1
                            let xi = xb + k * hw, gi = gb + k * hw
                            var (sg, sgx) = VectorSum.sumAndCenteredDot(gi, xi, hw, mean: mu)
                            sgx *= rs
                            dgPart[sample * c + ch] = sgx
                            dbPart[sample * c + ch] = sg
                            sumD += gam * sg; sumDX += gam * sgx
                        }
                        guard let dxp else { continue }
                        let meanD = sumD / Float(m), meanDX = sumDX / Float(m)
                        let out = dxp + row * m
                        for k in 0..<cpg {
                            let ch = g0 + k
                            let gam = gp?[ch] ?? 1
                            let xi = xb + k * hw, gi = gb + k * hw, oi = out + k * hw
                            // dx = rstd · (γ·dy − mean(dx̂) − x̂ · mean(dx̂ · x̂))
                            let a = rs * gam, b = -rs * meanD, cc = -rs * rs * meanDX
                            for i in 0..<hw { oi[i] = a * gi[i] + b + cc * (xi[i] - mu) }
                        }
                    }
                }
            }
        }
        guard gamma != nil else { return (dx, nil, nil) }
        let dgamma = Tensor(repeating: 0, shape: [c]), dbeta = Tensor(repeating: 0, shape: [c])
        for s in 0..<n {
            for ch in 0..<c {
                dgamma.storage.pointer[ch] += dgPart[s * c + ch]
                dbeta.storage.pointer[ch] += dbPart[s * c + ch]
            }
        }
        return (dx, dgamma, dbeta)
    }
}
