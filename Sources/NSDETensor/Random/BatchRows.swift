/// Which rows (samples, along axis 0) of a batch a tensor holds: the rows `range` of a batch of
/// `batch` samples. Random draws keyed per element (``Tensor/randomNormal(_:mean:std:seed:stream:offset:rows:)``)
/// use it so that a shard of a batch gets exactly the values its samples get in the whole batch.
public struct BatchRows: Hashable, Sendable, CustomStringConvertible {
    /// The rows held, within `0..<batch`.
    public let range: Range<Int>
    /// The size of the whole batch.
    public let batch: Int

    /// Rows `range` of a batch of `batch` samples (precondition: `range` lies in `0..<batch`).
    public init(_ range: Range<Int>, of batch: Int) {
        precondition(range.lowerBound >= 0 && range.upperBound <= batch,
                     "BatchRows: rows \(range) do not lie in a batch of \(batch)")
        self.range = range
        self.batch = batch
    }

    public var description: String { "rows \(range.lowerBound)..<\(range.upperBound) of \(batch)" }
}
