import Foundation

/// ImageMagick's `MotionBlurImage(radius, σ, angle)` (Wand `motion_blur`), as the reference
/// describes it for IM 6 ≥ 6.7 and IM 7: a one-sided line kernel.
///
/// - Kernel length n = 2·ceil(radius) + 1 (IM's `GetOptimalKernelWidth1D` for radius > 0).
/// - Weights w_i ∝ exp(−i²/2σ²), i = 0 ..< n, normalised to sum 1.
/// - Offsets dx_i = ceil(i·cos θ − 0.5), dy_i = ceil(i·sin θ − 0.5), θ in degrees, y down.
/// - out(x, y) = Σ w_i · in(x + dx_i, y + dy_i) per channel, coordinates clamped to the edge;
///   the result goes through IM's 16-bit quantum (round half up of 257·v) and back to 8 bits
///   ((q + 128) div 257), i.e. rounded to the nearest 8-bit value.
struct MotionBlurKernel {
    /// Column offsets, row offsets and weights of the n taps.
    let taps: [(dx: Int, dy: Int, weight: Double)]

    init(radius: Double, sigma: Double, angleDegrees: Double) {
        let n = radius > 0 ? 2 * Int(radius.rounded(.up)) + 1 : 1
        let weights = (0 ..< n).map { i in exp(-Double(i * i) / (2 * sigma * sigma)) }
        let sum = weights.reduce(0, +)
        let theta = Double.pi * angleDegrees / 180
        let cosine = cos(theta), sine = sin(theta)
        taps = (0 ..< n).map { i in
            (Int((Double(i) * cosine - 0.5).rounded(.up)), Int((Double(i) * sine - 0.5).rounded(.up)), weights[i] / sum)
        }
    }

    /// The blurred 8-bit image.
    func apply(_ image: CorruptionImage) -> CorruptionImage {
        let h = image.height, w = image.width, c = image.channels
        var out = image
        for y in 0 ..< h {
            for x in 0 ..< w {
                for ch in 0 ..< c {
                    var s = 0.0
                    for tap in taps {
                        let sy = min(max(y + tap.dy, 0), h - 1), sx = min(max(x + tap.dx, 0), w - 1)
                        s += tap.weight * Double(image.pixels[(sy * w + sx) * c + ch])
                    }
                    let quantum = min(max((257 * s + 0.5).rounded(.down), 0), 65535)
                    out.pixels[(y * w + x) * c + ch] = UInt8((Int(quantum) + 128) / 257)
                }
            }
        }
        return out
    }
}
