/// Matrix product. Adjoint: dA = G Bᵀ, dB = Aᵀ G (summed over broadcast batches).
struct MatMulOp: DifferentiableOp {
    let a: Tensor, b: Tensor
    var name: String { "matmul" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let ga = needsGradient[0] ? Tensor.matmulKernel(g, b, transA: false, transB: true) : nil
        var gb: Tensor? = nil
        if needsGradient[1] {
            if b.rank == 2 && a.rank == 3 {
                // B was shared across the batch: flatten the batch into rows.
                let a2 = Tensor(shape: [a.shape[0] * a.shape[1], a.shape[2]], storage: a.storage)
                let g2 = Tensor(shape: [g.shape[0] * g.shape[1], g.shape[2]], storage: g.storage)
                gb = Tensor.matmulKernel(a2, g2, transA: true, transB: false)
            } else {
                gb = Tensor.matmulKernel(a, g, transA: true, transB: false)
            }
        }
        return [ga, gb]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        let x = t[0].map { Tensor.matmulKernel($0, b, transA: false, transB: false) }
        let y = t[1].map { Tensor.matmulKernel(a, $0, transA: false, transB: false) }
        switch (x, y) {
        case let (x?, y?): return x + y
        case let (x?, nil): return x
        case let (nil, y?): return y
        default: return nil
        }
    }
}

/// Fully connected layer `y = x Wᵀ + b` (`x` `[N, in]`, `W` `[out, in]`, `b` `[out]`), one op
/// so that `W` is never transposed in memory. Adjoint: dx = G W, dW = Gᵀ x, db = column sums of G.
///
/// Its pullback accepts the tape's accumulators: where `x` or `W` already holds a gradient (a
/// weight used at every solver step, a state that also feeds the step's update), the GEMM adds
/// into that buffer (`beta = 1`) instead of writing a new one for the tape to add. The values
/// are those of the separate addition whenever the GEMM sums each dot product before adding it
/// to the output (one pass over the inner dimension, as for the layer sizes of MLP drifts);
/// otherwise they differ by the order of one addition.
struct LinearOp: DifferentiableOp {
    let x: Tensor, w: Tensor, hasBias: Bool
    var name: String { "linear" }
    var acceptsAccumulators: Bool { true }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        vjp(g, needsGradient: needsGradient, biasGradient: nil, accumulators: nil)
    }
    func vjp(_ g: Tensor, needsGradient: [Bool], accumulators: [Tensor?]) -> [Tensor?] {
        vjp(g, needsGradient: needsGradient, biasGradient: nil, accumulators: accumulators)
    }

    /// The gradients, with the bias gradient (the column sums of `g`) given when already
    /// computed, the input and weight gradients added into `accumulators[0]` and `[1]` when given.
    func vjp(_ g: Tensor, needsGradient: [Bool], biasGradient: Tensor?, accumulators: [Tensor?]?) -> [Tensor?] {
        let n = g.shape[0], out = w.shape[0], inF = w.shape[1]
        // dx = G W ([n, out] x [out, in]); dW = Gᵀ x ([out, n] x [n, in]).
        func product(_ i: Int, transA: Bool, _ a: Tensor, _ b: Tensor, m: Int, k: Int) -> Tensor? {
            guard needsGradient[i] else { return nil }
            guard let sum = accumulators?[i] else { return Tensor.matmulKernel(a, b, transA: transA, transB: false) }
            GEMM.sgemm(transA: transA, transB: false, m: m, n: inF, k: k, a: a.storage.pointer, lda: transA ? m : k,
                       b: b.storage.pointer, ldb: inF, beta: 1, c: sum.storage.pointer, ldc: inF)
            return sum
        }
        var grads: [Tensor?] = [
            product(0, transA: false, g, w, m: n, k: out),
            product(1, transA: true, g, x, m: out, k: n),
        ]
        if hasBias {
            if needsGradient[2] {
                if let biasGradient {
                    grads.append(biasGradient)
                } else {
                    let out = w.shape[0]
                    let db = Tensor(uninitializedShape: [out])
                    GEMM.columnSums(g.storage.pointer, rows: g.shape[0], cols: out, ld: out, into: db.storage.pointer)
                    grads.append(db)
                }
            } else {
                grads.append(nil)
            }
        }
        return grads
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        // ẏ = ẋ Wᵀ + x Ẇᵀ + ḃ, accumulated in one output buffer.
        let tb = hasBias ? t[2] : nil
        return Tensor.linearKernel(t[0], w, bias: tb, plus: t[1].map { (x, $0) }, outRows: x.shape[0], outFeatures: w.shape[0])
    }
}

/// `y = tanh(x · wᵀ + b)` as one op: the gradient passes through tanh (`g · (1 − y²)`, from the
/// kept output) and then through the linear layer.
struct LinearTanhOp: DifferentiableOp {
    let linear: LinearOp
    let y: Tensor
    var name: String { "linearTanh" }
    var acceptsAccumulators: Bool { true }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        vjp(g, needsGradient: needsGradient, accumulators: nil)
    }
    func vjp(_ g: Tensor, needsGradient: [Bool], accumulators: [Tensor?]) -> [Tensor?] {
        vjp(g, needsGradient: needsGradient, accumulators: Optional(accumulators))
    }
    private func vjp(_ g: Tensor, needsGradient: [Bool], accumulators: [Tensor?]?) -> [Tensor?] {
        // (Serial: used where tanhBackward would run on one thread too.)
        guard linear.hasBias, needsGradient[2], y.rank == 2, y.count < 131_072 || Parallel.threadCount == 1 else {
            return linear.vjp(Elementwise.tanhBackward(g, y: y), needsGradient: needsGradient, biasGradient: nil,
                              accumulators: accumulators)
        }
        // The gradient through tanh and its column sums (the bias gradient) in one pass.
        let (dz, db) = Elementwise.tanhBackwardWithColumnSums(g, y: y)
        return linear.vjp(dz, needsGradient: needsGradient, biasGradient: db, accumulators: accumulators)
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { linear.jvp(t).map { Elementwise.tanhBackward($0, y: y) } }
}

extension Tensor {
    /// Fully connected layer `self · weightᵀ + bias` for `self` `[N, in]`, `weight` `[out, in]`
    /// and `bias` `[out]` (PyTorch's `linear`), recorded as one op: the GEMM writes `self · weightᵀ`
    /// (the weight read transposed in place) and one pass adds the bias while the output is in
    /// cache — the values of preloading the bias and accumulating onto it whenever the GEMM sums
    /// each dot product before adding it to the output (one pass over the inner dimension);
    /// otherwise they differ by the order of one addition.
    ///
    /// `transposedWeight`, when given, must hold `weightᵀ` (`[in, out]`; for example a copy made
    /// once per solve while the weight does not change): the product then reads it as a plain
    /// matrix where oneDNN runs the product (elsewhere it is not used), which oneDNN does faster
    /// than the transposed read for the narrow layers of MLP drifts. The values are the same up to
    /// rounding: oneDNN packs both reads alike, and for the MLP drift's shapes (64 ↔ 128 features,
    /// 128 rows) the bits were measured equal, but for tiny inner sizes it may take another kernel.
    /// Gradients still flow to `weight` (the copy is a constant).
    public func linear(weight: Tensor, bias: Tensor? = nil, transposedWeight: Tensor? = nil) -> Tensor {
        linear(weight: weight, bias: bias, transposedWeight: transposedWeight, thenTanh: false)
    }

    /// `tanh(self · weightᵀ + bias)`: ``linear(weight:bias:)`` followed by ``tanh()``, recorded
    /// as one op: the GEMM writes `self · weightᵀ` and one pass adds the bias and applies tanh in
    /// place while the output is in cache (no bias broadcast before the GEMM, no pre-activation
    /// tensor kept). The values are those of the two ops whenever the GEMM sums each dot product
    /// before adding it to the output (one pass over the inner dimension, as for the layer sizes
    /// of MLP drifts); otherwise they differ by the order of one addition. ``Sequential`` uses it
    /// for a `Linear` followed by a `Tanh`.
    /// `transposedWeight` as in ``linear(weight:bias:transposedWeight:)``.
    public func linearTanh(weight: Tensor, bias: Tensor? = nil, transposedWeight: Tensor? = nil) -> Tensor {
        linear(weight: weight, bias: bias, transposedWeight: transposedWeight, thenTanh: true)
    }

    private func linear(weight: Tensor, bias: Tensor?, transposedWeight: Tensor?, thenTanh: Bool) -> Tensor {
        precondition(rank == 2 && weight.rank == 2 && shape[1] == weight.shape[1],
                     "linear: expected input [N, in] and weight [out, in], got \(shape) and \(weight.shape)")
        if let transposedWeight {
            precondition(transposedWeight.shape == [weight.shape[1], weight.shape[0]],
                         "linear: transposedWeight must have shape [\(weight.shape[1]), \(weight.shape[0])], got \(transposedWeight.shape)")
        }
        if let bias {
            precondition(bias.shape == [weight.shape[0]], "linear: bias shape \(bias.shape) does not match [\(weight.shape[0])]")
        }
        let x = detached(), w = weight.detached(), b = bias?.detached()
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        let op = LinearOp(x: x, w: w, hasBias: b != nil)
        // The GEMM writes x·Wᵀ; one pass then adds the bias (and applies tanh) while it is in cache.
        let value = Tensor.linearKernel(x, w, transposed: transposedWeight?.detached(), bias: nil, outRows: shape[0],
                                        outFeatures: weight.shape[0])
        guard thenTanh else {
            if let b { Elementwise.biasAddInPlace(value, bias: b) }
            return Tensor.record(value, inputs: inputs) { op }
        }
        if let b { Elementwise.biasTanhInPlace(value, bias: b) } else { Elementwise.tanhInPlace(value) }
        return Tensor.record(value, inputs: inputs) { LinearTanhOp(linear: op, y: value) }
    }

    /// `x · wᵀ (+ p · qᵀ) + bias` without autodiff, all into one `[outRows, outFeatures]` buffer;
    /// a `nil` `x` or `bias` is left out (zeros when nothing is given).
    /// `transposed`, when given, is `wᵀ` (`[in, out]`), read as a plain matrix for the `x` term.
    static func linearKernel(_ x: Tensor?, _ w: Tensor, transposed: Tensor? = nil, bias: Tensor?, plus extra: (Tensor, Tensor)? = nil,
                             outRows: Int, outFeatures: Int) -> Tensor {
        let out = Tensor(uninitializedShape: [outRows, outFeatures])
        var terms: [(Tensor, Tensor)] = []
        if let x { terms.append((x, w)) }
        if let extra { terms.append(extra) }
        if terms.isEmpty {
            let c = out.storage.pointer
            for i in 0..<outRows {
                if let bias { (c + i * outFeatures).update(from: bias.storage.pointer, count: outFeatures) }
                else { (c + i * outFeatures).update(repeating: 0, count: outFeatures) }
            }
            return out
        }
        for (i, (p, q)) in terms.enumerated() {
            let inF = p.shape[1]
            // The plain product only where oneDNN runs it (where it measured faster than the
            // transposed read).
            if i == 0, x != nil, let transposed, GEMM.automaticBackend(m: outRows, n: outFeatures, k: inF) == .oneDNN {
                GEMM.sgemm(transA: false, transB: false, m: outRows, n: outFeatures, k: inF, a: p.storage.pointer, lda: inF,
                           b: transposed.storage.pointer, ldb: outFeatures, beta: 0, c: out.storage.pointer, ldc: outFeatures,
                           rowBias: bias?.storage.pointer)
                continue
            }
            GEMM.sgemm(transA: false, transB: true, m: outRows, n: outFeatures, k: inF, a: p.storage.pointer, lda: inF,
                       b: q.storage.pointer, ldb: inF, beta: i == 0 ? 0 : 1, c: out.storage.pointer, ldc: outFeatures,
                       rowBias: i == 0 ? bias?.storage.pointer : nil)
        }
        withExtendedLifetime((terms, bias, transposed)) {}
        return out
    }

    /// Matrix product: `[m, k] x [k, n] -> [m, n]`, batched `[B, m, k] x [B, k, n] -> [B, m, n]`,
    /// or `[B, m, k] x [k, n] -> [B, m, n]`.
    public func matmul(_ other: Tensor) -> Tensor {
        let value = Tensor.matmulKernel(detached(), other.detached(), transA: false, transB: false)
        let a = detached(), b = other.detached()
        return Tensor.record(value, inputs: [self, other]) { MatMulOp(a: a, b: b) }
    }

    /// `op(a) · op(b)` without autodiff, through ``GEMM/sgemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:rowBias:backend:)``
    /// (`backend` `.automatic` picks the library by shape). Ranks as in ``matmul(_:)``.
    static func matmulKernel(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool,
                             backend: GEMMBackend = .automatic) -> Tensor {
        precondition((a.rank == 2 || a.rank == 3) && (b.rank == 2 || b.rank == 3),
                     "matmul: expects rank-2 or rank-3 tensors, got \(a.shape) and \(b.shape)")
        let batch = a.rank == 3 ? a.shape[0] : (b.rank == 3 ? b.shape[0] : 1)
        if a.rank == 3 && b.rank == 3 {
            precondition(a.shape[0] == b.shape[0], "matmul: batch sizes \(a.shape[0]) and \(b.shape[0]) differ")
        }
        let ar = a.shape.suffix(2), br = b.shape.suffix(2)
        let m = transA ? ar.last! : ar.first!, k = transA ? ar.first! : ar.last!
        let kb = transB ? br.last! : br.first!, n = transB ? br.first! : br.last!
        precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transA ? "ᵀ" : "") x \(b.shape)\(transB ? "ᵀ" : "")")
        let outShape = (a.rank == 3 || b.rank == 3) ? [batch, m, n] : [m, n]
        let out = Tensor(uninitializedShape: outShape)
        let lda = ar.last!, ldb = br.last!
        if a.rank == 3 && b.rank == 2 && !transA {
            // Shared right operand: one large GEMM over all rows.
            GEMM.sgemm(transA: false, transB: transB, m: batch * m, n: n, k: k, a: a.storage.pointer, lda: lda,
                       b: b.storage.pointer, ldb: ldb, c: out.storage.pointer, ldc: n, backend: backend)
            return out
        }
        for i in 0..<batch {
            let pa = a.storage.pointer + (a.rank == 3 ? i * ar.first! * ar.last! : 0)
            let pb = b.storage.pointer + (b.rank == 3 ? i * br.first! * br.last! : 0)
            GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa, lda: lda, b: pb, ldb: ldb,
                       c: out.storage.pointer + i * m * n, ldc: n, backend: backend)
        }
        return out
    }
}
