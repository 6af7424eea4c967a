/// How data values map to positions along a plot axis.
public enum AxisScale: String, Sendable, CaseIterable {
    /// Position proportional to the value.
    case linear
    /// Position proportional to log₁₀ of the value. Non-positive values cannot be placed: points
    /// with them are skipped (the line breaks there) and they do not count towards the axis range.
    case log10
}
