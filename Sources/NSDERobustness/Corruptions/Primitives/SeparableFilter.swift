/// One-dimensional correlations along the rows or columns of every channel of a ``FloatImage``.
///
/// `out[i] = Σ_k weights[k] · in[boundary(i + k − origin)]`, k = 0 ..< weights.count, with
/// `origin = weights.count / 2` (a centred kernel of odd length).
enum SeparableFilter {
    /// Filters along axis 0 (down each column: the vertical direction).
    static func alongHeight(_ image: FloatImage, weights: [Double], boundary: Boundary) -> FloatImage {
        let h = image.height, w = image.width, c = image.channels
        let origin = weights.count / 2
        var out = FloatImage(height: h, width: w, channels: c)
        let stride = w * c
        image.values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                for y in 0 ..< h {
                    let rowOut = y * stride
                    for k in weights.indices {
                        let wk = weights[k]
                        let rowIn = boundary.index(y + k - origin, h) * stride
                        for j in 0 ..< stride { dst[rowOut + j] += wk * src[rowIn + j] }
                    }
                }
            }
        }
        return out
    }

    /// Filters along axis 1 (along each row: the horizontal direction).
    static func alongWidth(_ image: FloatImage, weights: [Double], boundary: Boundary) -> FloatImage {
        let h = image.height, w = image.width, c = image.channels
        let origin = weights.count / 2
        var out = FloatImage(height: h, width: w, channels: c)
        let taps = (0 ..< w).map { x in weights.indices.map { k in boundary.index(x + k - origin, w) } }
        image.values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                for y in 0 ..< h {
                    let row = y * w * c
                    for x in 0 ..< w {
                        let t = taps[x]
                        for ch in 0 ..< c {
                            var s = 0.0
                            for k in weights.indices { s += weights[k] * src[row + t[k] * c + ch] }
                            dst[row + x * c + ch] = s
                        }
                    }
                }
            }
        }
        return out
    }
}
