import Foundation
import NSDETensor

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), with PyTorch's update rule:
///
/// m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²; p = p − lr·m̂/(√v̂ + ε) with bias-corrected m̂, v̂.
/// Weight decay λ is added to the gradient (Adam) or applied as p = p − lr·λ·p (AdamW).
public final class Adam: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float
    /// Weight-decay factor λ.
    public let weightDecay: Float
    /// `true` for AdamW's decoupled weight decay.
    public let decoupledWeightDecay: Bool
    /// Number of steps taken (for bias correction).
    public private(set) var stepCount = 0
    private var state: ParameterBuffers

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        precondition(learningRate >= 0 && eps >= 0 && weightDecay >= 0, "Adam: hyper-parameters must be non-negative")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: betas must be in [0, 1)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        self.state = ParameterBuffers(count: parameters.count, names: ["exp_avg", "exp_avg_sq"])
    }

    /// AdamW: Adam with decoupled weight decay (default λ = 0.01 as in PyTorch).
    public static func adamW(parameters: [Parameter], learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step() {
        stepCount += 1
        let b1 = beta1, b2 = beta2, lr = learningRate, wd = weightDecay, e = eps, decoupled = decoupledWeightDecay
        let c1 = 1 - Float(Foundation.pow(Double(b1), Double(stepCount)))
        let c2 = 1 - Float(Foundation.pow(Double(b2), Double(stepCount)))
        noGrad {
            for (i, p) in parameters.enumerated() {
                guard let g = p.grad else { continue }
                if state.buffers[i][0] == nil {
                    state.buffers[i][0] = Tensor(repeating: 0, shape: p.shape)
                    state.buffers[i][1] = Tensor(repeating: 0, shape: p.shape)
                }
                let m = state.buffers[i][0]!.storage.pointer, v = state.buffers[i][1]!.storage.pointer
                let gp = g.storage.pointer
                p.withMutableStorage { w, n in
                    for k in 0..<n {
                        var gk = gp[k]
                        if decoupled { w[k] -= lr * wd * w[k] } else { gk += wd * w[k] }
                        m[k] = b1 * m[k] + (1 - b1) * gk
                        v[k] = b2 * v[k] + (1 - b2) * gk * gk
                        w[k] -= lr * (m[k] / c1) / ((v[k] / c2).squareRoot() + e)
                    }
                }
            }
        }
    }

    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = ["step": Tensor(Float(stepCount))]
        state.export(into: &d)
        return d
    }

    public func loadStateDict(_ dict: [String: Tensor]) throws {
        try state.load(dict, parameters: parameters)
        stepCount = Int(dict["step"]?.item ?? 0)
    }
}
