/// Shape arithmetic for NumPy-style broadcasting.
public enum Broadcast {
    /// The broadcast shape of `a` and `b`, or `nil` if they are incompatible.
    public static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = max(a.count, b.count)
        var out = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let da = i < n - a.count ? 1 : a[i - (n - a.count)]
            let db = i < n - b.count ? 1 : b[i - (n - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Row-major strides of `shape` aligned to `outShape`, with 0 for broadcast dimensions.
    @usableFromInline static func strides(of shape: [Int], broadcastTo outShape: [Int]) -> [Int] {
        let n = outShape.count
        var strides = [Int](repeating: 0, count: n)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let j = i + (n - shape.count)
            strides[j] = shape[i] == 1 && outShape[j] != 1 ? 0 : s
            s *= shape[i]
        }
        return strides
    }

    /// Merges adjacent dimensions that are contiguous in every operand, so loops run over as
    /// few and as long dimensions as possible.
    @usableFromInline static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var dims: [Int] = []
        var strs: [[Int]] = strides.map { _ in [] }
        for i in 0..<shape.count where shape[i] != 1 {
            if let last = dims.last,
               strides.indices.allSatisfy({ k in strs[k].last! == strides[k][i] * shape[i] }) {
                dims[dims.count - 1] = last * shape[i]
                for k in strides.indices { strs[k][strs[k].count - 1] = strides[k][i] }
            } else {
                dims.append(shape[i])
                for k in strides.indices { strs[k].append(strides[k][i]) }
            }
        }
        if dims.isEmpty { return ([1], strides.map { _ in [1] }) }
        return (dims, strs)
    }
}
