import NSDETensor

/// W ≡ 0: the Brownian input given to solvers when the SDE has no noise (``SDE/hasNoise`` is
/// `false`), so no random numbers are drawn for an ODE written as an SDE. One zero tensor is shared.
struct ZeroBrownianMotion: BrownianMotion {
    let shape: [Int]
    let providesLevyArea: Bool
    private let zero: Tensor

    init(shape: [Int], levyArea: Bool) {
        self.shape = shape
        self.providesLevyArea = levyArea
        self.zero = Tensor(repeating: 0, shape: shape)
    }

    func canQuery(at t: Double) -> Bool { true }

    func increment(from s: Double, to t: Double) -> BrownianIncrement {
        BrownianIncrement(w: zero, h: providesLevyArea ? zero : nil)
    }
}
