import NSDETensor

/// Updates a set of parameters from their accumulated gradients.
///
/// Conformers hold per-parameter state (momentum, moment estimates) that ``stateDict()`` exports
/// for checkpoints, keyed `"<parameter index>.<buffer>"`, plus `"step"`.
public protocol Optimizer: AnyObject {
    /// The parameters this optimiser updates, in a fixed order.
    var parameters: [Parameter] { get }
    /// The step size used by the next ``step()``; schedules set it between epochs.
    var learningRate: Float { get set }
    /// Applies one update to every parameter that has a gradient.
    func step()
    /// The optimiser's state for checkpoints.
    func stateDict() -> [String: Tensor]
    /// Restores state written by ``stateDict()``.
    func loadStateDict(_ state: [String: Tensor]) throws
}

extension Optimizer {
    /// Clears the gradients of every parameter.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// A checkpointed optimiser state that does not match the optimiser.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public var description: String
}

/// Per-parameter buffers shared by the optimisers: saving, loading and shape checks.
struct ParameterBuffers {
    var buffers: [[Tensor?]]
    let names: [String]

    init(count: Int, names: [String]) {
        buffers = Array(repeating: Array(repeating: nil, count: names.count), count: count)
        self.names = names
    }

    func export(into dict: inout [String: Tensor]) {
        for (i, row) in buffers.enumerated() {
            for (j, b) in row.enumerated() { if let b { dict["\(i).\(names[j])"] = b.copy() } }
        }
    }

    mutating func load(_ dict: [String: Tensor], parameters: [Parameter]) throws {
        var fresh = ParameterBuffers(count: parameters.count, names: names)
        for (key, t) in dict where key != "step" {
            let parts = key.split(separator: ".")
            guard parts.count == 2, let i = Int(parts[0]), i >= 0, i < parameters.count,
                  let j = names.firstIndex(of: String(parts[1])) else {
                throw OptimizerStateError(description: "optimizer state: unexpected entry '\(key)'")
            }
            guard t.shape == parameters[i].shape else {
                throw OptimizerStateError(description: "optimizer state: '\(key)' has shape \(t.shape), parameter \(i) has \(parameters[i].shape)")
            }
            fresh.buffers[i][j] = t.copy()
        }
        self = fresh
    }
}
