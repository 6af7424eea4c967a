import NSDETraining

/// A ``StochasticClassifier``'s mode, test σ, noise seed and noise counter, saved so that an
/// analysis can change them and put them back.
struct ModelNoiseState {
    let wasTraining: Bool
    let testSigma: Float
    let noiseSeed: UInt64
    let noiseCounter: UInt64

    /// Saves `model`'s state.
    init<Model: StochasticClassifier>(_ model: Model) {
        wasTraining = model.isTraining
        testSigma = model.testSigma
        noiseSeed = model.noiseSeed
        noiseCounter = model.noiseCounter
    }

    /// Puts the saved state back into `model`.
    func restore<Model: StochasticClassifier>(_ model: Model) {
        model.testSigma = testSigma
        model.noiseSeed = noiseSeed
        model.noiseCounter = noiseCounter
        if wasTraining { model.train() } else { model.eval() }
    }
}
