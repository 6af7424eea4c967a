import CBLAS
/// Reshape: the gradient is reshaped back.
struct ReshapeOp: DifferentiableOp {
    let inputShape: [Int], outputShape: [Int]
    var name: String { "reshape" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [g.reshaped(inputShape)] }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0]?.reshaped(outputShape) ?? Tensor(repeating: 0, shape: outputShape) }
}

/// Broadcast to a larger shape. Adjoint: sum back to the input shape.
struct BroadcastOp: DifferentiableOp {
    let inputShape: [Int], outputShape: [Int]
    var name: String { "broadcast" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [Reduction.sum(g, toShape: inputShape)] }
    func jvp(_ t: [Tensor?]) -> Tensor? { (t[0] ?? Tensor(repeating: 0, shape: inputShape)).broadcast(to: outputShape) }
}

/// Axis permutation. Adjoint: the inverse permutation.
struct PermuteOp: DifferentiableOp {
    let permutation: [Int]
    var name: String { "permute" }
    var inverse: [Int] {
        var inv = [Int](repeating: 0, count: permutation.count)
        for (i, p) in permutation.enumerated() { inv[p] = i }
        return inv
    }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] { [g.permuted(inverse)] }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0]?.permuted(permutation) }
}

/// Concatenation along an axis. Adjoint: slice the gradient back into the pieces.
struct ConcatOp: DifferentiableOp {
    let shapes: [[Int]], axis: Int
    var name: String { "concat" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        var start = 0
        return shapes.enumerated().map { i, s in
            defer { start += s[axis] }
            return needsGradient[i] ? g.slice(axis: axis, start..<(start + s[axis])) : nil
        }
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        Tensor.concat(zip(t, shapes).map { $0 ?? Tensor(repeating: 0, shape: $1) }, axis: axis)
    }
}

/// Slice along an axis. Adjoint: pad the gradient with zeros.
struct SliceOp: DifferentiableOp {
    let inputShape: [Int], axis: Int, range: Range<Int>
    var name: String { "slice" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let out = Tensor(repeating: 0, shape: inputShape)
        Movement.copyBlock(from: g, into: out, axis: axis, offset: range.lowerBound)
        return [out]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0]?.slice(axis: axis, range) }
}

/// Picks `x[i, index[i]]` from a `[n, k]` tensor. Adjoint: scatter into zeros.
struct GatherOp: DifferentiableOp {
    let inputShape: [Int], indices: [Int]
    var name: String { "gather" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let out = Tensor(repeating: 0, shape: inputShape)
        let k = inputShape[1]
        for (i, j) in indices.enumerated() { out.storage.pointer[i * k + j] += g.storage.pointer[i] }
        return [out]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0]?.gather(indices) }
}

/// Copy kernels for the movement ops.
enum Movement {
    /// Copies `src` into `dst` at `offset` along `axis` (other dimensions equal).
    static func copyBlock(from src: Tensor, into dst: Tensor, axis: Int, offset: Int) {
        let outer = dst.shape[..<axis].reduce(1, *)
        let inner = dst.shape[(axis + 1)...].reduce(1, *)
        let n = src.shape[axis], N = dst.shape[axis]
        let s = src.storage.pointer, d = dst.storage.pointer
        for o in 0..<outer {
            (d + (o * N + offset) * inner).update(from: s + o * n * inner, count: n * inner)
        }
    }
}

extension Tensor {
    /// The same elements with a new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(count) elements")
            target[i] = count / known
        }
        precondition(target.reduce(1, *) == count, "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        let inShape = shape
        return Tensor.record(Tensor(shape: target, storage: storage), inputs: [self]) {
            ReshapeOp(inputShape: inShape, outputShape: target)
        }
    }

    /// Collapses dimensions from `startAxis` on into one: `[N, C, H, W]` → `[N, C·H·W]`.
    public func flattened(startAxis: Int = 1) -> Tensor {
        reshaped(Array(shape[..<startAxis]) + [shape[startAxis...].reduce(1, *)])
    }

    /// Repeats size-1 dimensions to reach `newShape` (NumPy broadcasting rules).
    public func broadcast(to newShape: [Int]) -> Tensor {
        if newShape == shape { return self }
        precondition(Broadcast.shape(shape, newShape) == newShape, "broadcast: \(shape) does not broadcast to \(newShape)")
        let value = Elementwise.broadcasting(Tensor(repeating: 0, shape: newShape), detached()) { $1 }
        let inShape = shape
        return Tensor.record(value, inputs: [self]) { BroadcastOp(inputShape: inShape, outputShape: newShape) }
    }

    /// Reorders the axes: output axis `i` is input axis `permutation[i]`.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "permuted: \(permutation) is not a permutation of 0..<\(rank)")
        let outShape = permutation.map { shape[$0] }
        let out = Tensor(uninitializedShape: outShape)
        // Input strides read in output order.
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let srcStrides = permutation.map { inStrides[$0] }
        let src = storage.pointer, dst = out.storage.pointer
        let n = out.count
        if rank >= 2, n > 0, shape[rank - 2] * shape[rank - 1] <= Int(Int32.max),
           permutation == Array(0..<(rank - 2)) + [rank - 1, rank - 2] {
            // A (batched) matrix transpose: OpenBLAS's out-of-place transpose with α = 1 (every
            // value copied exactly), measured 2.5x (128 x 64) to 13x (512 x 512) faster than the
            // strided loop below, whose power-of-two strides thrash the cache.
            let rows = shape[rank - 2], cols = shape[rank - 1]
            for m in 0..<(n / (rows * cols)) {
                cblas_somatcopy(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, src + m * rows * cols, Int32(cols),
                                dst + m * rows * cols, Int32(rows))
            }
        } else if n > 0 {
            let inner = outShape[rank - 1], innerStride = srcStrides[rank - 1]
            var idx = [Int](repeating: 0, count: rank)
            var o = 0
            while o < n {
                var off = 0
                for d in 0..<(rank - 1) { off += idx[d] * srcStrides[d] }
                for j in 0..<inner { dst[o + j] = src[off + j * innerStride] }
                o += inner
                var d = rank - 2
                while d >= 0 { idx[d] += 1; if idx[d] < outShape[d] { break }; idx[d] = 0; d -= 1 }
            }
        }
        return Tensor.record(out, inputs: [self]) { PermuteOp(permutation: permutation) }
    }

    /// Swaps the last two axes (matrix transpose).
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transposed: needs rank >= 2, got shape \(shape)")
        var p = Array(0..<rank); p.swapAt(rank - 1, rank - 2)
        return permuted(p)
    }

    /// Concatenates tensors along `axis`; all other dimensions must match.
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let first = tensors[0].shape
        precondition(axis >= 0 && axis < first.count, "concat: axis \(axis) out of range for rank \(first.count)")
        for t in tensors {
            precondition(t.rank == first.count && (0..<first.count).allSatisfy { $0 == axis || t.shape[$0] == first[$0] },
                         "concat: shape \(t.shape) does not match \(first) outside axis \(axis)")
        }
        var outShape = first
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let out = Tensor(uninitializedShape: outShape)
        var offset = 0
        for t in tensors { Movement.copyBlock(from: t, into: out, axis: axis, offset: offset); offset += t.shape[axis] }
        let shapes = tensors.map(\.shape)
        return record(out, inputs: tensors) { ConcatOp(shapes: shapes, axis: axis) }
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        precondition(axis >= 0 && axis < rank, "slice: axis \(axis) out of range for rank \(rank)")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis],
                     "slice: range \(range) out of bounds for dimension \(axis) of size \(shape[axis])")
        var outShape = shape; outShape[axis] = range.count
        let out = Tensor(uninitializedShape: outShape)
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let src = storage.pointer, dst = out.storage.pointer, n = shape[axis]
        for o in 0..<outer {
            (dst + o * range.count * inner).update(from: src + (o * n + range.lowerBound) * inner, count: range.count * inner)
        }
        let inShape = shape
        return Tensor.record(out, inputs: [self]) { SliceOp(inputShape: inShape, axis: axis, range: range) }
    }

    /// Rows `range` of the first axis (a mini-batch).
    public func rows(_ range: Range<Int>) -> Tensor { slice(axis: 0, range) }

    /// For a `[n, k]` tensor, the `n` values `self[i, indices[i]]` (for example the logit of
    /// each sample's label).
    public func gather(_ indices: [Int]) -> Tensor {
        precondition(rank == 2, "gather: expects a [n, k] tensor, got shape \(shape)")
        precondition(indices.count == shape[0], "gather: \(indices.count) indices for \(shape[0]) rows")
        let k = shape[1]
        let out = Tensor(uninitializedShape: [indices.count])
        for (i, j) in indices.enumerated() {
            precondition(j >= 0 && j < k, "gather: index \(j) out of range 0..<\(k) in row \(i)")
            out.storage.pointer[i] = storage.pointer[i * k + j]
        }
        let inShape = shape
        return Tensor.record(out, inputs: [self]) { GatherOp(inputShape: inShape, indices: indices) }
    }
}
