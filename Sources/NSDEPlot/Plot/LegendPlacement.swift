/// Where a ``LinePlot`` draws its legend.
public enum LegendPlacement: String, Sendable, CaseIterable {
    /// Inside the plot area, in the corner (upper right, upper left, lower left, lower right, in
    /// that order of preference) whose box crosses the fewest line segments and markers; to the
    /// right of the plot area when the box would cover much of it.
    case best
    /// To the right of the plot area (narrows the plot area).
    case right
    /// No legend.
    case none
}
