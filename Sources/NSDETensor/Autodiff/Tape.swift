import Synchronization

/// A node of the dynamic autodiff graph: the op that produced a tensor and the nodes of the
/// op's inputs. Leaves (tensors on which `requiresGrad` was set) have no op and accumulate
/// their gradient in ``grad`` across backward passes, as in PyTorch.
public final class GradNode {
    /// The op that produced the tensor, `nil` for a leaf. Released after a backward pass.
    var op: (any DifferentiableOp)?
    /// The nodes of the op's inputs; `nil` for inputs that do not require a gradient.
    var inputs: [GradNode?]
    /// Accumulated gradient: kept for leaves, temporary for interior nodes.
    var grad: Tensor?
    /// Shape of the tensor this node belongs to (checked against incoming gradients).
    let shape: [Int]
    /// Whether this node is a leaf.
    var isLeaf: Bool { op == nil && inputs.isEmpty }
    /// Set once the graph below this node has been freed by a backward pass.
    var released = false

    init(shape: [Int], op: (any DifferentiableOp)?, inputs: [GradNode?]) {
        self.shape = shape
        self.op = op
        self.inputs = inputs
    }
}

/// The reverse pass over the graph: topological order, reverse walk, accumulation, shape
/// checks, then release of the graph.
enum Tape {
    /// Whether backward passes hand ops the gradients accumulated so far to add into
    /// (``DifferentiableOp/vjp(_:needsGradient:accumulators:)``); tests turn it off to compare
    /// with separate additions.
    @TaskLocal static var accumulatesInPlace = true

    /// Serialises every change to a leaf's gradient. Batch shards (`BatchParallel`) run their
    /// backward passes side by side, and a tensor that requires a gradient without being a
    /// parameter (an input every shard slices, a weight every shard multiplies by) is one leaf
    /// for all of them: unserialised, one shard's addition could overwrite another's. Interior
    /// nodes belong to one backward pass and are not locked.
    private static let leafGradients = Mutex<Void>(())

    /// Back-propagates `seed` (the gradient of the loss with respect to `root`) into every
    /// leaf that requires a gradient, accumulating into the leaves' `grad`.
    static func backward(from root: GradNode, seed: Tensor, retainGraph: Bool) {
        precondition(!root.released,
                     "backward(): the graph of this tensor was already freed by an earlier backward(); pass retainGraph: true to the first call")
        precondition(seed.shape == root.shape,
                     "backward(): seed gradient shape \(seed.shape) does not match tensor shape \(root.shape)")
        // Iterative depth-first search for a topological order (inputs before users).
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Bool)] = [(root, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for case let input? in node.inputs where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        let accumulatesInPlace = Tape.accumulatesInPlace
        noGrad {
            accumulate(seed, into: root)
            for node in order.reversed() {
                guard let op = node.op else { continue }
                guard let upstream = node.grad else { continue }
                if !retainGraph { node.grad = nil }
                let needs = node.inputs.map { $0 != nil }
                let accumulators = accumulatesInPlace && op.acceptsAccumulators ? node.inputs.map(takeAccumulator) : nil
                let grads = accumulators.map { op.vjp(upstream, needsGradient: needs, accumulators: $0) }
                    ?? op.vjp(upstream, needsGradient: needs)
                precondition(grads.count == node.inputs.count,
                             "\(op.name): vjp returned \(grads.count) gradients for \(node.inputs.count) inputs")
                for (i, (input, g)) in zip(node.inputs, grads).enumerated() {
                    guard let input else { continue }
                    if let sum = accumulators?[i] {
                        // The gradient so far goes back; the op either added into it (and
                        // returned it) or returned its own gradient to add below. (Another
                        // shard may have added into a leaf meanwhile: then the two are summed.)
                        accumulate(sum, into: input)
                        if let g, g.storage === sum.storage { continue }
                    }
                    guard let g else { continue }
                    precondition(g.shape == input.shape,
                                 "\(op.name): gradient shape \(g.shape) does not match input shape \(input.shape)")
                    accumulate(g, into: input)
                }
                if retainGraph {
                    node.grad = nil
                } else {
                    node.op = nil
                    node.inputs = []
                    node.released = true
                }
            }
        }
    }

    /// The gradient accumulated in `node` so far, taken out of it, when no other tensor shares its
    /// buffer (an op may then add into it in place); `nil` otherwise, leaving the node as it was.
    private static func takeAccumulator(_ node: GradNode?) -> Tensor? {
        guard let node else { return nil }
        func take() -> Tensor? {
            guard var existing = node.grad else { return nil }
            node.grad = nil
            if isKnownUniquelyReferenced(&existing.storage) { return existing }
            node.grad = existing
            return nil
        }
        return node.isLeaf ? leafGradients.withLock { _ in take() } : take()
    }

    /// Adds `g` into `node`'s gradient (or makes it the gradient), under ``leafGradients`` for a leaf.
    private static func accumulate(_ g: Tensor, into node: GradNode) {
        if node.isLeaf {
            leafGradients.withLock { _ in accumulateUnlocked(g, into: node) }
        } else {
            accumulateUnlocked(g, into: node)
        }
    }

    private static func accumulateUnlocked(_ g: Tensor, into node: GradNode) {
        if var existing = node.grad {
            node.grad = nil
            if isKnownUniquelyReferenced(&existing.storage) {
                // No other tensor shares the buffer (a parameter's gradient read by the caller
                // after an earlier backward pass would): add in place, the values of `existing + g`.
                Elementwise.addInPlace(existing, g)
                node.grad = existing
            } else {
                node.grad = existing + g
            }
        } else {
            // Own a private copy only if someone else could mutate it later; tensors are
            // immutable, so sharing is safe.
            node.grad = g.detached()
        }
    }
}

// MARK: - Tensor autodiff API

extension Tensor {
    /// Whether gradients with respect to this tensor are computed by ``backward(_:retainGraph:)``.
    ///
    /// Setting it to `true` on a tensor makes it a leaf of the graph (like a parameter);
    /// setting it to `false` detaches it.
    public var requiresGrad: Bool {
        get { node != nil }
        set {
            if newValue {
                if node == nil { node = GradNode(shape: shape, op: nil, inputs: []) }
            } else {
                node = nil
            }
        }
    }

    /// The gradient accumulated into this leaf by backward passes, or `nil` if none ran.
    public var grad: Tensor? {
        get { node?.grad }
        nonmutating set {
            precondition(node != nil, "Tensor.grad: tensor does not require a gradient")
            if let newValue { precondition(newValue.shape == shape, "Tensor.grad: shape \(newValue.shape) does not match \(shape)") }
            node!.grad = newValue
        }
    }

    /// Clears the accumulated gradient of this leaf.
    public func zeroGrad() { node?.grad = nil }

    /// The same values, cut from the autodiff graph and without a tangent.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// Reverse-mode differentiation: accumulates d(self)/d(leaf) into every leaf's ``grad``.
    ///
    /// - Parameters:
    ///   - seed: the gradient of the final loss with respect to `self`; defaults to ones,
    ///     which for a scalar loss gives its gradient.
    ///   - retainGraph: keep the graph so that `backward` can be called again.
    public func backward(_ seed: Tensor? = nil, retainGraph: Bool = false) {
        guard let node else {
            preconditionFailure("backward(): tensor does not require a gradient (no input had requiresGrad set, or it was computed inside noGrad)")
        }
        Tape.backward(from: node, seed: seed ?? Tensor(repeating: 1, shape: shape), retainGraph: retainGraph)
    }

    /// Records the result of an op. Called by every differentiable op after its forward kernel.
    ///
    /// Attaches a graph node if recording is enabled and some input requires a gradient, and a
    /// forward-mode tangent if some input carries one. `op` is built only when needed.
    public static func record(_ value: Tensor, inputs: [Tensor], op: () -> any DifferentiableOp) -> Tensor {
        let needsNode = GradMode.isEnabled && inputs.contains { $0.node != nil }
        let needsTangent = inputs.contains { $0.tangentBox != nil }
        if !needsNode && !needsTangent { return value }
        var result = value
        let built = op()
        if needsNode {
            result.node = GradNode(shape: value.shape, op: built, inputs: inputs.map { $0.node })
        }
        if needsTangent {
            let tangents = inputs.map { $0.tangentBox?.value }
            guard let t = built.jvp(tangents) else {
                preconditionFailure("\(built.name): forward-mode differentiation is not supported by this op")
            }
            precondition(t.shape == value.shape, "\(built.name): jvp shape \(t.shape) does not match output \(value.shape)")
            result.tangentBox = TangentBox(t)
        }
        return result
    }
}

// MARK: - Functional API

/// The value of a scalar function and its gradient with respect to `x`.
///
/// `f` must return a tensor with one element. `x` is treated as a fresh leaf, so gradients of
/// any outer graph are not touched.
public func valueAndGradient(of f: (Tensor) -> Tensor, at x: Tensor) -> (value: Tensor, gradient: Tensor) {
    enableGrad {
        var leaf = x.detached()
        leaf.requiresGrad = true
        let y = f(leaf)
        precondition(y.count == 1, "valueAndGradient: function must return one element, got shape \(y.shape)")
        guard y.node != nil else { return (y.detached(), Tensor(repeating: 0, shape: x.shape)) }
        y.backward()
        return (y.detached(), leaf.grad ?? Tensor(repeating: 0, shape: x.shape))
    }
}

/// The value of a scalar function of several tensors and its gradient with respect to each.
public func valueAndGradient(of f: ([Tensor]) -> Tensor, at xs: [Tensor]) -> (value: Tensor, gradients: [Tensor]) {
    enableGrad {
        let leaves = xs.map { x -> Tensor in var l = x.detached(); l.requiresGrad = true; return l }
        let y = f(leaves)
        precondition(y.count == 1, "valueAndGradient: function must return one element, got shape \(y.shape)")
        if y.node != nil { y.backward() }
        return (y.detached(), leaves.map { $0.grad ?? Tensor(repeating: 0, shape: $0.shape) })
    }
}

/// The value of `f` at `x` and the vector-Jacobian product `vᵀ · ∂f/∂x` (reverse mode).
///
/// `v` must have the shape of `f(x)`. This is the primitive that adjoint methods use.
public func valueAndPullback(of f: (Tensor) -> Tensor, at x: Tensor, cotangent v: Tensor) -> (value: Tensor, vjp: Tensor) {
    enableGrad {
        var leaf = x.detached()
        leaf.requiresGrad = true
        let y = f(leaf)
        precondition(y.shape == v.shape, "valueAndPullback: cotangent shape \(v.shape) does not match output \(y.shape)")
        guard y.node != nil else { return (y.detached(), Tensor(repeating: 0, shape: x.shape)) }
        y.backward(v)
        return (y.detached(), leaf.grad ?? Tensor(repeating: 0, shape: x.shape))
    }
}
