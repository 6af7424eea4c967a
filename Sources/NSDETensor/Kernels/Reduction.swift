import CKernels

/// Reductions along one axis, with the tensor viewed as `[outer, n, inner]`.
public enum Reduction {
    public enum Kind { case sum, max, min }

    /// Reduces `x` along `axis`, keeping it as size 1. Sums accumulate in `Double`.
    public static func reduce(_ x: Tensor, axis: Int, _ kind: Kind) -> Tensor {
        precondition(axis >= 0 && axis < x.rank, "reduce: axis \(axis) out of range for rank \(x.rank)")
        let outer = x.shape[..<axis].reduce(1, *)
        let n = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        var outShape = x.shape; outShape[axis] = 1
        let out = Tensor(uninitializedShape: outShape)
        let src = x.storage.pointer, dst = out.storage.pointer
        precondition(n > 0 || kind == .sum, "reduce: max/min over an empty axis")
        if inner == 1 {
            Parallel.forEachChunk(outer, grain: max(1, 16_384 / max(n, 1))) { r in
                for o in r {
                    let row = src + o * n
                    switch kind {
                    case .sum:
                        var acc = 0.0
                        for i in 0..<n { acc += Double(row[i]) }
                        dst[o] = Float(acc)
                    case .max:
                        var m = row[0]; for i in 1..<max(n, 1) { m = Swift.max(m, row[i]) }; dst[o] = m
                    case .min:
                        var m = row[0]; for i in 1..<max(n, 1) { m = Swift.min(m, row[i]) }; dst[o] = m
                    }
                }
            }
            return out
        }
        if kind == .sum {
            // Each output column summed in double in the order of the axis (`nsde_sum_rows`);
            // (outer, column block) pairs are split over the threads, which changes no sum.
            let block = 2_048
            let blocks = (inner + block - 1) / block
            Parallel.forEachChunk(outer * blocks, grain: max(1, 16_384 / max(n * Swift.min(inner, block), 1))) { r in
                for task in r {
                    let o = task / blocks, begin = (task % blocks) * block
                    nsde_sum_rows(src + o * n * inner, Int64(n), Int64(inner), Int64(begin), Int64(Swift.min(begin + block, inner)),
                                  dst + o * inner)
                }
            }
            return out
        }
        Parallel.forEachChunk(outer, grain: max(1, 16_384 / max(n * inner, 1))) { r in
            for o in r {
                let base = src + o * n * inner, d = dst + o * inner
                d.update(from: base, count: inner)
                if kind == .max {
                    for k in 1..<max(n, 1) { let row = base + k * inner; for j in 0..<inner { d[j] = Swift.max(d[j], row[j]) } }
                } else {
                    for k in 1..<max(n, 1) { let row = base + k * inner; for j in 0..<inner { d[j] = Swift.min(d[j], row[j]) } }
                }
            }
        }
        return out
    }

    /// Index of the largest element along `axis` (first one on ties), with the axis removed.
    public static func argmax(_ x: Tensor, axis: Int) -> [Int] {
        precondition(axis >= 0 && axis < x.rank, "argmax: axis \(axis) out of range for rank \(x.rank)")
        let outer = x.shape[..<axis].reduce(1, *)
        let n = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        precondition(n > 0, "argmax: empty axis")
        let src = x.storage.pointer
        var result = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for j in 0..<inner {
                var best = 0
                var bestValue = src[o * n * inner + j]
                for k in 1..<n {
                    let v = src[(o * n + k) * inner + j]
                    if v > bestValue { bestValue = v; best = k }
                }
                result[o * inner + j] = best
            }
        }
        return result
    }

    /// Sums `x` down to `shape`, the inverse of broadcasting `shape` up to `x.shape`.
    public static func sum(_ x: Tensor, toShape shape: [Int]) -> Tensor {
        if x.shape == shape { return x }
        precondition(Broadcast.shape(shape, x.shape) == x.shape,
                     "sum(toShape:): \(shape) does not broadcast to \(x.shape)")
        var result = x
        let lead = x.rank - shape.count
        for axis in 0..<x.rank {
            let target = axis < lead ? 1 : shape[axis - lead]
            if target == 1 && x.shape[axis] != 1 {
                result = reduce(result, axis: axis, .sum)
            }
        }
        return Tensor(shape: shape, storage: result.storage)
    }
}
