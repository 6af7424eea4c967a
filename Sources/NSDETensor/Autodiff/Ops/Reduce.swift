/// Sum over axes (kept as size 1). Adjoint: sum's backward is broadcast.
struct SumOp: DifferentiableOp {
    let inputShape: [Int]
    let keptShape: [Int]
    let axes: [Int]
    let keepDims: Bool
    var name: String { "sum" }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        [g.reshaped(keptShape).broadcast(to: inputShape)]
    }
    // Sum is linear: its tangent is the sum of the tangent.
    func jvp(_ t: [Tensor?]) -> Tensor? { t[0]?.sum(axes: axes, keepDims: keepDims) }
}

/// Max over one axis (kept as size 1). The gradient flows to the (first) largest element.
struct MaxOp: DifferentiableOp {
    let x: Tensor
    let axis: Int
    let outShape: [Int]
    var name: String { "max" }
    private var mask: Tensor {
        let m = Reduction.reduce(x, axis: axis, .max)
        let outer = x.shape[..<axis].reduce(1, *), n = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        let mask = Tensor(repeating: 0, shape: x.shape)
        let src = x.storage.pointer, mp = m.storage.pointer, dst = mask.storage.pointer
        for o in 0..<outer {
            for j in 0..<inner {
                for k in 0..<n where src[(o * n + k) * inner + j] == mp[o * inner + j] {
                    dst[(o * n + k) * inner + j] = 1; break
                }
            }
        }
        return mask
    }
    func vjp(_ g: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        var kept = x.shape; kept[axis] = 1
        return [mask * g.reshaped(kept)]
    }
    func jvp(_ t: [Tensor?]) -> Tensor? {
        guard let t = t[0] else { return Tensor(repeating: 0, shape: outShape) }
        var kept = x.shape; kept[axis] = 1
        return Reduction.reduce(mask * t, axis: axis, .sum).reshaped(outShape)
    }
}

extension Tensor {
    private func normalizedAxes(_ axes: [Int]) -> [Int] {
        axes.map { a -> Int in
            let n = a < 0 ? a + rank : a
            precondition(n >= 0 && n < rank, "axis \(a) out of range for tensor of rank \(rank)")
            return n
        }
    }

    /// Sum of all elements, as a rank-0 tensor.
    public func sum() -> Tensor { sum(axes: Array(0..<rank)) }

    /// Sum over `axes` (negative values count from the end). Reduced axes are removed unless
    /// `keepDims` is true.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let ax = Set(normalizedAxes(axes))
        var value = self.detached()
        for a in ax.sorted() { value = Reduction.reduce(value, axis: a, .sum) }
        let kept = value.shape
        let outShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        let out = Tensor(shape: outShape, storage: value.storage)
        let inShape = shape
        return Tensor.record(out, inputs: [self]) {
            SumOp(inputShape: inShape, keptShape: kept, axes: Array(ax), keepDims: keepDims)
        }
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean of all elements, as a rank-0 tensor.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Mean over `axes`.
    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = normalizedAxes(axes).reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Maximum over one axis; the gradient goes to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizedAxes([axis])[0]
        let value = Reduction.reduce(detached(), axis: a, .max)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        let out = Tensor(shape: outShape, storage: value.storage)
        let x = detached()
        return Tensor.record(out, inputs: [self]) { MaxOp(x: x, axis: a, outShape: outShape) }
    }

    /// Index of the largest element along `axis` (the axis is removed), as integers.
    public func argmax(axis: Int) -> [Int] { Reduction.argmax(self, axis: normalizedAxes([axis])[0]) }

    /// Largest element (not differentiable).
    public var maxValue: Float { withUnsafeBufferPointer { $0.max() ?? -.infinity } }
}
