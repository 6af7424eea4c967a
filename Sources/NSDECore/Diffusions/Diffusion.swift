import NSDENN
import NSDETensor

/// A diffusion g(t, y) that can be paired with any drift to form an SDE (see ``NeuralDriftSDE``).
///
/// The drift f(t, y) that the current step has already computed is passed in, so a diffusion
/// built from it (``DropoutDiffusion``: σ·diag f) costs no extra drift evaluation.
public protocol Diffusion {
    /// How g acts on ΔW (see ``NoiseType``).
    var noise: NoiseType { get }
    /// Whether ``value(_:_:drift:)`` reads the drift (default `false`); when `false`, callers
    /// that have no drift at hand pass zeros instead of evaluating it.
    var usesDrift: Bool { get }
    /// g(t, y), of y's shape (or `[batch, state, noise]` for general noise), given the drift
    /// `f = f(t, y)` already computed at the same point.
    func value(_ t: Double, _ y: Tensor, drift f: Tensor) -> Tensor
    /// g(t, y)·ΔW, of y's shape. Default: `noise.apply(value(t, y, drift: f), dW)`.
    func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor
    /// The trainable parameters g reads (default: none; ``NeuralDiffusion`` lists its network's).
    var parameters: [Parameter] { get }
    /// `false` for g ≡ 0 (``NoDiffusion``), so solvers skip drawing increments (default `true`).
    var hasNoise: Bool { get }
    /// y + f·Δt + g(t, y)·ΔW, fused where the diffusion allows (see ``SDE/eulerMaruyamaUpdate(_:_:drift:dt:_:)``).
    func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor

    /// ``eulerMaruyamaUpdate(_:_:drift:dt:_:)`` as an elementwise update of the drift f, when it
    /// is one (default `nil`): a drift network whose last layer computes f can then fuse the
    /// update into its product (``NSDENN/TapeFreeLayer/tapeFreeForward(_:then:)``), with the bits of
    /// ``eulerMaruyamaUpdate(_:_:drift:dt:_:)``.
    func eulerMaruyamaUpdateOfDrift(_ t: Double, _ y: Tensor, dt h: Float, _ dW: Tensor) -> ElementwiseUpdate?

    /// Which of y, f and ΔW ``eulerMaruyamaUpdatePullback(_:_:_:drift:dt:_:)`` reads (default:
    /// all three). A solve that differentiates its steps without the tape keeps only these.
    var updatePullbackReads: UpdatePullbackInputs { get }

    /// The pullback of ``eulerMaruyamaUpdate(_:_:drift:dt:_:)``: given `a` = ∂L/∂y₁, the
    /// gradients ∂L/∂y and ∂L/∂f (y's shape). `y`, `f` and `dW` are `nil` where
    /// ``updatePullbackReads`` leaves them out. Default: the update re-run on a one-op tape, for
    /// diffusions without parameters (the parameters of a diffusion that has them are not
    /// differentiated here). The `state` gradient may be `a` itself.
    func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                     _ dW: Tensor?) -> (state: Tensor, drift: Tensor)
}

/// The inputs of an Euler–Maruyama update that its pullback reads (see
/// ``Diffusion/updatePullbackReads``).
public struct UpdatePullbackInputs: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The state y before the step.
    public static let state = UpdatePullbackInputs(rawValue: 1)
    /// The drift f(t, y).
    public static let drift = UpdatePullbackInputs(rawValue: 2)
    /// The Brownian increment ΔW.
    public static let noise = UpdatePullbackInputs(rawValue: 4)
    /// All three.
    public static let all: UpdatePullbackInputs = [.state, .drift, .noise]
}

extension Diffusion {
    /// Default: the diffusion ignores the drift.
    public var usesDrift: Bool { false }

    /// The drift f a value or product of this diffusion reads: `given` when the step computed it,
    /// else `evaluate(t, y)` when the diffusion reads f (``usesDrift``), else zeros of y's shape (an
    /// SDE's `diffusion(_:_:drift:)` and `diffusionProduct(_:_:_:drift:)` pass what they got).
    public func drift(_ given: Tensor?, at t: Double, _ y: Tensor, evaluate: (Double, Tensor) -> Tensor) -> Tensor {
        if let given { return given }
        return usesDrift ? evaluate(t, y) : Tensor(repeating: 0, shape: y.shape)
    }

    /// Default: no parameters.
    public var parameters: [Parameter] { [] }

    /// Default: `true`.
    public var hasNoise: Bool { true }

    /// Default: `y.addingScaled(f, Δt, g·ΔW, 1)`.
    public func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        y.addingScaled(f, h, product(t, y, dW, drift: f), 1)
    }

    /// Default: `nil` (the update is not an elementwise update of f alone).
    public func eulerMaruyamaUpdateOfDrift(_ t: Double, _ y: Tensor, dt h: Float, _ dW: Tensor) -> ElementwiseUpdate? { nil }

    /// Default: all three.
    public var updatePullbackReads: UpdatePullbackInputs { .all }

    /// Default: the update re-run from leaves y and f on a one-op tape.
    public func eulerMaruyamaUpdatePullback(_ a: Tensor, _ t: Double, _ y: Tensor?, drift f: Tensor?, dt h: Float,
                                            _ dW: Tensor?) -> (state: Tensor, drift: Tensor) {
        guard let y, let f, let dW else {
            preconditionFailure("eulerMaruyamaUpdatePullback: the default pullback reads y, f and ΔW (updatePullbackReads = .all)")
        }
        return enableGrad {
            let yLeaf = gradientLeaf(y), fLeaf = gradientLeaf(f)
            let next = eulerMaruyamaUpdate(t, yLeaf, drift: fLeaf, dt: h, dW)
            if next.requiresGrad { next.backward(a) }
            return (yLeaf.grad ?? Tensor(repeating: 0, shape: y.shape), fLeaf.grad ?? Tensor(repeating: 0, shape: f.shape))
        }
    }

    /// Default: forms g and applies it with ``NoiseType/apply(_:_:)``.
    public func product(_ t: Double, _ y: Tensor, _ dW: Tensor, drift f: Tensor) -> Tensor {
        noise.apply(value(t, y, drift: f), dW)
    }
}
