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

extension Tensor {
    /// Matrix product: `[m, k] x [k, n] -> [m, n]`, batched `[B, m, k] x [B, k, n] -> [B, m, n]`,
    /// or `[B, m, k] x [k, n] -> [B, m, n]`.
    public func matmul(_ other: Tensor) -> Tensor {
        let value = Tensor.matmulKernel(detached(), other.detached(), transA: false, transB: false)
        let a = detached(), b = other.detached()
        return Tensor.record(value, inputs: [self, other]) { MatMulOp(a: a, b: b) }
    }

    /// `a · op(b)` without autodiff, through `cblas_sgemm`. Ranks as in ``matmul(_:)``;
    /// with `transA` on a rank-3 `a` and rank-2 result the batch is summed.
    static func matmulKernel(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool) -> Tensor {
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
                       b: b.storage.pointer, ldb: ldb, c: out.storage.pointer, ldc: n)
            return out
        }
        for i in 0..<batch {
            let pa = a.storage.pointer + (a.rank == 3 ? i * ar.first! * ar.last! : 0)
            let pb = b.storage.pointer + (b.rank == 3 ? i * br.first! * br.last! : 0)
            GEMM.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa, lda: lda, b: pb, ldb: ldb,
                       c: out.storage.pointer + i * m * n, ldc: n)
        }
        return out
    }
}
