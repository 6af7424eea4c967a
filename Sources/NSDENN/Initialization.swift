import NSDETensor

/// Parameter initialisation, seeded and reproducible.
///
/// Layers draw their initial weights from ``generator``, like PyTorch's global generator: call
/// ``manualSeed(_:)`` before building a model to make its initialisation reproducible.
public enum Initializer {
    /// The generator layers draw their initial values from.
    nonisolated(unsafe) public static var generator = PhiloxGenerator(seed: 0, stream: 0x1A17)

    /// Resets ``generator`` to a fixed seed.
    public static func manualSeed(_ seed: UInt64) { generator = PhiloxGenerator(seed: seed, stream: 0x1A17) }

    /// PyTorch's default for `Linear` and `Conv2d` weights (Kaiming-uniform with a = √5):
    /// U(−1/√fanIn, 1/√fanIn).
    public static func kaimingUniform(_ shape: [Int], fanIn: Int) -> Tensor {
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return generator.uniform(shape, low: -bound, high: bound)
    }

    /// PyTorch's default bias initialisation: U(−1/√fanIn, 1/√fanIn).
    public static func biasUniform(_ count: Int, fanIn: Int) -> Tensor {
        kaimingUniform([count], fanIn: fanIn)
    }
}
