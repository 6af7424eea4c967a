import Foundation

/// Log-softmax along the last axis: y = x − max − log Σ exp(x − max).
/// Adjoint: dx = g − softmax · Σ g. Tangent: t − Σ softmax · t.
struct LogSoftmaxOp: DifferentiableOp {
    let y: Tensor
    var name: String { "logSoftmax" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [SoftmaxKernel.logSoftmaxBackward(g, y: y, tangentMode: false)]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0].map { SoftmaxKernel.logSoftmaxBackward($0, y: y, tangentMode: true) } }
}

enum SoftmaxKernel {
    static func logSoftmax(_ x: Tensor) -> Tensor {
        let k = x.shape.last!, rows = x.count / max(k, 1)
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.storage.pointer, dst = out.storage.pointer
        Parallel.forEachChunk(rows, grain: max(1, 16_384 / max(k, 1))) { r in
            for row in r {
                let p = src + row * k, o = dst + row * k
                var m = -Float.infinity
                for i in 0..<k { m = Swift.max(m, p[i]) }
                var s: Float = 0
                for i in 0..<k { s += Foundation.exp(p[i] - m) }
                // (x − max) − log s avoids cancelling large logits against a large log-sum-exp.
                let logS = Foundation.log(s)
                for i in 0..<k { o[i] = (p[i] - m) - logS }
            }
        }
        return out
    }

    /// Reverse: g − softmax·Σg. Forward (tangentMode): t − Σ(softmax·t). Both per row.
    static func logSoftmaxBackward(_ g: Tensor, y: Tensor, tangentMode: Bool) -> Tensor {
        let k = y.shape.last!, rows = y.count / max(k, 1)
        let out = Tensor(uninitializedShape: y.shape)
        let gp = g.storage.pointer, yp = y.storage.pointer, dst = out.storage.pointer
        for row in 0..<rows {
            let gr = gp + row * k, yr = yp + row * k, o = dst + row * k
            if tangentMode {
                var s: Float = 0
                for i in 0..<k { s += Foundation.exp(yr[i]) * gr[i] }
                for i in 0..<k { o[i] = gr[i] - s }
            } else {
                var s: Float = 0
                for i in 0..<k { s += gr[i] }
                for i in 0..<k { o[i] = gr[i] - Foundation.exp(yr[i]) * s }
            }
        }
        return out
    }
}

extension Tensor {
    /// Log-softmax along the last axis, computed stably.
    public func logSoftmax() -> Tensor {
        let y = SoftmaxKernel.logSoftmax(self)
        return Tensor.record(y, inputs: [self]) { LogSoftmaxOp(y: y) }
    }

    /// Softmax along the last axis.
    public func softmax() -> Tensor { logSoftmax().exp() }
}
