/// Quantiles of Student's t distribution, for confidence intervals of a mean over a few runs.
public enum StudentT {
    /// t₀.₉₇₅ for 1…30 degrees of freedom (the two-sided 95 % quantile), to 7 decimals.
    static let quantiles975: [Double] = [
        12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041, 2.2621572, 2.2281389,
        2.2009852, 2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053, 2.1098156, 2.1009220, 2.0930241, 2.0859634,
        2.0796138, 2.0738731, 2.0686576, 2.0638986, 2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725,
    ]

    /// The 0.975 quantile of t with `degreesOfFreedom` ν ≥ 1: tabulated up to ν = 30, above that
    /// the Cornish–Fisher expansion in 1/ν around z = 1.959964 (error below 1e-5 for ν > 30).
    public static func quantile975(degreesOfFreedom nu: Int) -> Double {
        precondition(nu >= 1, "StudentT.quantile975: degrees of freedom must be >= 1, got \(nu)")
        if nu <= quantiles975.count { return quantiles975[nu - 1] }
        let z = ConfidenceInterval.z95, v = Double(nu)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
    }
}

extension SampleStatistics {
    /// The sample standard deviation s (0 for one draw, NaN for none).
    public var standardDeviation: Double { variance.squareRoot() }

    /// The two-sided 95 % t interval of the mean, x̄ ± t₀.₉₇₅(n − 1) · s / √n, or `nil` for fewer
    /// than two draws (no spread can be estimated).
    public var tInterval95: (lower: Double, upper: Double)? {
        guard count >= 2 else { return nil }
        let half = StudentT.quantile975(degreesOfFreedom: count - 1) * standardError
        return (mean - half, mean + half)
    }
}
