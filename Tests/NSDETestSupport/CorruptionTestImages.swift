import NSDERobustness

/// Small "natural-ish" test images for the corruption tests, from integer formulas (so the
/// reference script that produced the fixtures in `CorruptionReferenceTests` builds the same
/// bytes): a smooth colour gradient, flat regions with sharp edges, a fine texture, and a mix.
public enum CorruptionTestImages {
    /// Smooth gradient: (255x/(w−1), 255y/(h−1), 255 − 255(x+y)/(h+w−2)), integer division.
    public static func gradient(height: Int = 32, width: Int = 32) -> CorruptionImage {
        make(height, width) { y, x, c in
            switch c {
            case 0: return x * 255 / max(width - 1, 1)
            case 1: return y * 255 / max(height - 1, 1)
            default: return 255 - (x + y) * 255 / max(height + width - 2, 1)
            }
        }
    }

    /// Flat background (40, 60, 90), a red square over the middle half and a cyan disc.
    public static func edges(height: Int = 32, width: Int = 32) -> CorruptionImage {
        make(height, width) { y, x, c in
            let dy = y - height / 3, dx = x - width / 2, r = min(height, width) / 5
            if dy * dy + dx * dx <= r * r { return [20, 200, 220][c] }
            if y >= height / 4 && y < 3 * height / 4 && x >= width / 4 && x < 3 * width / 4 { return [230, 50, 70][c] }
            return [40, 60, 90][c]
        }
    }

    /// A natural-ish random texture: integer value noise, bilinear between hashed lattice values
    /// on 8-px and 4-px cells (amplitudes 2:1), around mid-grey.
    public static func texture(height: Int = 32, width: Int = 32) -> CorruptionImage {
        make(height, width) { y, x, c in
            (2 * lattice(y, x, c, cell: 8, salt: 1) + lattice(y, x, c, cell: 4, salt: 2)) / 3
        }
    }

    /// Bilinear interpolation (integer arithmetic) of hashed values 20...235 on a lattice.
    private static func lattice(_ y: Int, _ x: Int, _ c: Int, cell: Int, salt: Int) -> Int {
        func value(_ i: Int, _ j: Int) -> Int { 20 + (i * 7919 + j * 104_729 + c * 1_299_709 + salt * 15_485_863 + i * j * 31) % 216 }
        let i = y / cell, j = x / cell, ty = y % cell, tx = x % cell
        let a = value(i, j), b = value(i, j + 1), d = value(i + 1, j), e = value(i + 1, j + 1)
        return ((cell - ty) * ((cell - tx) * a + tx * b) + ty * ((cell - tx) * d + tx * e)) / (cell * cell)
    }

    /// (2·gradient + texture) / 3: smooth shading with detail.
    public static func mixed(height: Int = 32, width: Int = 32) -> CorruptionImage {
        let g = gradient(height: height, width: width), t = texture(height: height, width: width)
        return CorruptionImage(height: height, width: width, channels: 3,
                               pixels: zip(g.pixels, t.pixels).map { UInt8((2 * Int($0) + Int($1)) / 3) })
    }

    /// The four RGB images.
    public static func all(height: Int = 32, width: Int = 32) -> [CorruptionImage] {
        [gradient(height: height, width: width), edges(height: height, width: width),
         texture(height: height, width: width), mixed(height: height, width: width)]
    }

    /// `image`'s first channel as a greyscale image.
    public static func grey(_ image: CorruptionImage) -> CorruptionImage {
        CorruptionImage(height: image.height, width: image.width, channels: 1,
                        pixels: stride(from: 0, to: image.pixels.count, by: image.channels).map { image.pixels[$0] })
    }

    /// A greyscale image replicated to three channels.
    public static func rgb(_ grey: CorruptionImage) -> CorruptionImage {
        CorruptionImage(height: grey.height, width: grey.width, channels: 3, pixels: grey.pixels.flatMap { [$0, $0, $0] })
    }

    /// A constant image.
    public static func constant(_ value: UInt8, height: Int = 32, width: Int = 32, channels: Int = 3) -> CorruptionImage {
        CorruptionImage(height: height, width: width, channels: channels,
                        pixels: [UInt8](repeating: value, count: height * width * channels))
    }

    private static func make(_ height: Int, _ width: Int, _ f: (Int, Int, Int) -> Int) -> CorruptionImage {
        var pixels = [UInt8]()
        pixels.reserveCapacity(height * width * 3)
        for y in 0 ..< height { for x in 0 ..< width { for c in 0 ..< 3 { pixels.append(UInt8(min(max(f(y, x, c), 0), 255))) } } }
        return CorruptionImage(height: height, width: width, channels: 3, pixels: pixels)
    }
}
