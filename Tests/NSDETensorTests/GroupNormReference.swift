@testable import NSDETensor

// The Swift GroupNorm kernels that the C kernels (`nsde_group_norm_forward`/`_backward`) replaced,
// kept as the reference the tests compare them with bit for bit.

/// Sums over contiguous `Float` buffers with SIMD accumulators.
///
/// LLVM does not vectorise a scalar `s += p[i]` loop (it may not reorder floating-point
/// additions), so such a loop runs one dependent addition per element, at a few cycles each.
/// These keep four 8-wide partial sums (32 elements per iteration), combine them in a fixed order
/// and add the tail last: the result depends only on the values and their count, never on
/// threads, and differs from the sequential sum only by rounding. Measured in the GroupNorm
/// kernels (the narrow models' normalisation on 16 channels of 26x26): the scalar loops took a
/// third of a training step.
enum VectorSum {
    typealias F8 = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }

    /// Σ p[i] for i in 0..<count.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
        var i = 0
        while i &+ 32 <= count {
            a0 += load(p + i); a1 += load(p + (i &+ 8)); a2 += load(p + (i &+ 16)); a3 += load(p + (i &+ 24))
            i &+= 32
        }
        while i &+ 8 <= count { a0 += load(p + i); i &+= 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < count { s += p[i]; i &+= 1 }
        return s
    }

    /// Σ (p[i] − mean)² for i in 0..<count.
    @inline(__always)
    static func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ count: Int, mean: Float) -> Float {
        let m = F8(repeating: mean)
        var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load(p + i) - m, d1 = load(p + (i &+ 8)) - m, d2 = load(p + (i &+ 16)) - m, d3 = load(p + (i &+ 24)) - m
            a0 += d0 * d0; a1 += d1 * d1; a2 += d2 * d2; a3 += d3 * d3
            i &+= 32
        }
        while i &+ 8 <= count { let d = load(p + i) - m; a0 += d * d; i &+= 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < count { let d = p[i] - mean; s += d * d; i &+= 1 }
        return s
    }

    /// (Σ g[i], Σ g[i]·(x[i] − mean)) for i in 0..<count.
    @inline(__always)
    static func sumAndCenteredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int,
                                  mean: Float) -> (sum: Float, dot: Float) {
        let m = F8(repeating: mean)
        var s0 = F8(), s1 = F8(), d0 = F8(), d1 = F8()
        var i = 0
        while i &+ 16 <= count {
            let g0 = load(g + i), g1 = load(g + (i &+ 8))
            s0 += g0; s1 += g1
            d0 += g0 * (load(x + i) - m); d1 += g1 * (load(x + (i &+ 8)) - m)
            i &+= 16
        }
        while i &+ 8 <= count {
            let g0 = load(g + i)
            s0 += g0; d0 += g0 * (load(x + i) - m)
            i &+= 8
        }
        var s = (s0 + s1).sum(), d = (d0 + d1).sum()
        while i < count { s += g[i]; d += g[i] * (x[i] - mean); i &+= 1 }
        return (s, d)
    }

    /// out[i] = y[i] > 0 ? g[i] : 0 (the gradient through a ReLU whose output was `y`), without
    /// branches: a scalar `? :` loop compiles to a conditional jump per element, mispredicted
    /// about half the time on a ReLU's output.
    @inline(__always)
    static func reluMask(_ g: UnsafePointer<Float>, by y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, _ count: Int) {
        let zero = F8()
        var i = 0
        while i &+ 8 <= count {
            let v = load(g + i).replacing(with: zero, where: load(y + i) .<= zero)
            UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: F8.self)
            i &+= 8
        }
        while i < count { out[i] = y[i] > 0 ? g[i] : 0; i &+= 1 }
    }
}

/// The former Swift GroupNorm loops of ``GroupNormKernel``, row by row over arrays: the same
/// operations in the same order (``VectorSum`` for the sums), without the threads.
enum GroupNormReference {
    /// `(y, mean, rstd)` of ``GroupNormKernel/forward(_:groups:gamma:beta:eps:relu:)``.
    static func forward(_ x: Tensor, groups: Int, gamma: Tensor?, beta: Tensor?, eps: Float, relu: Bool) -> (y: [Float], mean: [Float], rstd: [Float]) {
        let (n, _, hw, cpg) = GroupNormKernel.geometry(x.shape, groups: groups)
        let m = cpg * hw, xs = x.scalars, gs = gamma?.scalars, bs = beta?.scalars
        var y = [Float](repeating: 0, count: xs.count), mean: [Float] = [], rstd: [Float] = []
        xs.withUnsafeBufferPointer { all in
            for row in 0..<(n * groups) {
                let base = all.baseAddress! + row * m
                let mu = VectorSum.sum(base, m) / Float(m)
                let v = VectorSum.sumOfSquaredDeviations(base, m, mean: mu)
                let rs = 1 / (v / Float(m) + eps).squareRoot()
                mean.append(mu); rstd.append(rs)
                for k in 0..<cpg {
                    let ch = (row % groups) * cpg + k
                    let scale = rs * (gs?[ch] ?? 1), shift = (bs?[ch] ?? 0) - mu * scale
                    for i in 0..<hw {
                        let at = row * m + k * hw + i, value = xs[at] * scale + shift
                        y[at] = relu ? Swift.max(value, 0) : value
                    }
                }
            }
        }
        return (y, mean, rstd)
    }

    /// `(dx, dgamma, dbeta)` of ``GroupNormKernel/backward(_:x:groups:gamma:stats:reluOutput:needInput:)``
    /// (dgamma/dbeta nil without `gamma`).
    static func backward(_ dy: Tensor, x: Tensor, groups: Int, gamma: Tensor?, mean: [Float], rstd: [Float],
                         reluOutput: [Float]?) -> (dx: [Float], dgamma: [Float]?, dbeta: [Float]?) {
        let (n, c, hw, cpg) = GroupNormKernel.geometry(x.shape, groups: groups)
        let m = cpg * hw, xs = x.scalars, gs = gamma?.scalars
        var g = dy.scalars
        if let reluOutput {
            // The mask in 8-element blocks from each row's start (y ≤ 0 → 0), the tail by y > 0.
            for row in 0..<(n * groups) {
                for i in 0..<m where (i < m / 8 * 8 ? reluOutput[row * m + i] <= 0 : !(reluOutput[row * m + i] > 0)) {
                    g[row * m + i] = 0
                }
            }
        }
        var dx = [Float](repeating: 0, count: xs.count)
        var dgamma = [Float](repeating: 0, count: c), dbeta = [Float](repeating: 0, count: c)
        var dgPart = [Float](repeating: 0, count: n * c), dbPart = [Float](repeating: 0, count: n * c)
        xs.withUnsafeBufferPointer { xAll in
            g.withUnsafeBufferPointer { gAll in
                for row in 0..<(n * groups) {
                    let mu = mean[row], rs = rstd[row], sample = row / groups, g0 = (row % groups) * cpg
                    var sumD: Float = 0, sumDX: Float = 0
                    for k in 0..<cpg {
                        let at = row * m + k * hw, gam = gs?[g0 + k] ?? 1
                        var (sg, sgx) = VectorSum.sumAndCenteredDot(gAll.baseAddress! + at, xAll.baseAddress! + at, hw, mean: mu)
                        sgx *= rs
                        dgPart[sample * c + g0 + k] = sgx; dbPart[sample * c + g0 + k] = sg
                        sumD += gam * sg; sumDX += gam * sgx
                    }
                    let meanD = sumD / Float(m), meanDX = sumDX / Float(m)
                    for k in 0..<cpg {
                        let gam = gs?[g0 + k] ?? 1
                        let a = rs * gam, b = -rs * meanD, cc = -rs * rs * meanDX
                        for i in 0..<hw {
                            let at = row * m + k * hw + i
                            dx[at] = a * g[at] + b + cc * (xs[at] - mu)
                        }
                    }
                }
            }
        }
        for s in 0..<n {
            for ch in 0..<c { dgamma[ch] += dgPart[s * c + ch]; dbeta[ch] += dbPart[s * c + ch] }
        }
        return (dx, gamma == nil ? nil : dgamma, gamma == nil ? nil : dbeta)
    }
}
