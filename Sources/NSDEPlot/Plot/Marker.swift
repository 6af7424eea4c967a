/// A symbol drawn at every data point of a ``Series`` (in the series' colour and opacity).
public enum Marker: String, Sendable, CaseIterable {
    /// A filled circle.
    case circle
    /// A filled axis-aligned square.
    case square
    /// A filled upward triangle.
    case triangle
    /// A filled square turned 45°.
    case diamond
    /// An × drawn with strokes.
    case cross
}
