/// The registry of the 15 CIFAR-10-C benchmark corruptions (the paper's Table 2).
///
/// ```swift
/// let fog = try Corruptions.named("fog")
/// let out = fog.apply(image, severity: 3, seed: 0)
/// ```
public enum Corruptions {
    /// The valid severities, 1 (mildest) ... 5.
    public static let severities = 1...5

    /// The 15 benchmark corruptions in the release's order: noise (gaussian, shot, impulse), blur
    /// (defocus, glass, motion, zoom), weather (snow, frost, fog), digital (brightness, contrast,
    /// elastic, pixelate, JPEG).
    public static let benchmark: [any Corruption] = [
        GaussianNoise(), ShotNoise(), ImpulseNoise(),
        DefocusBlur(), GlassBlur(), MotionBlur(), ZoomBlur(),
        Snow(), Frost(), Fog(),
        Brightness(), Contrast(), ElasticTransform(), Pixelate(), JPEGCompression(),
    ]

    /// The names of ``benchmark``, in order.
    public static var names: [String] { benchmark.map(\.name) }

    /// The corruption called `name` (e.g. `"gaussian_noise"`).
    ///
    /// - Throws: ``RobustnessError/unknownCorruption(name:known:)`` listing the valid names.
    public static func named(_ name: String) throws(RobustnessError) -> any Corruption {
        guard let c = benchmark.first(where: { $0.name == name }) else {
            throw .unknownCorruption(name: name, known: names)
        }
        return c
    }

    /// `severity` if it is in 1...5.
    ///
    /// - Throws: ``RobustnessError/severityOutOfRange(severity:valid:)``.
    @discardableResult
    public static func validate(severity: Int) throws(RobustnessError) -> Int {
        guard severities.contains(severity) else { throw .severityOutOfRange(severity: severity, valid: severities) }
        return severity
    }
}
