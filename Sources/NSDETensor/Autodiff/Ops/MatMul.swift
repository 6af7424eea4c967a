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
        let (dx, dw) = LinearOp.products(g, x: x, w: w, inputGradient: needsGradient[0], inputAccumulator: accumulators?[0],
                                         weightGradient: needsGradient[1], weightAccumulator: accumulators?[1])
        guard hasBias else { return [dx, dw] }
        return [dx, dw, needsGradient[2] ? biasGradient ?? LinearOp.columnSums(g) : nil]
    }

    /// dx = G W (`[n, out] x [out, in]`) and dW = Gᵀ x (`[out, n] x [n, in]`), each only when
    /// asked for, each added into its accumulator (the GEMM's `beta = 1`) when one is given.
    static func products(_ g: Tensor, x: Tensor, w: Tensor, inputGradient: Bool, inputAccumulator: Tensor?,
                         weightGradient: Bool, weightAccumulator: Tensor?) -> (input: Tensor?, weight: Tensor?) {
        let n = g.shape[0], out = w.shape[0], inF = w.shape[1]
        func product(transA: Bool, _ a: Tensor, _ b: Tensor, m: Int, k: Int, into sum: Tensor?) -> Tensor {
            guard let sum else { return Tensor.matmulKernel(a, b, transA: transA, transB: false) }
            GEMM.sgemm(transA: transA, transB: false, m: m, n: inF, k: k, a: a.storage.pointer, lda: transA ? m : k,
                       b: b.storage.pointer, ldb: inF, beta: 1, c: sum.storage.pointer, ldc: inF)
            return sum
        }
        return (inputGradient ? product(transA: false, g, w, m: n, k: out, into: inputAccumulator) : nil,
                weightGradient ? product(transA: true, g, x, m: out, k: n, into: weightAccumulator) : nil)
    }

    /// `(g · w) ⊙ (1 − x²)`: the input gradient carried on through the tanh whose output `x` is
    /// (`[n, in]`), in one register-tiled pass where that kernel runs the product, else the
    /// product then ``Elementwise/tanhBackward(_:y:)`` (the same bits).
    static func inputGradientThroughTanh(_ g: Tensor, x: Tensor, w: Tensor) -> Tensor {
        let n = g.shape[0], out = w.shape[0], inF = w.shape[1]
        guard GEMM.automaticBackend(m: n, n: inF, k: out) == .registerTiled else {
            return Elementwise.tanhBackward(Tensor.matmulKernel(g, w, transA: false, transB: false), y: x)
        }
        let dx = Tensor(uninitializedShape: [n, inF])
        RegisterTiledGEMM.multiply(transA: false, m: n, n: inF, k: out, a: g.storage.pointer, lda: out, b: w.storage.pointer,
                                   ldb: inF, c: dx.storage.pointer, ldc: inF,
                                   epilogue: RegisterTiledGEMM.Epilogue(tanhOutput: x.storage.pointer, ld: inF))
        withExtendedLifetime((g, x, w)) {}
        return dx
    }

    /// The bias gradient: the column sums of `g` (`[n, out]` -> `[out]`).
    static func columnSums(_ g: Tensor) -> Tensor {
        let out = g.shape[1]
        let db = Tensor(uninitializedShape: [out])
        GEMM.columnSums(g.storage.pointer, rows: g.shape[0], cols: out, ld: out, into: db.storage.pointer)
        return db
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
        let (dz, db) = LinearTanhOp.throughTanh(g, y: y, biasGradient: linear.hasBias && needsGradient[2])
        return linear.vjp(dz, needsGradient: needsGradient, biasGradient: db, accumulators: accumulators)
    }

    /// The gradient through tanh, `g · (1 − y²)`, with its column sums (the bias gradient) from
    /// the same pass when `biasGradient` and the pass runs on one thread anyway; else `nil`.
    static func throughTanh(_ g: Tensor, y: Tensor, biasGradient: Bool) -> (gradient: Tensor, columnSums: Tensor?) {
        // (Serial: used where tanhBackward would run on one thread too.)
        guard biasGradient, y.rank == 2, y.count < 131_072 || Parallel.threadCount == 1 else {
            return (Elementwise.tanhBackward(g, y: y), nil)
        }
        let (dz, db) = Elementwise.tanhBackwardWithColumnSums(g, y: y)
        return (dz, db)
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { linear.jvp(t).map { Elementwise.tanhBackward($0, y: y) } }
}

/// The gradients of one fully connected layer's weight and bias summed over many applications (a
/// solver's steps), filled by ``Tensor/linearPullback(_:input:weight:hasBias:tanhOutput:inputGradient:addingInto:sums:)``.
public struct LinearGradientSums {
    /// ∂L/∂W so far (`[out, in]`), `nil` before the first pullback.
    public var weight: Tensor?
    /// ∂L/∂b so far (`[out]`), `nil` before the first pullback or without a bias.
    public var bias: Tensor?

    /// No gradient yet.
    public init() {}
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
        let value = linearValue(weight: weight, bias: bias, transposedWeight: transposedWeight, thenTanh: thenTanh)
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        let op = LinearOp(x: detached(), w: weight.detached(), hasBias: bias != nil)
        guard thenTanh else { return Tensor.record(value, inputs: inputs) { op } }
        return Tensor.record(value, inputs: inputs) { LinearTanhOp(linear: op, y: value) }
    }

    /// The value of ``linear(weight:bias:transposedWeight:)`` (of ``linearTanh(weight:bias:transposedWeight:)``
    /// when `thenTanh`), the same kernels and bits, without recording anything on the tape: for
    /// loops that differentiate the layer themselves through
    /// ``linearPullback(_:input:weight:hasBias:tanhOutput:inputGradient:inputThroughTanh:addingInto:sums:)``.
    /// With `update`, the update of the value (``ElementwiseUpdate/apply(to:)``, the same bits), fused
    /// into the product where the register-tiled kernel runs it: the value itself is never stored.
    public func linearValue(weight: Tensor, bias: Tensor?, transposedWeight: Tensor?, thenTanh: Bool,
                            then update: ElementwiseUpdate? = nil) -> Tensor {
        precondition(rank == 2 && weight.rank == 2 && shape[1] == weight.shape[1],
                     "linear: expected input [N, in] and weight [out, in], got \(shape) and \(weight.shape)")
        let out = weight.shape[0], inF = weight.shape[1]
        if let transposedWeight {
            precondition(transposedWeight.rank == 2 && transposedWeight.shape[0] == inF && transposedWeight.shape[1] == out,
                         "linear: transposedWeight must have shape [\(inF), \(out)], got \(transposedWeight.shape)")
        }
        if let bias {
            precondition(bias.rank == 1 && bias.shape[0] == out, "linear: bias shape \(bias.shape) does not match [\(out)]")
        }
        if let update {
            let (state, noise) = update.operands
            precondition(state.shape == [shape[0], out] && noise.shape == state.shape,
                         "linear: update operands \(state.shape) and \(noise.shape) do not match the output [\(shape[0]), \(out)]")
        }
        if let transposedWeight, GEMM.automaticBackend(m: shape[0], n: out, k: inF) == .registerTiled {
            // The register-tiled kernel adds the bias (and applies tanh, or the update) to each tile
            // in registers: the same bits as the product followed by the passes below.
            let value = Tensor(uninitializedShape: [shape[0], out])
            RegisterTiledGEMM.multiply(transA: false, m: shape[0], n: out, k: inF, a: storage.pointer, lda: inF,
                                       b: transposedWeight.storage.pointer, ldb: out, c: value.storage.pointer, ldc: out,
                                       epilogue: RegisterTiledGEMM.Epilogue(bias: bias?.storage.pointer, tanh: thenTanh,
                                                                            update: update?.epilogueUpdate, ld: out))
            withExtendedLifetime((self, transposedWeight, bias, update)) {}
            return value
        }
        // The GEMM writes x·Wᵀ; one pass then adds the bias (and applies tanh) while it is in cache.
        let value = Tensor.linearKernel(self, weight, transposed: transposedWeight, bias: nil, outRows: shape[0], outFeatures: out)
        if thenTanh {
            if let bias { Elementwise.biasTanhInPlace(value, bias: bias) } else { Elementwise.tanhInPlace(value) }
        } else if let bias {
            Elementwise.biasAddInPlace(value, bias: bias)
        }
        return update?.apply(to: value) ?? value
    }

    /// The pullback of one application of ``linear(weight:bias:transposedWeight:)`` (or, given
    /// `tanhOutput`, of ``linearTanh(weight:bias:transposedWeight:)``) to `x`, run without the
    /// tape: the same kernels, in the same order, as the tape's backward pass of that op.
    ///
    /// - Parameters:
    ///   - g: ∂L/∂output, `[N, out]`.
    ///   - x: the input, `[N, in]`; `weight` `[out, in]`; `hasBias` whether the layer had a bias.
    ///   - tanhOutput: the output of `linearTanh` (the gradient passes through tanh first), or
    ///     `nil` for `linear`.
    ///   - inputGradient: whether to compute ∂L/∂x.
    ///   - inputThroughTanh: `x` is the output of a tanh (a ``linearTanh(weight:bias:transposedWeight:)``
    ///     before this layer): return ∂L/∂x ⊙ (1 − x²), the gradient of that tanh's input, with the
    ///     factor applied to the product's tiles in registers (``RegisterTiledGEMM``) where that
    ///     kernel runs it. The values of the plain pullback followed by the tanh's. No accumulator.
    ///   - accumulator: a gradient of `x` already summed, in a buffer nothing else references:
    ///     ∂L/∂x is added into it in place (the GEMM's `beta = 1`) and it is returned.
    ///   - sums: the weight and bias gradients summed over earlier pullbacks (a solver's later
    ///     steps); this one's are added in place, as the tape adds a parameter's gradients.
    /// - Returns: ∂L/∂x (`[N, in]`), or `nil` when `inputGradient` is false.
    public static func linearPullback(_ g: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool, tanhOutput: Tensor?,
                                      inputGradient: Bool, inputThroughTanh: Bool = false, addingInto accumulator: Tensor?,
                                      sums: inout LinearGradientSums) -> Tensor? {
        precondition(!inputThroughTanh || accumulator == nil, "linearPullback: inputThroughTanh takes no accumulator")
        var dz = g, db: Tensor? = nil
        if let tanhOutput { (dz, db) = LinearTanhOp.throughTanh(g, y: tanhOutput, biasGradient: hasBias) }
        let weightSum = sums.weight
        sums.weight = nil   // the GEMM adds into the buffer: no second reference meanwhile
        var dx: Tensor?, dw: Tensor?
        if inputGradient && inputThroughTanh {
            dx = LinearOp.inputGradientThroughTanh(dz, x: x, w: weight)
            (_, dw) = LinearOp.products(dz, x: x, w: weight, inputGradient: false, inputAccumulator: nil,
                                        weightGradient: true, weightAccumulator: weightSum)
        } else {
            (dx, dw) = LinearOp.products(dz, x: x, w: weight, inputGradient: inputGradient, inputAccumulator: accumulator,
                                         weightGradient: true, weightAccumulator: weightSum)
        }
        sums.weight = dw
        if hasBias {
            let step = db ?? LinearOp.columnSums(dz)
            if let sum = sums.bias { Elementwise.addInPlace(sum, step) } else { sums.bias = step }
        }
        return dx
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
            // The plain product where oneDNN (measured faster than its transposed read) or the
            // register-tiled kernel (which reads B untransposed only) runs it.
            if i == 0, x != nil, let transposed,
               [.oneDNN, .registerTiled].contains(GEMM.automaticBackend(m: outRows, n: outFeatures, k: inF)) {
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
