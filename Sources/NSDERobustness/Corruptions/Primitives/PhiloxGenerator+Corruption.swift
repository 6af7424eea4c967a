import Foundation
import NSDETensor

// The draws the corruptions make, built on the library's Philox generator so they depend only on
// (seed, stream, counter).
extension PhiloxGenerator {
    /// A uniform `Double` in [0, 1): the top 53 bits of two words times 2⁻⁵³.
    @inline(__always) mutating func uniformDouble() -> Double {
        Double(next64() >> 11) * 0x1p-53
    }

    /// A uniform `Double` in [low, high).
    @inline(__always) mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * uniformDouble()
    }

    /// A standard normal, as ``nextNormal()`` (Box–Muller on two words), widened to `Double`.
    @inline(__always) mutating func normal() -> Double {
        Double(nextNormal())
    }

    /// A uniform integer in `low..<high` (NumPy's `randint(low, high)`).
    @inline(__always) mutating func integer(_ low: Int, _ high: Int) -> Int {
        low + nextInt(below: high - low)
    }

    /// A Poisson(λ) count, by NumPy's methods: multiplication of uniforms (Knuth) for λ < 10 and
    /// Hörmann's transformed rejection with squeeze (PTRS, 1993) for λ ≥ 10. λ ≤ 0 gives 0.
    mutating func poisson(_ lambda: Double) -> Int {
        guard lambda > 0 else { return 0 }
        if lambda < 10 {
            let limit = exp(-lambda)
            var product = 1.0
            var count = 0
            while true {
                product *= uniformDouble()
                if product > limit { count += 1 } else { return count }
            }
        }
        let slam = lambda.squareRoot()
        let loglam = log(lambda)
        let b = 0.931 + 2.53 * slam
        let a = -0.059 + 0.02483 * b
        let invalpha = 1.1239 + 1.1328 / (b - 3.4)
        let vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = uniformDouble() - 0.5
            let v = uniformDouble()
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + lambda + 0.43).rounded(.down)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + log(invalpha) - log(a / (us * us) + b) <= -lambda + k * loglam - lgamma(k + 1) {
                return Int(k)
            }
        }
    }
}
