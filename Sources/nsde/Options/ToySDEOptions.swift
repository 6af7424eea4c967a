import ArgumentParser

/// The toy SDE dx = x dt + σx dB that `nsde toy` simulates and `nsde stability toy` analyses: σ,
/// the number of sample paths and the seed of their Brownian increments (the same paths in both
/// commands for the same seed, horizon and steps).
struct ToySDEOptions: ParsableArguments {
    @Option(help: "Diffusion scale σ (dimensionless, per √time).")
    var sigma: Float = 2.8
    @Option(help: "Number of independent sample paths.")
    var paths: Int = 1000
    @Option(help: "Seed of the Brownian paths (Philox key).")
    var seed: UInt64 = 0

    func validate() throws {
        guard sigma >= 0, sigma.isFinite else { throw ValidationError("--sigma must be non-negative, got \(sigma)") }
    }
}
