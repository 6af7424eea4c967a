import NSDETensor

/// Global average pooling followed by flattening: `[N, C, H, W]` → `[N, C]`.
public final class GlobalAvgPool: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.globalAvgPool() }
}

/// Average pooling with a square window: `[N, C, H, W]` → `[N, C, H', W']`.
public final class AvgPool2d: Module, Layer {
    /// Window size in pixels.
    public let kernelSize: Int
    /// Step between windows in pixels.
    public let stride: Int
    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        super.init()
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.avgPool2d(kernel: kernelSize, stride: stride) }
}

/// Flattens all dimensions after the first: `[N, ...]` → `[N, product]`.
public final class Flatten: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flattened() }
}
