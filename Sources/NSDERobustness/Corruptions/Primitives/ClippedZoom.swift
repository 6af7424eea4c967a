import Foundation

/// `clipped_zoom` of `make_cifar_c.py`: zoom into the centre of an image by a factor z ≥ 1 and
/// keep the original size.
///
/// Per axis of length n: take the centred crop of `ch = ceil(n / z)` samples starting at
/// `(n − ch) div 2`; resize it with scipy `zoom(order=1)` to `out = round-half-even(ch · z)`
/// samples, which is bilinear interpolation with corner-aligned sampling (output index i reads
/// input position i·(ch − 1)/(out − 1)); keep n samples starting at `(out − n) div 2`. The two
/// axes are handled independently (the reference assumes square images; for them this is
/// identical).
enum ClippedZoom {
    /// The crop length and start for an axis of length `n` and factor `zoom`.
    static func crop(_ n: Int, zoom: Double) -> (length: Int, start: Int) {
        let length = min(n, max(1, Int((Double(n) / zoom).rounded(.up))))
        return (length, (n - length) / 2)
    }

    /// The resized length of a crop of `length` samples (Python's `round`, half to even).
    static func resized(_ length: Int, zoom: Double) -> Int {
        max(1, Int((Double(length) * zoom).rounded(.toNearestOrEven)))
    }

    /// Sample positions (in the crop, plus its start) and weights for each kept output index.
    private static func axis(_ n: Int, zoom: Double) -> [(index: Int, next: Int, t: Double)] {
        let (length, start) = crop(n, zoom: zoom)
        let out = resized(length, zoom: zoom)
        let trim = max(0, (out - n) / 2)
        let ratio = out > 1 ? Double(length - 1) / Double(out - 1) : 0
        return (0 ..< n).map { i in
            let o = min(i + trim, out - 1)
            let position = Double(o) * ratio
            var i0 = Int(position.rounded(.down))
            i0 = min(max(i0, 0), length - 1)
            let t = min(max(position - Double(i0), 0), 1)
            return (start + i0, start + min(i0 + 1, length - 1), t)
        }
    }

    /// `image` zoomed by `zoom` (≥ 1) about its centre, same size; each channel alike.
    static func apply(_ image: FloatImage, zoom: Double) -> FloatImage {
        precondition(zoom >= 1, "ClippedZoom: zoom must be at least 1, got \(zoom)")
        let rows = axis(image.height, zoom: zoom), cols = axis(image.width, zoom: zoom)
        var out = FloatImage(height: image.height, width: image.width, channels: image.channels)
        let c = image.channels
        for y in 0 ..< image.height {
            let r = rows[y]
            for x in 0 ..< image.width {
                let k = cols[x]
                let w00 = (1 - r.t) * (1 - k.t), w01 = (1 - r.t) * k.t, w10 = r.t * (1 - k.t), w11 = r.t * k.t
                for ch in 0 ..< c {
                    out[y, x, ch] = w00 * image[r.index, k.index, ch] + w01 * image[r.index, k.next, ch]
                        + w10 * image[r.next, k.index, ch] + w11 * image[r.next, k.next, ch]
                }
            }
        }
        return out
    }
}
