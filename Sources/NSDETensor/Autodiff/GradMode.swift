/// Whether operations are currently recorded for reverse-mode differentiation.
///
/// Recording is on by default. Inside ``noGrad(_:)`` no op is recorded, so no graph or saved
/// tensor is kept: use it for evaluation and for parameter updates.
public enum GradMode {
    @TaskLocal static var disabledDepth = 0

    /// `true` when ops are recorded on the graph.
    public static var isEnabled: Bool { disabledDepth == 0 }
}

/// Runs `body` without recording any op for reverse-mode differentiation.
///
/// Results computed inside do not require gradients, and nothing they used is kept alive for a
/// backward pass.
@discardableResult
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$disabledDepth.withValue(GradMode.disabledDepth + 1) { try body() }
}

/// Runs `body` with recording enabled, even inside an enclosing ``noGrad(_:)``.
@discardableResult
public func enableGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$disabledDepth.withValue(0) { try body() }
}
