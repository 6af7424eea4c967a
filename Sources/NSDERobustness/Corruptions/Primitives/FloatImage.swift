/// The working form of an image inside the corruptions: `values: [height, width, channels]` (HWC)
/// in `Double`, usually on the 0...1 scale (x/255), as NumPy's float64 arrays in the reference.
struct FloatImage {
    let height: Int
    let width: Int
    let channels: Int
    var values: [Double]

    init(height: Int, width: Int, channels: Int, values: [Double]) {
        precondition(values.count == height * width * channels, "FloatImage: size mismatch")
        self.height = height
        self.width = width
        self.channels = channels
        self.values = values
    }

    init(height: Int, width: Int, channels: Int, repeating value: Double = 0) {
        self.init(height: height, width: width, channels: channels,
                  values: [Double](repeating: value, count: height * width * channels))
    }

    /// The pixels on the 0...255 scale.
    init(_ image: CorruptionImage) {
        self.init(height: image.height, width: image.width, channels: image.channels,
                  values: image.pixels.map { Double($0) })
    }

    /// The pixels divided by 255 in `Double`, as NumPy's `x / 255.` (so that
    /// `floor((x / 255) * 255) == x` for every 8-bit x).
    static func unit(_ image: CorruptionImage) -> FloatImage {
        FloatImage(height: image.height, width: image.width, channels: image.channels,
                   values: image.pixels.map { Double($0) / 255 })
    }

    @inline(__always) subscript(y: Int, x: Int, c: Int) -> Double {
        get { values[(y * width + x) * channels + c] }
        set { values[(y * width + x) * channels + c] = newValue }
    }

    /// One channel as a single-channel image.
    func channel(_ c: Int) -> FloatImage {
        if channels == 1 { return self }
        var out = FloatImage(height: height, width: width, channels: 1)
        for p in 0 ..< height * width { out.values[p] = values[p * channels + c] }
        return out
    }

    /// The release's final step: clip to [0, 1], multiply by 255, truncate to 8 bits.
    func quantizedFromUnit() -> CorruptionImage {
        CorruptionImage(height: height, width: width, channels: channels,
                        pixels: values.map { Self.truncate(min(max($0, 0), 1) * 255) })
    }

    /// Clip to [0, 255] and truncate (values already on the 0...255 scale).
    func quantized255() -> CorruptionImage {
        CorruptionImage(height: height, width: width, channels: channels,
                        pixels: values.map { Self.truncate($0) })
    }

    /// NumPy's `astype(np.uint8)` for values in [0, 255]: truncation toward zero, clamped.
    @inline(__always) static func truncate(_ v: Double) -> UInt8 {
        guard v.isFinite else { return v > 0 ? 255 : 0 }
        if v <= 0 { return 0 }
        if v >= 255 { return 255 }
        return UInt8(v)
    }

    /// Round to nearest (half away from zero) and clamp to 0...255.
    @inline(__always) static func round8(_ v: Double) -> UInt8 {
        guard v.isFinite else { return v > 0 ? 255 : 0 }
        return UInt8(min(max(v.rounded(.toNearestOrAwayFromZero), 0), 255))
    }
}
