/// Average pooling with a square window. Adjoint: spread each output gradient evenly over its
/// window.
struct AvgPoolOp: DifferentiableOp {
    let inputShape: [Int], kernel: Int, stride: Int
    var name: String { "avgPool2d" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [PoolingKernel.avgPoolBackward(g, inputShape: inputShape, kernel: kernel, stride: stride)]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0].map { PoolingKernel.avgPool($0, kernel: kernel, stride: stride) } }
}

/// Average-pooling kernels on NCHW tensors (no padding).
enum PoolingKernel {
    static func avgPool(_ x: Tensor, kernel k: Int, stride s: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = (h - k) / s + 1, wo = (w - k) / s + 1
        let out = Tensor(uninitializedShape: [n, c, ho, wo])
        let src = x.storage.pointer, dst = out.storage.pointer, scale = 1 / Float(k * k)
        Parallel.forEachChunk(n * c, grain: max(1, 8_192 / max(h * w, 1))) { r in
            for plane in r {
                let p = src + plane * h * w, o = dst + plane * ho * wo
                for i in 0..<ho { for j in 0..<wo {
                    var acc: Float = 0
                    for a in 0..<k { for b in 0..<k { acc += p[(i * s + a) * w + j * s + b] } }
                    o[i * wo + j] = acc * scale
                } }
            }
        }
        return out
    }

    static func avgPoolBackward(_ g: Tensor, inputShape: [Int], kernel k: Int, stride s: Int) -> Tensor {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let ho = g.shape[2], wo = g.shape[3]
        let out = Tensor(repeating: 0, shape: inputShape)
        let src = g.storage.pointer, dst = out.storage.pointer, scale = 1 / Float(k * k)
        Parallel.forEachChunk(n * c, grain: max(1, 8_192 / max(h * w, 1))) { r in
            for plane in r {
                let p = src + plane * ho * wo, o = dst + plane * h * w
                for i in 0..<ho { for j in 0..<wo {
                    let v = p[i * wo + j] * scale
                    for a in 0..<k { for b in 0..<k { o[(i * s + a) * w + j * s + b] += v } }
                } }
            }
        }
        return out
    }
}

extension Tensor {
    /// Average pooling of an `[N, C, H, W]` tensor with a `kernel x kernel` window.
    public func avgPool2d(kernel: Int, stride: Int? = nil) -> Tensor {
        precondition(rank == 4, "avgPool2d: expects [N, C, H, W], got \(shape)")
        let s = stride ?? kernel
        precondition(kernel >= 1 && s >= 1 && kernel <= shape[2] && kernel <= shape[3],
                     "avgPool2d: kernel \(kernel) / stride \(s) invalid for input \(shape)")
        let inShape = shape
        return Tensor.record(PoolingKernel.avgPool(self, kernel: kernel, stride: s), inputs: [self]) {
            AvgPoolOp(inputShape: inShape, kernel: kernel, stride: s)
        }
    }

    /// Global average pooling: `[N, C, H, W]` → `[N, C]`.
    public func globalAvgPool() -> Tensor {
        precondition(rank == 4, "globalAvgPool: expects [N, C, H, W], got \(shape)")
        return reshaped([shape[0], shape[1], shape[2] * shape[3]]).mean(axis: 2)
    }
}
