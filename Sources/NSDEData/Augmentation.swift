import NSDETensor

/// Random image augmentation for training batches: random crop with zero padding and random
/// horizontal flip (the standard CIFAR/MNIST-style augmentation).
///
/// For each image, independently:
/// 1. crop (if `cropPadding = p > 0`): the image is padded with `p` zero pixels on every side,
///    then an `H x W` window is cut at a random offset `(dy, dx)`, each uniform in `0...2p`; the
///    result is the image shifted by `(p - dy, p - dx)` pixels with zeros filling the gap;
/// 2. flip (if `horizontalFlip`): with probability 1/2 the columns are mirrored.
///
/// Random draws per image, in this order: `dy`, `dx` (each `nextInt(below: 2p + 1)`, only when
/// `p > 0`), then one `next()` whose lowest bit decides the flip (only when `horizontalFlip`).
/// The same generator state therefore always gives the same augmented batch.
public struct Augmentation: Sendable, Equatable {
    /// Zero padding `p` in pixels on each side for the random crop; 0 disables cropping.
    public var cropPadding: Int
    /// Whether to mirror each image left-right with probability 1/2.
    public var horizontalFlip: Bool

    /// - Parameters:
    ///   - cropPadding: zero padding in pixels for the random crop (0 = no crop).
    ///   - horizontalFlip: random left-right flip with probability 1/2.
    public init(cropPadding: Int = 0, horizontalFlip: Bool = false) {
        precondition(cropPadding >= 0, "Augmentation: negative crop padding \(cropPadding)")
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    /// Whether this augmentation changes anything.
    public var isIdentity: Bool { cropPadding == 0 && !horizontalFlip }

    /// Augments each image of a `[B, C, H, W]` batch, drawing from `generator` as described in the
    /// type's documentation. Returns a new tensor of the same shape; `batch` is not modified.
    public func apply(to batch: Tensor, generator: inout PhiloxGenerator) -> Tensor {
        precondition(batch.rank == 4, "Augmentation.apply: expected a [B, C, H, W] batch, got shape \(batch.shape)")
        let (n, c, h, w) = (batch.shape[0], batch.shape[1], batch.shape[2], batch.shape[3])
        let per = c * h * w
        let out = Tensor(uninitializedShape: batch.shape)
        let p = cropPadding
        for b in 0..<n {
            var dy = p, dx = p
            if p > 0 {
                dy = generator.nextInt(below: 2 * p + 1)
                dx = generator.nextInt(below: 2 * p + 1)
            }
            let flip = horizontalFlip && (generator.next() & 1) == 1
            Self.transform(batch.storage.pointer + b * per, into: out.storage.pointer + b * per,
                           channels: c, height: h, width: w, padding: p, offsetY: dy, offsetX: dx, flip: flip)
        }
        return out
    }

    /// Crops one `[C, H, W]` row-major image: pads with `padding` zeros on each side and cuts the
    /// `H x W` window whose top-left corner is at `(offsetY, offsetX)` in the padded image
    /// (each in `0...2 * padding`). `offsetY = offsetX = padding` returns the image unchanged.
    public static func crop(_ image: [Float], channels: Int, height: Int, width: Int,
                            padding: Int, offsetY: Int, offsetX: Int) -> [Float] {
        run(image, channels: channels, height: height, width: width,
            padding: padding, offsetY: offsetY, offsetX: offsetX, flip: false)
    }

    /// Mirrors one `[C, H, W]` row-major image left-right.
    public static func flipHorizontally(_ image: [Float], channels: Int, height: Int, width: Int) -> [Float] {
        run(image, channels: channels, height: height, width: width, padding: 0, offsetY: 0, offsetX: 0, flip: true)
    }

    private static func run(_ image: [Float], channels: Int, height: Int, width: Int,
                            padding: Int, offsetY: Int, offsetX: Int, flip: Bool) -> [Float] {
        precondition(image.count == channels * height * width,
                     "Augmentation: image has \(image.count) values, expected \(channels)x\(height)x\(width)")
        return [Float](unsafeUninitializedCapacity: image.count) { dst, initialized in
            image.withUnsafeBufferPointer { src in
                transform(src.baseAddress!, into: dst.baseAddress!, channels: channels, height: height,
                          width: width, padding: padding, offsetY: offsetY, offsetX: offsetX, flip: flip)
            }
            initialized = image.count
        }
    }

    /// The kernel: `dst[c, y, x] = src[c, y + offsetY - padding, x' + offsetX - padding]` (zero
    /// outside the image) where `x' = flip ? width - 1 - x : x`; i.e. crop, then flip.
    static func transform(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>,
                          channels: Int, height: Int, width: Int,
                          padding: Int, offsetY: Int, offsetX: Int, flip: Bool) {
        precondition(offsetY >= 0 && offsetY <= 2 * padding && offsetX >= 0 && offsetX <= 2 * padding,
                     "Augmentation: crop offset (\(offsetY), \(offsetX)) outside 0...\(2 * padding)")
        let sy = offsetY - padding, sx = offsetX - padding  // source = destination + shift
        // Columns x with a valid source column x + sx.
        let x0 = max(0, -sx), x1 = min(width, width - sx)
        for c in 0..<channels {
            let plane = c * height * width
            for y in 0..<height {
                let row = dst + plane + y * width
                let yy = y + sy
                if yy < 0 || yy >= height || x0 >= x1 {
                    row.update(repeating: 0, count: width)
                    continue
                }
                let srow = src + plane + yy * width
                if !flip {
                    if x0 > 0 { row.update(repeating: 0, count: x0) }
                    (row + x0).update(from: srow + x0 + sx, count: x1 - x0)
                    if x1 < width { (row + x1).update(repeating: 0, count: width - x1) }
                } else {
                    // dst[x] = cropped[width - 1 - x]
                    for x in 0..<width {
                        let xc = width - 1 - x
                        row[x] = (xc >= x0 && xc < x1) ? srow[xc + sx] : 0
                    }
                }
            }
        }
    }
}
