import Foundation
import NSDETensor

/// Procedural frost textures, standing in for the five frost photographs of the release.
///
/// The release overlays a random crop of one of five photographs of frost on glass
/// (`frost1.png` … `frost5.jpg`, resized by 0.2 to 180×120, 112×63, 112×63, 105×70 and 132×99).
/// This project does not ship those third-party files; instead texture k (0...4) is generated
/// once from a fixed seed, at the same size (times ceil(max(H, W)/32) for larger images, and
/// always larger than the image), and cached:
///
/// 1. haze: fractal value noise (4 octaves, cells 16, 8, 4, 2 px, amplitudes halving), and a
///    coarse coverage map (cells 24, 12 px), each normalised to [0, 1];
/// 2. ice crystals: dendrites grown from random seeds (one per 60 px², times a per-texture
///    density, kept with probability 0.3 + 0.7·coverage): a wandering main branch 6–20 px long
///    with side branches at ±60° (hexagonal ice) every 1–2 px, three levels deep, fading along
///    each branch; then blurred with σ = 0.45 px;
/// 3. v = clip(0.26 + 0.32·haze·(0.5 + 0.5·coverage) + 0.85·crystals, 0, 1), coloured pale blue:
///    RGB = 255·(0.06 + 0.86v, 0.09 + 0.88v, 0.13 + 0.87v).
///
/// Lengths are in pixels at 32-pixel images and scale with the texture. A texture's mean is about
/// 140 of 255 (the crystals white, the gaps a dark blue-grey).
///
/// The result has bright, fine, branching structure over a darker hazy background like the
/// photographs, but it is not the photographs: frost severities here are comparable, not equal,
/// to the release's.
enum FrostTexture {
    /// (width, height) of the release's textures after its 0.2 resize.
    static let baseSizes: [(width: Int, height: Int)] = [(180, 120), (112, 63), (112, 63), (105, 70), (132, 99)]
    /// Crystal density of each texture, relative.
    private static let densities: [Double] = [1.0, 0.75, 1.3, 0.9, 1.15]
    /// The fixed key of the texture generator ("FROSTTEX").
    static let seed: UInt64 = 0x4652_4F53_5454_4558

    /// The scale factor for an image of `height` x `width`.
    static func scale(height: Int, width: Int) -> Int {
        max(1, (max(height, width) + 31) / 32)
    }

    /// The texture's (height, width) for an image of `height` x `width`: the base size times the
    /// scale, and at least one more than the image in each direction.
    static func size(index: Int, height: Int, width: Int) -> (height: Int, width: Int) {
        let s = scale(height: height, width: width)
        let base = baseSizes[index]
        return (max(base.height * s, height + 1), max(base.width * s, width + 1))
    }

    /// Texture `index` (0...4) for images of `height` x `width`: RGB on the 0...255 scale.
    static func texture(index: Int, height: Int, width: Int) -> FloatImage {
        let key = Key(index: index, height: height, width: width)
        return cache.value(for: key) {
            let (th, tw) = size(index: index, height: height, width: width)
            return generate(index: index, height: th, width: tw, scale: Double(scale(height: height, width: width)))
        }
    }

    // MARK: - Generation

    static func generate(index: Int, height: Int, width: Int, scale s: Double) -> FloatImage {
        var rng = PhiloxGenerator(seed: seed, stream: UInt64(index))
        let haze = valueNoise(height: height, width: width, cells: [16 * s, 8 * s, 4 * s, 2 * s], rng: &rng)
        let coverage = valueNoise(height: height, width: width, cells: [24 * s, 12 * s], rng: &rng)

        var crystals = FloatImage(height: height, width: width, channels: 1)
        let seeds = Int(Double(height * width) / (60 * s * s) * densities[index])
        for _ in 0 ..< seeds {
            let y = rng.uniform(0, Double(height)), x = rng.uniform(0, Double(width))
            let keep = rng.uniformDouble() <= 0.3 + 0.7 * coverage[Int(y) * width + Int(x)]
            let angle = rng.uniform(0, 2 * Double.pi)
            let length = rng.uniform(6, 20) * s
            let brightness = rng.uniform(0.5, 1)
            if keep {
                grow(&crystals, y: y, x: x, angle: angle, length: length, brightness: brightness, depth: 0, scale: s, rng: &rng)
            }
        }
        crystals = GaussianFilter.apply(crystals, sigma: 0.45 * s, boundary: .wrap)

        var out = FloatImage(height: height, width: width, channels: 3)
        for p in 0 ..< height * width {
            let v = min(max(0.26 + 0.32 * haze[p] * (0.5 + 0.5 * coverage[p]) + 0.85 * crystals.values[p], 0), 1)
            out.values[3 * p] = min(255, 255 * (0.06 + 0.86 * v))
            out.values[3 * p + 1] = min(255, 255 * (0.09 + 0.88 * v))
            out.values[3 * p + 2] = min(255, 255 * (0.13 + 0.87 * v))
        }
        return out
    }

    /// A branch: a wandering line from (y, x), fading to half brightness, with side branches at
    /// ±60° every 1–2 px (up to three levels deep).
    private static func grow(_ canvas: inout FloatImage, y: Double, x: Double, angle: Double, length: Double,
                             brightness: Double, depth: Int, scale s: Double, rng: inout PhiloxGenerator) {
        var y = y, x = x, angle = angle
        let step = 0.5
        let steps = Int(length / step)
        var nextBranch = rng.uniform(1, 2) * s
        var travelled = 0.0
        for i in 0 ..< steps {
            splat(&canvas, y: y, x: x, value: brightness * (1 - 0.5 * Double(i) / Double(max(steps, 1))))
            angle += 0.12 * rng.normal()
            y += step * sin(angle)
            x += step * cos(angle)
            travelled += step
            if depth < 3 && travelled >= nextBranch {
                let side: Double = rng.uniformDouble() < 0.5 ? -1 : 1
                let branchLength = (length - travelled) * rng.uniform(0.3, 0.7)
                grow(&canvas, y: y, x: x, angle: angle + side * Double.pi / 3, length: branchLength,
                     brightness: brightness * 0.85, depth: depth + 1, scale: s, rng: &rng)
                nextBranch = travelled + rng.uniform(1, 2) * s
            }
        }
    }

    /// Deposits `value` at (y, x) over the 2x2 neighbouring pixels (weight min(1, 2.5·bilinear)),
    /// keeping the maximum, wrapping around.
    private static func splat(_ canvas: inout FloatImage, y: Double, x: Double, value: Double) {
        let y0 = y.rounded(.down), x0 = x.rounded(.down)
        let ty = y - y0, tx = x - x0
        for (dy, wy) in [(0, 1 - ty), (1, ty)] {
            for (dx, wx) in [(0, 1 - tx), (1, tx)] {
                let yy = Boundary.wrap.index(Int(y0) + dy, canvas.height), xx = Boundary.wrap.index(Int(x0) + dx, canvas.width)
                canvas[yy, xx, 0] = max(canvas[yy, xx, 0], value * min(1, 2.5 * wy * wx))
            }
        }
    }

    /// Fractal value noise: per octave, random values on a lattice of the given cell size
    /// interpolated with smoothstep weights; amplitudes 1, 1/2, 1/4, …; normalised to [0, 1].
    private static func valueNoise(height: Int, width: Int, cells: [Double], rng: inout PhiloxGenerator) -> [Double] {
        var out = [Double](repeating: 0, count: height * width)
        var amplitude = 1.0
        for cell in cells {
            let gh = Int(Double(height) / cell) + 2, gw = Int(Double(width) / cell) + 2
            let lattice = (0 ..< gh * gw).map { _ in rng.uniformDouble() }
            for y in 0 ..< height {
                let fy = Double(y) / cell
                let iy = Int(fy), ty = fy - Double(iy)
                let sy = ty * ty * (3 - 2 * ty)
                for x in 0 ..< width {
                    let fx = Double(x) / cell
                    let ix = Int(fx), tx = fx - Double(ix)
                    let sx = tx * tx * (3 - 2 * tx)
                    let a = lattice[iy * gw + ix], b = lattice[iy * gw + ix + 1]
                    let c = lattice[(iy + 1) * gw + ix], d = lattice[(iy + 1) * gw + ix + 1]
                    out[y * width + x] += amplitude * ((1 - sy) * ((1 - sx) * a + sx * b) + sy * ((1 - sx) * c + sx * d))
                }
            }
            amplitude /= 2
        }
        let low = out.min() ?? 0, high = out.max() ?? 1
        let range = high > low ? high - low : 1
        return out.map { ($0 - low) / range }
    }

    // MARK: - Cache

    private struct Key: Hashable { let index: Int, height: Int, width: Int }

    private final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var store: [Key: FloatImage] = [:]

        func value(for key: Key, make: () -> FloatImage) -> FloatImage {
            lock.lock()
            if let hit = store[key] { lock.unlock(); return hit }
            lock.unlock()
            let made = make()
            lock.lock()
            defer { lock.unlock() }
            if let hit = store[key] { return hit }
            store[key] = made
            return made
        }
    }

    private static let cache = Cache()
}
