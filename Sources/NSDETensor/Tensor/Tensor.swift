/// A dense, contiguous, row-major array of `Float` values with a shape, which can take part in
/// reverse-mode and forward-mode automatic differentiation.
///
/// `Tensor` is a value type with copy-on-write-free semantics: operations never mutate their
/// inputs, they return new tensors. Copies of one tensor share their buffer and their autodiff
/// identity, so `x.grad` is visible through every copy of `x`.
///
/// Images use the NCHW convention: `[batch, channels, height, width]`.
///
/// ```swift
/// var w = Tensor.randn([3, 2], seed: 1)
/// w.requiresGrad = true
/// let loss = (x.matmul(w)).relu().mean()
/// loss.backward()
/// print(w.grad!)
/// ```
public struct Tensor: @unchecked Sendable {
    /// The size of each dimension, outermost first. A scalar has shape `[]`.
    public let shape: [Int]
    /// The buffer holding the elements in row-major order. Settable inside the library only so
    /// that `isKnownUniquelyReferenced` can tell when no other tensor shares it (the tape then
    /// accumulates gradients in place).
    public internal(set) var storage: TensorStorage
    /// The autodiff node: set when this tensor requires a gradient.
    @usableFromInline var node: GradNode?
    /// The forward-mode tangent carried with this value, if any (see ``withTangent(_:)``).
    @usableFromInline var tangentBox: TangentBox?

    /// Wraps an existing storage. `storage.count` must equal the product of `shape`.
    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of the given shape with unspecified contents, for kernels to fill.
    public init(uninitializedShape shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(uninitializedCount: shape.reduce(1, *)))
    }

    /// A tensor of the given shape filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *), repeating: value))
    }

    /// A tensor from row-major `scalars`; `scalars.count` must equal the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor(shape:scalars:): shape \(shape) needs \(shape.reduce(1, *)) values, got \(scalars.count)")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { src in
            storage.pointer.update(from: src.baseAddress!, count: scalars.count)
        }
    }

    /// A rank-0 tensor holding `value`.
    public init(_ value: Float) {
        self.init(repeating: value, shape: [])
    }

    /// A rank-1 tensor holding `scalars`.
    public init(_ scalars: [Float]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    // MARK: - Properties

    /// Number of elements (the product of ``shape``).
    @inlinable public var count: Int { storage.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a tensor with one element.
    public var item: Float {
        precondition(count == 1, "Tensor.item: tensor of shape \(shape) has \(count) elements, expected 1")
        return storage.pointer[0]
    }

    /// Read-only access to the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Element at a multi-dimensional index (slow; for tests and printing).
    public subscript(index: Int...) -> Float {
        precondition(index.count == rank, "Tensor subscript: \(index.count) indices for rank \(rank)")
        var offset = 0
        for (i, (ix, n)) in zip(index, shape).enumerated() {
            precondition(ix >= 0 && ix < n, "Tensor subscript: index \(ix) out of range 0..<\(n) in dimension \(i)")
            offset = offset * n + ix
        }
        return storage.pointer[offset]
    }

    /// A new tensor with its own copy of the elements, detached from autodiff.
    public func copy() -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        out.storage.pointer.update(from: storage.pointer, count: count)
        return out
    }
}

// MARK: - Printing

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(12).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 12 ? ", ..." : "")])"
    }
}

import Foundation
