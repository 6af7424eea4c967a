import Foundation

/// r(t) = ‖E h_t(x_adv) − E h_t(x)‖ / ‖E h_t(x)‖ on the analysis grid, from
/// ``HiddenStatePerturbation/measure(_:clean:adversarial:)``.
///
/// JSON keys: `t`, `relative_distance`, `relative_distance_std`, `images`, `draws`, `test_sigma`,
/// `seed`.
public struct HiddenStatePerturbationResult: Codable, Equatable, Sendable {
    /// The grid tⱼ, in model time units (51 values 0, 0.02, …, 1 by default).
    public let times: [Double]
    /// r(tⱼ) averaged over the images (dimensionless).
    public let meanRelativeDistance: [Double]
    /// The sample standard deviation of r(tⱼ) over the images (0 for one image).
    public let stdRelativeDistance: [Double]
    /// Images measured.
    public let images: Int
    /// Noise draws M used per image (1 for a noise-free block).
    public let draws: Int
    /// σ of the solves (the model's test σ).
    public let testSigma: Float
    /// Key of the Brownian paths.
    public let seed: UInt64

    /// Creates a result.
    public init(times: [Double], meanRelativeDistance: [Double], stdRelativeDistance: [Double], images: Int, draws: Int,
                testSigma: Float, seed: UInt64) {
        self.times = times
        self.meanRelativeDistance = meanRelativeDistance
        self.stdRelativeDistance = stdRelativeDistance
        self.images = images
        self.draws = draws
        self.testSigma = testSigma
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case times = "t", meanRelativeDistance = "relative_distance", stdRelativeDistance = "relative_distance_std"
        case images, draws, testSigma = "test_sigma", seed
    }
}
