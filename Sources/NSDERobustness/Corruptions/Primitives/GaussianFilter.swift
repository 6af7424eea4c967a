import Foundation

/// The Gaussian filter of scipy's `gaussian_filter` (as called by scikit-image `gaussian`):
/// separable weights ∝ exp(−k²/2σ²), k = −r...r, r = int(truncate·σ + 0.5), normalised to sum 1;
/// axis 0 then axis 1, each channel separately (never across channels). σ ≤ 1e-15 is the identity.
enum GaussianFilter {
    /// The normalised 1-D weights for `sigma` (length 2r + 1).
    static func weights(sigma: Double, truncate: Double) -> [Double] {
        let radius = Int(truncate * sigma + 0.5)
        var w = (-radius ... radius).map { k in exp(-0.5 / (sigma * sigma) * Double(k * k)) }
        let sum = w.reduce(0, +)
        for i in w.indices { w[i] /= sum }
        return w
    }

    /// `image` filtered with σ = `sigma` pixels on both spatial axes.
    static func apply(_ image: FloatImage, sigma: Double, truncate: Double = 4, boundary: Boundary = .nearest) -> FloatImage {
        guard sigma > 1e-15 else { return image }
        let w = weights(sigma: sigma, truncate: truncate)
        if w.count == 1 { return image }
        return SeparableFilter.alongWidth(SeparableFilter.alongHeight(image, weights: w, boundary: boundary),
                                          weights: w, boundary: boundary)
    }
}
