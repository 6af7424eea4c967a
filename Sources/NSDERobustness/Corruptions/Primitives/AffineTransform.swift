/// OpenCV's `getAffineTransform` and `warpAffine` (bilinear, border reflect-101) on a
/// ``FloatImage``.
///
/// `warpAffine(src, M)` without `WARP_INVERSE_MAP` samples `output(p) = input(M⁻¹ p)`. As in
/// OpenCV, the source position is computed in fixed point: X = round-half-even(1024·(M⁻¹ row)) +
/// 16, shifted right by 5, so positions are quantised to 1/32 pixel; the integer part picks the
/// 2x2 taps, the fraction the bilinear weights, and taps outside the image read through
/// reflect-101.
struct AffineTransform {
    /// `[a, b, c, d, e, f]`: (x, y) ↦ (a x + b y + c, d x + e y + f).
    var m: [Double]

    /// The affine map taking the three `source` points (x, y) to the three `destination` points
    /// (OpenCV `getAffineTransform`).
    init(from source: [(Double, Double)], to destination: [(Double, Double)]) {
        precondition(source.count == 3 && destination.count == 3, "AffineTransform: needs 3 point pairs")
        // Solve [x y 1] · [a b c]ᵀ = u and likewise for v, by Cramer's rule.
        let (x0, y0) = source[0], (x1, y1) = source[1], (x2, y2) = source[2]
        let det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1)
        precondition(det != 0, "AffineTransform: source points are collinear")
        func solve(_ r0: Double, _ r1: Double, _ r2: Double) -> (Double, Double, Double) {
            let a = (r0 * (y1 - y2) - y0 * (r1 - r2) + (r1 * y2 - r2 * y1)) / det
            let b = (x0 * (r1 - r2) - r0 * (x1 - x2) + (x1 * r2 - x2 * r1)) / det
            let c = (x0 * (y1 * r2 - y2 * r1) - y0 * (x1 * r2 - x2 * r1) + r0 * (x1 * y2 - x2 * y1)) / det
            return (a, b, c)
        }
        let (a, b, c) = solve(destination[0].0, destination[1].0, destination[2].0)
        let (d, e, f) = solve(destination[0].1, destination[1].1, destination[2].1)
        m = [a, b, c, d, e, f]
    }

    init(m: [Double]) { self.m = m }

    /// The inverse map (OpenCV `invertAffineTransform`).
    var inverse: AffineTransform {
        let det = m[0] * m[4] - m[1] * m[3]
        let d = det != 0 ? 1 / det : 0
        let a = m[4] * d, b = -m[1] * d, e = m[0] * d, dd = -m[3] * d
        let c = -a * m[2] - b * m[5], f = -dd * m[2] - e * m[5]
        return AffineTransform(m: [a, b, c, dd, e, f])
    }

    /// OpenCV `warpAffine(image, self, (width, height), INTER_LINEAR, BORDER_REFLECT_101)`.
    func warp(_ image: FloatImage) -> FloatImage {
        let inv = inverse.m
        let h = image.height, w = image.width, c = image.channels
        let scale = 1024.0, roundDelta = 16
        @inline(__always) func cvRound(_ v: Double) -> Int { Int(v.rounded(.toNearestOrEven)) }
        let adelta = (0 ..< w).map { cvRound(inv[0] * Double($0) * scale) }
        let bdelta = (0 ..< w).map { cvRound(inv[3] * Double($0) * scale) }
        var out = FloatImage(height: h, width: w, channels: c)
        for y in 0 ..< h {
            let x0 = cvRound((inv[1] * Double(y) + inv[2]) * scale) + roundDelta
            let y0 = cvRound((inv[4] * Double(y) + inv[5]) * scale) + roundDelta
            for x in 0 ..< w {
                let X = (x0 + adelta[x]) >> 5, Y = (y0 + bdelta[x]) >> 5
                let ix = X >> 5, iy = Y >> 5
                let fx = Double(X & 31) / 32, fy = Double(Y & 31) / 32
                let sx0 = Boundary.reflect101.index(ix, w), sx1 = Boundary.reflect101.index(ix + 1, w)
                let sy0 = Boundary.reflect101.index(iy, h), sy1 = Boundary.reflect101.index(iy + 1, h)
                let w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx
                for ch in 0 ..< c {
                    out[y, x, ch] = w00 * image[sy0, sx0, ch] + w01 * image[sy0, sx1, ch]
                        + w10 * image[sy1, sx0, ch] + w11 * image[sy1, sx1, ch]
                }
            }
        }
        return out
    }
}
