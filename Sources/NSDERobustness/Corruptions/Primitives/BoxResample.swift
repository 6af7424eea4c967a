/// Pillow's `Image.resize(size, Image.BOX)` on 8-bit images (`Resample.c`).
///
/// A horizontal pass (when the width changes) then a vertical pass (when the height changes),
/// each rounded to 8 bits. For an axis resized from `in` to `out` samples: scale = in/out,
/// filter scale s = max(scale, 1), support = 0.5·s; output o is centred at (o + 0.5)·scale and
/// averages, with equal weight, the inputs x in [int(centre − support + 0.5), int(centre +
/// support + 0.5)) whose box test |(x − centre + 0.5)/s| ∈ (−0.5, 0.5] passes. Weights are
/// normalised, then converted to 22-bit fixed point (round half away from zero); each output is
/// (2²¹ + Σ k·in) >> 22, clamped to 0...255. Downscaling averages 1–2 pixels per axis; upscaling
/// is nearest neighbour.
enum BoxResample {
    private static let precisionBits = 32 - 8 - 2

    /// Fixed-point coefficients: for each output sample, the first input and the weights.
    static func coefficients(input: Int, output: Int) -> [(start: Int, weights: [Int32])] {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 0.5 * filterScale
        let ss = 1 / filterScale
        return (0 ..< output).map { o in
            let centre = (Double(o) + 0.5) * scale
            let xmin = max(Int(centre - support + 0.5), 0)
            let xmax = min(Int(centre + support + 0.5), input) - xmin
            var weights = [Double]()
            var total = 0.0
            for x in 0 ..< max(xmax, 0) {
                let u = (Double(x + xmin) - centre + 0.5) * ss
                let w: Double = (u > -0.5 && u <= 0.5) ? 1 : 0
                weights.append(w)
                total += w
            }
            let fixed = weights.map { w -> Int32 in
                let k = total != 0 ? w / total : w
                let scaled = k * Double(1 << precisionBits)
                return Int32(k < 0 ? (scaled - 0.5).rounded(.towardZero) : (scaled + 0.5).rounded(.towardZero))
            }
            return (xmin, fixed)
        }
    }

    @inline(__always) private static func clip8(_ v: Int32) -> UInt8 {
        let shifted = v >> Int32(precisionBits)
        return UInt8(min(max(shifted, 0), 255))
    }

    /// `image` resized to `height` x `width`.
    static func resize(_ image: CorruptionImage, height: Int, width: Int) -> CorruptionImage {
        var current = image
        let c = image.channels
        let half = Int32(1) << Int32(precisionBits - 1)
        if width != current.width {
            let coeffs = coefficients(input: current.width, output: width)
            var pixels = [UInt8](repeating: 0, count: current.height * width * c)
            for y in 0 ..< current.height {
                for x in 0 ..< width {
                    let (start, k) = coeffs[x]
                    for ch in 0 ..< c {
                        var s = half
                        for i in k.indices { s &+= Int32(current.pixels[(y * current.width + start + i) * c + ch]) &* k[i] }
                        pixels[(y * width + x) * c + ch] = clip8(s)
                    }
                }
            }
            current = CorruptionImage(height: current.height, width: width, channels: c, pixels: pixels)
        }
        if height != current.height {
            let coeffs = coefficients(input: current.height, output: height)
            var pixels = [UInt8](repeating: 0, count: height * current.width * c)
            for y in 0 ..< height {
                let (start, k) = coeffs[y]
                for x in 0 ..< current.width {
                    for ch in 0 ..< c {
                        var s = half
                        for i in k.indices { s &+= Int32(current.pixels[((start + i) * current.width + x) * c + ch]) &* k[i] }
                        pixels[(y * current.width + x) * c + ch] = clip8(s)
                    }
                }
            }
            current = CorruptionImage(height: height, width: current.width, channels: c, pixels: pixels)
        }
        return current
    }
}
