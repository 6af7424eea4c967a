import CKernels
/// Vectorisable elementwise loops over tensors, parallel over the available threads.
///
/// The loops are written as plain `a[i] op b[i]` over unsafe pointers so that the optimiser
/// vectorises them without special compiler flags.
public enum Elementwise {
    /// `out[i] = f(x[i])`.
    @inlinable
    public static func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(x.count) { r in
            for i in r { dst[i] = f(src[i]) }
        }
        return out
    }

    /// `out[i] = f(x[i], y[i])` for two tensors of the same shape.
    @inlinable
    public static func zip(_ x: Tensor, _ y: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(x.shape == y.shape, "Elementwise.zip: shapes \(x.shape) and \(y.shape) differ")
        let out = Tensor(uninitializedShape: x.shape)
        let a = x.storage.pointer, b = y.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(x.count) { r in
            for i in r { dst[i] = f(a[i], b[i]) }
        }
        return out
    }

    /// `out[i] = f(x[i], y[i], z[i])` for three tensors of the same shape.
    @inlinable
    public static func zip3(_ x: Tensor, _ y: Tensor, _ z: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
        precondition(x.shape == y.shape && y.shape == z.shape, "Elementwise.zip3: shapes \(x.shape), \(y.shape), \(z.shape) differ")
        let out = Tensor(uninitializedShape: x.shape)
        let a = x.storage.pointer, b = y.storage.pointer, c = z.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(x.count) { r in
            for i in r { dst[i] = f(a[i], b[i], c[i]) }
        }
        return out
    }

    /// `out = f(a, b)` with NumPy broadcasting.
    @inlinable
    public static func broadcasting(_ x: Tensor, _ y: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        broadcasting(x, y, f, rowKernel: nil)
    }

    /// `x op y` with NumPy broadcasting: ``binary(_:_:_:)`` for one shape, and rows of equal
    /// stride (such as `[N, C, H, W] + [1, C, H, W]`) by the same C kernel; the values of
    /// ``broadcasting(_:_:_:)`` with the closure `{ $0 op $1 }`.
    public static func broadcasting(_ op: BinaryOperation, _ x: Tensor, _ y: Tensor) -> Tensor {
        if x.shape == y.shape { return binary(op, x, y) }
        switch op {
        case .add: return broadcasting(x, y, { $0 + $1 }, rowKernel: op.kernel)
        case .subtract: return broadcasting(x, y, { $0 - $1 }, rowKernel: op.kernel)
        case .multiply: return broadcasting(x, y, { $0 * $1 }, rowKernel: op.kernel)
        }
    }

    @usableFromInline
    static func broadcasting(_ x: Tensor, _ y: Tensor, _ f: (Float, Float) -> Float, rowKernel: nsde_binary_op?) -> Tensor {
        if x.shape == y.shape { return zip(x, y, f) }
        guard let outShape = Broadcast.shape(x.shape, y.shape) else {
            preconditionFailure("broadcast: shapes \(x.shape) and \(y.shape) are not compatible")
        }
        let out = Tensor(uninitializedShape: outShape)
        let a = x.storage.pointer, b = y.storage.pointer, dst = out.storage.pointer
        if y.count == 1 {
            let s = b[0]
            Parallel.forEachChunk(out.count) { r in for i in r { dst[i] = f(a[i], s) } }
            return out
        }
        if x.count == 1 {
            let s = a[0]
            Parallel.forEachChunk(out.count) { r in for i in r { dst[i] = f(s, b[i]) } }
            return out
        }
        let (dims, strides) = Broadcast.coalesce(outShape, [Broadcast.strides(of: x.shape, broadcastTo: outShape),
                                                            Broadcast.strides(of: y.shape, broadcastTo: outShape)])
        let inner = dims[dims.count - 1]
        let sa = strides[0][dims.count - 1], sb = strides[1][dims.count - 1]
        let rows = out.count / max(inner, 1)
        Parallel.forEachChunk(rows, grain: max(1, 32_768 / max(inner, 1))) { r in
            var idx = [Int](repeating: 0, count: dims.count)
            for row in r {
                // Decompose the row index over the outer dimensions.
                var rem = row, offA = 0, offB = 0
                for d in stride(from: dims.count - 2, through: 0, by: -1) {
                    idx[d] = rem % dims[d]; rem /= dims[d]
                    offA += idx[d] * strides[0][d]; offB += idx[d] * strides[1][d]
                }
                let o = dst + row * inner, pa = a + offA, pb = b + offB
                switch (sa, sb) {
                case (1, 1):
                    if let rowKernel { nsde_binary(rowKernel, pa, pb, o, Int64(inner)); continue }
                    for i in 0..<inner { o[i] = f(pa[i], pb[i]) }
                case (1, 0): let v = pb[0]; for i in 0..<inner { o[i] = f(pa[i], v) }
                case (0, 1): let v = pa[0]; for i in 0..<inner { o[i] = f(v, pb[i]) }
                default: for i in 0..<inner { o[i] = f(pa[i * sa], pb[i * sb]) }
                }
            }
        }
        return out
    }
}

// MARK: - Same-shape arithmetic (C kernels per instruction set)

extension Elementwise {
    /// The operations of ``binary(_:_:_:)``.
    public enum BinaryOperation: Sendable {
        case add, subtract, multiply
        var kernel: nsde_binary_op {
            switch self {
            case .add: NSDE_ADD
            case .subtract: NSDE_SUB
            case .multiply: NSDE_MUL
            }
        }
    }

    /// `x op y` elementwise for two tensors of one shape (the same values as the Swift closure
    /// `{ $0 op $1 }`, computed by the C kernel for the processor's vector width).
    public static func binary(_ op: BinaryOperation, _ x: Tensor, _ y: Tensor) -> Tensor {
        precondition(x.shape == y.shape, "Elementwise.binary: shapes \(x.shape) and \(y.shape) differ")
        let out = Tensor(uninitializedShape: x.shape)
        let a = x.storage.pointer, b = y.storage.pointer, dst = out.storage.pointer, kernel = op.kernel
        Parallel.forEachChunk(x.count) { r in
            nsde_binary(kernel, a + r.lowerBound, b + r.lowerBound, dst + r.lowerBound, Int64(r.count))
        }
        return out
    }

    /// `accumulator += g` elementwise, in place (the values of ``binary(_:_:_:)`` `.add`).
    /// `accumulator` must be the only reference to its storage.
    static func addInPlace(_ accumulator: Tensor, _ g: Tensor) {
        precondition(accumulator.shape == g.shape, "Elementwise.addInPlace: shapes \(accumulator.shape) and \(g.shape) differ")
        let a = accumulator.storage.pointer, b = g.storage.pointer
        Parallel.forEachChunk(g.count) { r in nsde_add_inplace(a + r.lowerBound, b + r.lowerBound, Int64(r.count)) }
    }

    /// `x · scale + shift` elementwise (two roundings).
    public static func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        let a = x.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(x.count) { r in
            nsde_affine(a + r.lowerBound, scale, shift, dst + r.lowerBound, Int64(r.count))
        }
        return out
    }

    /// `x + a ⊙ b` elementwise for three tensors of one shape (two roundings).
    public static func addingProduct(_ x: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        ternary("addingProduct", x, a, b) { nsde_adding_product($0, $1, $2, $3, $4) }
    }

    /// `kernel(x, a, b, out, count)` over three tensors of one shape into a new one, in chunks
    /// across the threads (`name` labels the shape check).
    static func ternary(_ name: String, _ x: Tensor, _ a: Tensor, _ b: Tensor,
                        _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                   UnsafeMutablePointer<Float>, Int64) -> Void) -> Tensor {
        precondition(a.shape == x.shape && b.shape == x.shape,
                     "Elementwise.\(name): shapes \(x.shape), \(a.shape) and \(b.shape) must be equal")
        let out = Tensor(uninitializedShape: x.shape)
        let px = x.storage.pointer, pa = a.storage.pointer, pb = b.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(x.count) { r in
            let lo = r.lowerBound
            kernel(px + lo, pa + lo, pb + lo, dst + lo, Int64(r.count))
        }
        return out
    }
}

extension Elementwise {
    /// `x + α·a + β·b` elementwise for three tensors of one shape, rounded as Swift evaluates
    /// `x + alpha * a + beta * b` (left to right, no fused multiply-add).
    public static func addingScaled(_ x: Tensor, _ a: Tensor, _ alpha: Float, _ b: Tensor, _ beta: Float) -> Tensor {
        ternary("addingScaled", x, a, b) { nsde_adding_scaled($0, $1, alpha, $2, beta, $3, $4) }
    }

    /// `x + a ⊙ (b · scale + shift)` elementwise for three tensors of one shape, with the
    /// roundings of ``affine(_:scale:shift:)`` then ``addingProduct(_:_:_:)`` (same bits).
    public static func addingProductAffine(_ x: Tensor, _ a: Tensor, _ b: Tensor, scale: Float, shift: Float) -> Tensor {
        ternary("addingProductAffine", x, a, b) { nsde_adding_product_affine($0, $1, $2, scale, shift, $3, $4) }
    }

    /// `a ⊙ (b · scale + shift)` elementwise for two tensors of one shape, with the roundings of
    /// ``affine(_:scale:shift:)`` then a product (same bits).
    public static func productAffine(_ a: Tensor, _ b: Tensor, scale: Float, shift: Float) -> Tensor {
        precondition(a.shape == b.shape, "Elementwise.productAffine: shapes \(a.shape) and \(b.shape) differ")
        let out = Tensor(uninitializedShape: a.shape)
        let pa = a.storage.pointer, pb = b.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(a.count) { r in
            let lo = r.lowerBound
            nsde_product_affine(pa + lo, pb + lo, scale, shift, dst + lo, Int64(r.count))
        }
        return out
    }
}

// MARK: - tanh

extension Elementwise {
    /// `tanh(x)` elementwise: a [13/6] rational approximation on [-7.905, 7.905] (the one Eigen
    /// uses; beyond it tanh rounds to ±1 in `Float`), written as a plain loop that the optimiser
    /// vectorises. Largest error against `Foundation.tanh` 2.4e-7 (a few ulp). On the 2-core
    /// AVX2 target a `[256, 128]` tensor takes about 50 µs on one thread against about 1 ms
    /// for `Foundation.tanh` per element.
    public static func tanh(_ x: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(x.count, grain: 16_384) { r in
            nsde_tanh(src + r.lowerBound, dst + r.lowerBound, Int64(r.count))
        }
        return out
    }

    /// `tanh` of every element of `x`, in place (``tanh(_:)``'s values). `x` must be the only
    /// reference to its storage (a tensor just computed and not yet recorded or shared).
    static func tanhInPlace(_ x: Tensor) {
        let p = x.storage.pointer
        Parallel.forEachChunk(x.count, grain: 16_384) { r in nsde_tanh_inplace(p + r.lowerBound, Int64(r.count)) }
    }

    /// `tanh(x[r, c] + bias[c])` of a row-major `[rows, cols]` tensor, in place: a linear layer's
    /// bias and activation in one pass over the GEMM output. `x` must be the only reference to
    /// its storage.
    static func biasAddInPlace(_ x: Tensor, bias: Tensor) {
        precondition(x.rank == 2 && bias.shape == [x.shape[1]], "Elementwise.biasAddInPlace: shapes \(x.shape) and \(bias.shape)")
        let p = x.storage.pointer, b = bias.storage.pointer, cols = x.shape[1]
        Parallel.forEachChunk(x.shape[0], grain: max(1, 32_768 / max(cols, 1))) { r in
            nsde_bias_add_inplace(p + r.lowerBound * cols, b, Int64(r.count), Int64(cols))
        }
    }

    static func biasTanhInPlace(_ x: Tensor, bias: Tensor) {
        precondition(x.rank == 2 && bias.shape == [x.shape[1]], "Elementwise.biasTanhInPlace: shapes \(x.shape) and \(bias.shape)")
        let p = x.storage.pointer, b = bias.storage.pointer, cols = x.shape[1]
        Parallel.forEachChunk(x.shape[0], grain: max(1, 16_384 / max(cols, 1))) { r in
            nsde_bias_tanh_inplace(p + r.lowerBound * cols, b, Int64(r.count), Int64(cols))
        }
    }

    /// One fixed-point iteration of a state reconstruction: `y − (out − x)` and the scaled RMS
    /// norm of its change from `x`, √(mean(((next − x) / (atol + rtol·max(|next|, |x|)))²)), in
    /// one pass (the norm summed in a fixed order; see `nsde_fixed_point_step`).
    public static func fixedPointStep(y: Tensor, out: Tensor, x: Tensor, rtol: Double, atol: Double) -> (next: Tensor, residual: Double) {
        precondition(y.shape == out.shape && y.shape == x.shape,
                     "Elementwise.fixedPointStep: shapes \(y.shape), \(out.shape) and \(x.shape) must be equal")
        let next = Tensor(uninitializedShape: y.shape)
        let sum = nsde_fixed_point_step(y.storage.pointer, out.storage.pointer, x.storage.pointer, next.storage.pointer,
                                        rtol, atol, Int64(y.count))
        return (next, (sum / Double(Swift.max(y.count, 1))).squareRoot())
    }

    /// `g · (1 - y²)`, the gradient of `y = tanh(x)` given the upstream gradient `g`.
    public static func tanhBackward(_ g: Tensor, y: Tensor) -> Tensor {
        precondition(g.shape == y.shape, "Elementwise.tanhBackward: shapes \(g.shape) and \(y.shape) differ")
        let out = Tensor(uninitializedShape: g.shape)
        let pg = g.storage.pointer, py = y.storage.pointer, dst = out.storage.pointer
        // `g · (1 − y²)` per element, in C per instruction set (`nsde_tanh_backward`, same bits).
        Parallel.forEachChunk(g.count, grain: 65_536) { r in
            nsde_tanh_backward(pg + r.lowerBound, py + r.lowerBound, dst + r.lowerBound, Int64(r.count))
        }
        return out
    }

    /// ``tanhBackward(_:y:)`` of `[rows, cols]` matrices and the column sums of the result (the
    /// values of `GEMM.columnSums`), computed in one pass (`nsde_tanh_backward_column_sums`); one
    /// thread (the batch shards are the parallelism of the narrow layers that use it).
    public static func tanhBackwardWithColumnSums(_ g: Tensor, y: Tensor) -> (gradient: Tensor, columnSums: Tensor) {
        precondition(g.shape == y.shape && g.rank == 2,
                     "Elementwise.tanhBackwardWithColumnSums: shapes \(g.shape) and \(y.shape) must be equal and of rank 2")
        let rows = g.shape[0], cols = g.shape[1]
        let out = Tensor(uninitializedShape: g.shape), sums = Tensor(uninitializedShape: [cols])
        let block = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(cols, 1))
        let total = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(cols, 1))
        defer { block.deallocate(); total.deallocate() }
        nsde_tanh_backward_column_sums(g.storage.pointer, y.storage.pointer, out.storage.pointer, Int64(rows), Int64(cols),
                                       block, total, sums.storage.pointer)
        return (out, sums)
    }

    /// Eigen's `generic_fast_tanh_float`: odd [13/6] rational function of the clamped input.
    @inline(__always)
    public static func tanhApproximation(_ a: Float) -> Float {
        let x = Swift.min(Swift.max(a, -7.90531110763549805), 7.90531110763549805)
        let x2 = x * x
        var p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
        p = p * x2 + -8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = p * x
        var q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        return p / q
    }
}
