import NSDETensor

/// A trainable tensor owned by a ``Module``.
///
/// A parameter is a class so that optimisers, serialisation and the module tree all refer to the
/// same object. Its ``value`` always requires a gradient; after `loss.backward()` the gradient is
/// in ``grad``.
public final class Parameter {
    /// The current value. Optimisers update it in place.
    public private(set) var value: Tensor

    /// Wraps `value` as a trainable leaf.
    public init(_ value: Tensor) {
        var v = value.copy()
        v.requiresGrad = true
        self.value = v
    }

    /// Shape of the parameter.
    public var shape: [Int] { value.shape }

    /// The gradient accumulated by backward passes, or `nil`.
    public var grad: Tensor? { value.grad }

    /// Clears the accumulated gradient.
    public func zeroGrad() { value.zeroGrad() }

    /// Replaces the value (same shape), keeping this parameter's identity and clearing its
    /// gradient. Used by optimisers and by checkpoint loading.
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == value.shape,
                     "Parameter.assign: shape \(newValue.shape) does not match \(value.shape)")
        value.storage.pointer.update(from: newValue.storage.pointer, count: value.count)
    }

    /// Runs `body` with the value carrying a forward-mode tangent (see `Tensor.withTangent`), so
    /// every op that reads the parameter inside `body` propagates d(·)/d(parameter)·`tangent`.
    /// The value (and its identity on the autodiff tape) is restored afterwards.
    public func withTangent<R>(_ tangent: Tensor, _ body: () throws -> R) rethrows -> R {
        precondition(tangent.shape == value.shape, "Parameter.withTangent: shape \(tangent.shape) does not match \(value.shape)")
        let saved = value
        value = value.withTangent(tangent)
        defer { value = saved }
        return try body()
    }

    /// Writes element updates directly into the parameter's buffer (for optimiser kernels).
    public func withMutableStorage<R>(_ body: (UnsafeMutablePointer<Float>, Int) throws -> R) rethrows -> R {
        try body(value.storage.pointer, value.count)
    }
}
