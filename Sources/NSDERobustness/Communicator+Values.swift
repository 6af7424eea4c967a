import NSDENN

extension Communicator {
    /// Every process's `values` (any count), in rank order, on every process: ``Communicator/allGather(_:)``
    /// of their bytes. The values travel bit for bit in the machine's byte order (every process of
    /// a job runs the same build on the same architecture).
    func allGather<T: BitwiseCopyable>(values: [T]) throws -> [[T]] {
        guard size > 1 else { return [values] }
        let bytes = values.withUnsafeBytes { Array($0) }
        return try allGather(bytes).map { part in
            let count = part.count / MemoryLayout<T>.stride
            return part.withUnsafeBytes { raw in
                (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.self) }
            }
        }
    }
}
