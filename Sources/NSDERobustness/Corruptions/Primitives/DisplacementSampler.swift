/// scipy `map_coordinates(order=1, mode='reflect')` with one displacement field for all channels:
/// output(i, j, c) = bilinear sample of channel c at row i + dy[i, j], column j + dx[i, j]; each of
/// the 2x2 taps outside the image reads through half-sample symmetric reflection.
///
/// - Note: This is the half-sample symmetric extension of current SciPy. The SciPy of the release
///   (1.2) first folded an out-of-range coordinate back into the image and then mirrored the taps,
///   which differs slightly for samples that fall outside the image (the outermost pixel band,
///   where the displacement points outwards).
enum DisplacementSampler {
    static func sample(_ image: FloatImage, dx: [Double], dy: [Double]) -> FloatImage {
        let h = image.height, w = image.width, c = image.channels
        var out = FloatImage(height: h, width: w, channels: c)
        for i in 0 ..< h {
            for j in 0 ..< w {
                let row = Double(i) + dy[i * w + j], col = Double(j) + dx[i * w + j]
                let r0 = row.rounded(.down), c0 = col.rounded(.down)
                let ty = row - r0, tx = col - c0
                let ir = Int(r0), ic = Int(c0)
                let ra = Boundary.reflect.index(ir, h), rb = Boundary.reflect.index(ir + 1, h)
                let ca = Boundary.reflect.index(ic, w), cb = Boundary.reflect.index(ic + 1, w)
                for ch in 0 ..< c {
                    out[i, j, ch] = (1 - ty) * ((1 - tx) * image[ra, ca, ch] + tx * image[ra, cb, ch])
                        + ty * ((1 - tx) * image[rb, ca, ch] + tx * image[rb, cb, ch])
                }
            }
        }
        return out
    }
}
