import NSDETensor

/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay,
/// with PyTorch's update rule:
///
/// d = g + λ·p; b = μ·b + d (b = d on the first step); d = d + μ·b (Nesterov) or b; p = p − lr·d.
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    /// Momentum factor μ (0 disables momentum).
    public let momentum: Float
    /// Use Nesterov momentum.
    public let nesterov: Bool
    /// L2 penalty λ added to the gradient.
    public let weightDecay: Float
    private var state: ParameterBuffers

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(learningRate >= 0 && momentum >= 0 && weightDecay >= 0, "SGD: hyper-parameters must be non-negative")
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum requires momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.state = ParameterBuffers(count: parameters.count, names: ["momentum"])
    }

    public func step() {
        noGrad {
            for (i, p) in parameters.enumerated() {
                guard let g = p.grad else { continue }
                let lr = learningRate, wd = weightDecay, mu = momentum, nest = nesterov
                let gp = g.storage.pointer
                if mu == 0 {
                    p.withMutableStorage { w, n in for k in 0..<n { w[k] -= lr * (gp[k] + wd * w[k]) } }
                    continue
                }
                let first = state.buffers[i][0] == nil
                if first { state.buffers[i][0] = Tensor(repeating: 0, shape: p.shape) }
                let b = state.buffers[i][0]!.storage.pointer
                p.withMutableStorage { w, n in
                    for k in 0..<n {
                        let d = gp[k] + wd * w[k]
                        let buf = first ? d : mu * b[k] + d
                        b[k] = buf
                        w[k] -= lr * (nest ? d + mu * buf : buf)
                    }
                }
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        state.export(into: &d)
        return d
    }

    public func loadStateDict(_ dict: [String: Tensor]) throws { try state.load(dict, parameters: parameters) }
}
