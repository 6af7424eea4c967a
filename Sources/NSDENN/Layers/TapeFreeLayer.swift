import NSDETensor

/// A layer that can differentiate itself without the tape: it runs forward keeping what its
/// pullback needs, and pulls a gradient back by itself, adding its parameters' gradients into
/// running sums.
///
/// Solvers use it to differentiate hundreds of applications of one small network (``sdeint``'s
/// backpropagation through fixed Euler–Maruyama steps of an MLP drift) with no tape node per op
/// per step: the per-op records, existential boxes and graph walk cost more than the arithmetic
/// of a 64-wide layer on a small batch. The values and gradients are those of recording the
/// layer on the tape (the same kernels in the same order).
///
/// ``Linear``, ``Tanh`` and ``Sequential`` conform; a ``Sequential`` runs tape-free when each of
/// its layers is a `TapeFreeLayer` or has no parameters (``ReLU``, ``Sigmoid``, …: their pullback
/// re-applies them on a one-op tape).
public protocol TapeFreeLayer: Layer {
    /// Whether this instance can run tape-free (a ``Sequential`` only when all its layers can).
    var supportsTapeFree: Bool { get }

    /// The parameters whose gradients ``tapeFreePullback(_:saved:inputGradient:addingInto:sums:offset:)``
    /// sums, in slot order (slot `offset + i` holds the gradient of parameter `i`): every parameter
    /// the layer reads, in the order of ``Module/parameters`` (a parameter shared by two layers
    /// appears twice). Read without reflection, so solvers may ask for it at every solve.
    var tapeFreeParameters: [Parameter] { get }

    /// How many tensors ``tapeFreeForward(_:)`` saves (the same for every input).
    var tapeFreeSavedCount: Int { get }

    /// The output for `x`, recorded nowhere, with the tensors the pullback needs.
    func tapeFreeForward(_ x: Tensor) -> (output: Tensor, saved: [Tensor])

    /// `update` applied to the output for `x` (``NSDETensor/ElementwiseUpdate/apply(to:)``), with
    /// the tensors the pullback of ``tapeFreeForward(_:)`` needs (the update's own pullback is the
    /// caller's). Default: ``tapeFreeForward(_:)`` then the update's pass; a ``Linear`` (and a
    /// ``Sequential`` that ends in one) fuses the update into its product, the same bits without
    /// storing the output.
    func tapeFreeForward(_ x: Tensor, then update: ElementwiseUpdate) -> (updated: Tensor, saved: [Tensor])

    /// ∂L/∂x for ∂L/∂output `g` at the forward pass that returned `saved`.
    ///
    /// - Parameters:
    ///   - inputGradient: whether ∂L/∂x is needed (`nil` is returned otherwise).
    ///   - accumulator: a gradient of `x` already summed, in a buffer nothing else references:
    ///     ∂L/∂x is added to it (in place where the layer can) and the sum returned.
    ///   - sums: running gradient sums; parameter `i` of ``tapeFreeParameters`` adds its gradient
    ///     into `sums[offset + i]` (in place when present, else it stores it there).
    func tapeFreePullback(_ g: Tensor, saved: [Tensor], inputGradient: Bool, addingInto accumulator: Tensor?,
                          sums: inout [Tensor?], offset: Int) -> Tensor?
}

extension TapeFreeLayer {
    /// ``tapeFreeForward(_:)`` then `update`'s pass.
    public func tapeFreeForward(_ x: Tensor, then update: ElementwiseUpdate) -> (updated: Tensor, saved: [Tensor]) {
        let (output, saved) = tapeFreeForward(x)
        return (update.apply(to: output), saved)
    }
}

extension Layer {
    /// Whether a ``Sequential`` can run this layer tape-free: a supporting ``TapeFreeLayer``, or a
    /// layer without parameters.
    var runsTapeFree: Bool {
        if let layer = self as? any TapeFreeLayer { return layer.supportsTapeFree }
        return parameters.isEmpty
    }

    /// The pullback of a parameter-free layer at `x`: the layer re-applied on a one-op tape
    /// (the same kernels, so the same values as its record on the tape), added to `accumulator`.
    func parameterFreePullback(_ g: Tensor, at x: Tensor, addingInto accumulator: Tensor?) -> Tensor {
        let dx = valueAndPullback(of: { self($0) }, at: x, cotangent: g).vjp
        return accumulator.map { $0 + dx } ?? dx
    }
}
