import Foundation
import NSDETensor

/// A trainable tensor owned by a ``Module``.
///
/// A parameter is a class so that optimisers, serialisation and the module tree all refer to the
/// same object. Its ``value`` always requires a gradient; after `loss.backward()` the gradient is
/// in ``grad``.
public final class Parameter {
    /// The current value. Optimisers update it in place. Inside a ``BatchParallel`` shard it is
    /// the shard's own leaf over the same storage (so shards accumulate separate gradients).
    public var value: Tensor {
        if let shard = ShardLeaves.current { return shard.leaf(for: self, value: stored) }
        return stored
    }

    /// `valueᵀ` of a matrix parameter as a constant made once per scope in which the parameters
    /// do not change: a ``BatchParallel`` shard run, or ``withValuesFixed(_:)`` (a solve); `nil`
    /// outside both. Layers pass it to ``NSDETensor/Tensor/linear(weight:bias:transposedWeight:)``
    /// so that every drift evaluation of a solve multiplies by a plain matrix (the same values up
    /// to rounding, a faster GEMM, and the register-tiled kernel's fused bias, tanh and update).
    var cachedTransposedValue: Tensor? {
        guard stored.rank == 2 else { return nil }
        if let shard = ShardLeaves.current { return shard.transposes.transposed(for: self, value: stored) }
        return Parameter.fixedTransposes?.transposed(for: self, value: stored)
    }

    /// The transposes cached by ``withValuesFixed(_:)`` on this task, `nil` outside it.
    @TaskLocal static var fixedTransposes: ParameterTransposes?

    /// Runs `body` in a scope where no parameter's value changes (an SDE solve: every step reads the
    /// same weights), so that layers may reuse constants derived from the values, such as a matrix
    /// parameter's transpose, for the whole of `body`. Inside a ``BatchParallel`` shard (which
    /// caches them per shard) or an enclosing scope, `body` runs as is.
    ///
    /// `body` must not change any parameter (no optimiser step, no ``assign(_:)``): the layers
    /// would read transposes of the old values.
    public static func withValuesFixed<R>(_ body: () throws -> R) rethrows -> R {
        if ShardLeaves.current != nil || fixedTransposes != nil { return try body() }
        return try $fixedTransposes.withValue(ParameterTransposes()) { try body() }
    }

    /// The leaf that optimisers update and that holds the accumulated gradient.
    private var stored: Tensor

    /// Wraps `value` as a trainable leaf.
    public init(_ value: Tensor) {
        var v = value.copy()
        v.requiresGrad = true
        self.stored = v
    }

    /// Adds `gradient` (the parameter's shape) to the accumulated gradient, as a backward pass
    /// does. `BatchParallel` uses it to merge the shards' gradients.
    public func accumulateGradient(_ gradient: Tensor) {
        precondition(gradient.shape == stored.shape,
                     "Parameter.accumulateGradient: shape \(gradient.shape) does not match \(stored.shape)")
        stored.grad = stored.grad.map { $0 + gradient } ?? gradient.detached()
    }

    /// Shape of the parameter.
    public var shape: [Int] { stored.shape }

    /// The gradient accumulated by backward passes, or `nil`.
    public var grad: Tensor? { stored.grad }

    /// Clears the accumulated gradient.
    public func zeroGrad() { stored.zeroGrad() }

    /// Replaces the value (same shape), keeping this parameter's identity and clearing its
    /// gradient. Used by optimisers and by checkpoint loading.
    public func assign(_ newValue: Tensor) {
        precondition(newValue.shape == stored.shape,
                     "Parameter.assign: shape \(newValue.shape) does not match \(stored.shape)")
        stored.storage.pointer.update(from: newValue.storage.pointer, count: stored.count)
    }

    /// Runs `body` with the value carrying a forward-mode tangent (see `Tensor.withTangent`), so
    /// every op that reads the parameter inside `body` propagates d(·)/d(parameter)·`tangent`.
    /// The value (and its identity on the autodiff tape) is restored afterwards.
    public func withTangent<R>(_ tangent: Tensor, _ body: () throws -> R) rethrows -> R {
        precondition(tangent.shape == value.shape, "Parameter.withTangent: shape \(tangent.shape) does not match \(value.shape)")
        let saved = stored
        stored = stored.withTangent(tangent)
        defer { stored = saved }
        return try body()
    }

    /// Writes element updates directly into the parameter's buffer (for optimiser kernels).
    public func withMutableStorage<R>(_ body: (UnsafeMutablePointer<Float>, Int) throws -> R) rethrows -> R {
        try body(stored.storage.pointer, stored.count)
    }
}

/// Matrix parameters' transposes, each made on first use while the parameters do not change
/// (``Parameter/withValuesFixed(_:)``, a ``BatchParallel`` shard).
final class ParameterTransposes: @unchecked Sendable {
    private var transposes: [ObjectIdentifier: Tensor] = [:]
    private let lock = NSLock()

    /// `valueᵀ` of `parameter` (a 2-D value) as a constant (no gradient), made on first use.
    func transposed(for parameter: Parameter, value: Tensor) -> Tensor {
        precondition(value.rank == 2, "ParameterTransposes.transposed: parameter of shape \(value.shape) is not a matrix")
        let id = ObjectIdentifier(parameter)
        lock.lock()
        defer { lock.unlock() }
        if let t = transposes[id] { return t }
        let t = noGrad { value.detached().transposed() }
        transposes[id] = t
        return t
    }
}
