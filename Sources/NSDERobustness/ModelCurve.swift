/// One model's line in a robustness figure: its legend name and its measured result.
public struct ModelCurve<Result: Sendable>: Sendable {
    /// Legend name, e.g. the checkpoint's directory name and noise type.
    public var name: String
    /// The measurements.
    public var result: Result

    /// Creates a curve.
    public init(name: String, result: Result) {
        self.name = name
        self.result = result
    }
}
