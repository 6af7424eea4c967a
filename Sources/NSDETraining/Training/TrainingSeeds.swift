import Foundation

/// The independent keys a run derives from its one seed (SplitMix64 of the seed and a
/// per-purpose constant), so that, say, the noise never correlates with the shuffle.
public struct TrainingSeeds: Codable, Equatable, Sendable {
    /// `Initializer.manualSeed` before building the model.
    public let initialization: UInt64
    /// The random training subset.
    public let trainSubset: UInt64
    /// The `DataLoader`'s seed (shuffle: streams 2e; augmentation: 2e + 1).
    public let dataLoader: UInt64
    /// ``PaperClassifier/noiseSeed``, the key of the SDE block's Brownian paths.
    public let noise: UInt64

    /// Derives the keys from `seed`. The weights use `seed` itself, so
    /// `Initializer.manualSeed(seed)` builds the same model as a run with that seed.
    public init(seed: UInt64) {
        initialization = seed
        trainSubset = Self.mix(seed, 1)
        dataLoader = Self.mix(seed, 2)
        noise = Self.mix(seed, 3)
    }

    /// SplitMix64 of `seed + purpose · golden ratio`.
    static func mix(_ seed: UInt64, _ purpose: UInt64) -> UInt64 {
        var z = seed &+ purpose &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    enum CodingKeys: String, CodingKey {
        case initialization, trainSubset = "train_subset", dataLoader = "data_loader", noise
    }
}
