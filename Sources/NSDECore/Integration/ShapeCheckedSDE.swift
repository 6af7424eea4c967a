import NSDENN
import NSDETensor

/// The first shape error an ``ShapeCheckedSDE`` saw, read by the ``Integrator`` after each step.
final class ShapeCheck {
    /// The first mismatch, or `nil`.
    var error: SDEError?
    /// Whether the diffusion product has been checked before a (possibly fused) Euler–Maruyama
    /// update, which would otherwise combine a wrong-shaped product inside the base's kernel.
    var checkedUpdateProduct = false

    /// Records `found` as a mismatch unless it equals `expected`; returns whether it matched.
    func check(_ what: String, expected: [Int], found: [Int]) -> Bool {
        if found == expected { return true }
        if error == nil { error = .shapeMismatch(what: what, expected: expected, found: found) }
        return false
    }
}

/// Forwards every requirement to `base` and checks that the drift, the diffusion product and the
/// Euler–Maruyama update return the state's shape. A wrong shape is recorded in ``check`` and
/// replaced by zeros of the right shape, so the step in progress finishes without tripping a
/// kernel's precondition and the ``Integrator`` throws the recorded error as soon as that step
/// ends. This checks the user's functions on the solve's own first evaluations, instead of
/// spending an extra drift evaluation on a separate check before solving.
struct ShapeCheckedSDE<Base: SDE>: SDE {
    let base: Base
    let check: ShapeCheck

    var calculus: StochasticCalculus { base.calculus }
    var noise: NoiseType { base.noise }
    var noiseDimension: Int { base.noiseDimension }
    var parameters: [Parameter] { base.parameters }
    var hasNoise: Bool { base.hasNoise }
    var eulerMaruyamaUpdateIsElementwise: Bool { base.eulerMaruyamaUpdateIsElementwise }

    func drift(_ t: Double, _ y: Tensor) -> Tensor {
        let f = base.drift(t, y)
        return check.check("The drift f(t, y)", expected: y.shape, found: f.shape) ? f : Tensor(repeating: 0, shape: y.shape)
    }

    func diffusion(_ t: Double, _ y: Tensor, drift: Tensor?) -> Tensor { base.diffusion(t, y, drift: drift) }

    func diffusionProduct(_ t: Double, _ y: Tensor, _ dW: Tensor, drift: Tensor?) -> Tensor {
        let gdW = base.diffusionProduct(t, y, dW, drift: drift)
        return check.check("The diffusion product g(t, y)·ΔW", expected: y.shape, found: gdW.shape)
            ? gdW : Tensor(repeating: 0, shape: y.shape)
    }

    func brownianShape(state: [Int]) -> [Int] { base.brownianShape(state: state) }

    func eulerMaruyamaUpdate(_ t: Double, _ y: Tensor, drift f: Tensor, dt h: Float, _ dW: Tensor) -> Tensor {
        if !check.checkedUpdateProduct && !base.eulerMaruyamaUpdateIsElementwise {
            // Once per solve: the product alone (off the tape), so that a wrong shape is reported
            // rather than reaching the base's fused update.
            check.checkedUpdateProduct = true
            let product = noGrad { base.diffusionProduct(t, y, dW, drift: f) }
            guard check.check("The diffusion product g(t, y)·ΔW", expected: y.shape, found: product.shape) else {
                return Tensor(repeating: 0, shape: y.shape)
            }
        }
        let next = base.eulerMaruyamaUpdate(t, y, drift: f, dt: h, dW)
        return check.check("The diffusion product g(t, y)·ΔW", expected: y.shape, found: next.shape)
            ? next : Tensor(repeating: 0, shape: y.shape)
    }
}
