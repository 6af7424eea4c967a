import NSDETensor

/// A common image corruption of CIFAR-10-C (Hendrycks & Dietterich 2019) at severities 1...5.
///
/// A conformer maps one clean 8-bit image to its corrupted 8-bit version, drawing any randomness
/// from the generator it is given, so the result is a pure function of (image, severity, generator
/// state). ``CorruptionBatch`` gives each image its own generator
/// (``CorruptionStreams/generator(seed:corruption:severity:index:)``), so a corrupted set does not
/// depend on how it is split into batches or on the thread count.
///
/// Conformers follow the CIFAR-10-C release (Hendrycks & Dietterich 2019, `make_cifar_c.py`): the
/// CIFAR-10 (32-pixel) parameter tables, computing on x/255 and casting
/// to 8 bits by truncation (floor) as the release does. They compute in `Double` (the release's
/// float64) except where the release's float32 arithmetic decides truncations visibly (zoom blur,
/// the defocus kernel), which is reproduced; the six deterministic corruptions match Pillow,
/// OpenCV, SciPy and scikit-image byte for byte on the test images. Images of any size and of 1
/// (greyscale) or 3 (RGB) channels are accepted; each conformer's documentation says how it
/// treats greyscale and sizes other than 32.
///
/// - Note: Severity is a programmer-checked precondition here (`1...5`); entry points taking user
///   input (``Corruptions/named(_:)``, ``CorruptionBatch``, `nsde corrupt`) validate it and throw.
public protocol Corruption: Sendable {
    /// The CIFAR-10-C name, which is also the file name without `.npy`, e.g. `"gaussian_noise"`.
    var name: String { get }
    /// Whether ``apply(_:severity:rng:)`` draws random numbers (false: the generator is unused and
    /// the result depends only on the image and the severity).
    var isRandom: Bool { get }
    /// The corrupted image: same height, width and channels as `image`.
    ///
    /// - Parameters:
    ///   - image: the clean image (8-bit, `[height, width, channels]`, channels 1 or 3).
    ///   - severity: 1 (mildest) ... 5.
    ///   - rng: the image's random stream; advanced by the draws made.
    func apply(_ image: CorruptionImage, severity: Int, rng: inout PhiloxGenerator) -> CorruptionImage
}

extension Corruption {
    /// The corrupted image with the generator of image `index` of a set corrupted with `seed`
    /// (``CorruptionStreams/generator(seed:corruption:severity:index:)``).
    public func apply(_ image: CorruptionImage, severity: Int, seed: UInt64, index: Int = 0) -> CorruptionImage {
        var rng = CorruptionStreams.generator(seed: seed, corruption: name, severity: severity, index: index)
        return apply(image, severity: severity, rng: &rng)
    }

    /// Traps unless `severity` is in 1...5 (a programmer error: user input is validated earlier).
    @inline(__always)
    func checkSeverity(_ severity: Int) {
        precondition(Corruptions.severities.contains(severity),
                     "\(name): severity must be in 1...5, got \(severity)")
    }
}

/// How the random stream of one corrupted image is chosen.
///
/// Image `index` of a set corrupted by `name` at `severity` with `seed` uses
/// `PhiloxGenerator(seed: seed ^ FNV-1a-64(name), stream: severity << 48 | index)`: the key mixes
/// the corruption's name into the seed (different corruptions draw independent numbers), and the
/// stream separates severities and images (independent draws per severity, as in the release,
/// and per image, so the result does not depend on batch composition or thread count). Indices up
/// to 2⁴⁸ − 1 are distinct.
public enum CorruptionStreams {
    /// The number of distinct image streams per corruption and severity, 2⁴⁸: image indices are
    /// `0 ..< indexLimit`.
    public static let indexLimit = 1 << 48

    /// The generator of image `index` (0-based, in the whole set).
    public static func generator(seed: UInt64, corruption name: String, severity: Int, index: Int) -> PhiloxGenerator {
        precondition(index >= 0 && index < 1 << 48, "CorruptionStreams: image index \(index) outside 0..<2^48")
        return PhiloxGenerator(seed: seed ^ fnv1a64(name),
                               stream: UInt64(truncatingIfNeeded: severity) << 48 | UInt64(index))
    }

    /// The 64-bit FNV-1a hash of the UTF-8 bytes of `text`.
    public static func fnv1a64(_ text: String) -> UInt64 {
        fnv1a64(bytes: text.utf8)
    }

    /// The 64-bit FNV-1a hash of `bytes`.
    public static func fnv1a64<Bytes: Sequence>(bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
