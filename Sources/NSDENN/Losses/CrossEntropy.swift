import NSDETensor

/// Softmax cross-entropy between `logits` `[N, K]` and integer class `labels` (N values in
/// 0..<K), averaged over the batch: −(1/N) Σᵢ log softmax(logitsᵢ)[labelᵢ].
public func crossEntropy(logits: Tensor, labels: [Int]) -> Tensor {
    precondition(logits.rank == 2, "crossEntropy: logits must be [N, K], got \(logits.shape)")
    precondition(labels.count == logits.shape[0], "crossEntropy: \(labels.count) labels for \(logits.shape[0]) rows")
    return -logits.logSoftmax().gather(labels).mean()
}

/// Fraction of rows of `logits` `[N, K]` whose largest entry is at the row's label.
public func accuracy(logits: Tensor, labels: [Int]) -> Double {
    precondition(labels.count == logits.shape[0], "accuracy: \(labels.count) labels for \(logits.shape[0]) rows")
    guard !labels.isEmpty else { return 0 }
    let predicted = logits.argmax(axis: 1)
    return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
}

/// Mean squared error between two tensors of the same shape.
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    precondition(prediction.shape == target.shape, "meanSquaredError: shapes \(prediction.shape) and \(target.shape) differ")
    return (prediction - target).squared().mean()
}
