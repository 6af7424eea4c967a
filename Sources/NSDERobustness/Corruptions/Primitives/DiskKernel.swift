import Foundation

/// The defocus kernel of `make_cifar_c.py`'s `disk(radius, alias_blur)`: an anti-aliased,
/// normalised disk.
///
/// 1. On the grid of offsets L×L, L = −8...8 when radius ≤ 8 (else −radius...radius), mark
///    x² + y² ≤ radius² and divide by the count.
/// 2. Blur it with OpenCV `GaussianBlur` (3×3 when radius ≤ 8, else 5×5; σ = alias σ; weights
///    ∝ exp(−k²/2σ²), normalised; border reflect-101).
///
/// For the CIFAR-10-C radii this gives separable 3×3 Gaussians (r = 0.3, 0.4, 0.5), a 5-pixel
/// plus (r = 1) and a 3×3 box (r = 1.5), up to the small Gaussian spill.
struct DiskKernel {
    /// Nonzero taps: row offset, column offset, weight (sum 1).
    let taps: [(dy: Int, dx: Int, weight: Double)]

    init(radius: Double, aliasSigma: Double) {
        let half = radius <= 8 ? 8 : Int(radius)
        let ksize = radius <= 8 ? 3 : 5
        let side = 2 * half + 1
        // In float32, as the release (NumPy float32 disk, OpenCV float32 GaussianBlur: row pass,
        // then column pass, accumulating in tap order), so the kernel's sum differs from 1 as the
        // release's does; that decides some truncations to 8 bits.
        var disk = [Float](repeating: 0, count: side * side)
        var count: Float = 0
        for y in 0 ..< side {
            for x in 0 ..< side {
                let dy = Double(y - half), dx = Double(x - half)
                if dx * dx + dy * dy <= radius * radius { disk[y * side + x] = 1; count += 1 }
            }
        }
        for i in disk.indices { disk[i] /= count }
        let g = DiskKernel.openCVGaussian(ksize: ksize, sigma: aliasSigma).map { Float($0) }
        let origin = ksize / 2
        var rows = [Float](repeating: 0, count: side * side)
        for y in 0 ..< side {
            for x in 0 ..< side {
                var s: Float = 0
                for t in 0 ..< ksize { s += g[t] * disk[y * side + Boundary.reflect101.index(x + t - origin, side)] }
                rows[y * side + x] = s
            }
        }
        var taps = [(dy: Int, dx: Int, weight: Double)]()
        for y in 0 ..< side {
            for x in 0 ..< side {
                var s: Float = 0
                for t in 0 ..< ksize { s += g[t] * rows[Boundary.reflect101.index(y + t - origin, side) * side + x] }
                if s != 0 { taps.append((y - half, x - half, Double(s))) }
            }
        }
        self.taps = taps
    }

    /// OpenCV `getGaussianKernel(ksize, σ)` for σ > 0: exp(−(i − (ksize − 1)/2)²/2σ²), normalised.
    static func openCVGaussian(ksize: Int, sigma: Double) -> [Double] {
        let centre = Double(ksize - 1) / 2
        var w = (0 ..< ksize).map { i in exp(-(Double(i) - centre) * (Double(i) - centre) / (2 * sigma * sigma)) }
        let sum = w.reduce(0, +)
        for i in w.indices { w[i] /= sum }
        return w
    }

    /// OpenCV `filter2D` (a correlation, kernel anchored at its centre, border reflect-101) of
    /// every channel of `image`.
    func correlate(_ image: FloatImage) -> FloatImage {
        let h = image.height, w = image.width, c = image.channels
        var out = FloatImage(height: h, width: w, channels: c)
        for y in 0 ..< h {
            for x in 0 ..< w {
                for tap in taps {
                    let sy = Boundary.reflect101.index(y + tap.dy, h), sx = Boundary.reflect101.index(x + tap.dx, w)
                    for ch in 0 ..< c { out[y, x, ch] += tap.weight * image[sy, sx, ch] }
                }
            }
        }
        return out
    }
}
