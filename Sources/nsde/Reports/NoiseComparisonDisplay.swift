import Foundation
import NeuralSDE

/// Shows a noise comparison's progress on stderr: a headline per model, the training display of
/// ``TrainingProgressDisplay``, an evaluation bar, and a result line per model.
final class NoiseComparisonDisplay {
    private let training = TrainingProgressDisplay()
    private var evaluationBar: ProgressBar?
    private let ttnSamples: Int
    private var lastEvaluated = 0

    private let split: String

    /// - Parameters:
    ///   - ttnSamples: K of the TTN evaluation.
    ///   - split: what the final evaluation measures ("test" or "validation"), for the result lines.
    init(ttnSamples: Int, split: String = "test") {
        self.ttnSamples = ttnSamples
        self.split = split
    }

    var handler: (NoiseComparisonEvent) -> Void { { [self] event in handle(event) } }

    func handle(_ event: NoiseComparisonEvent) {
        switch event {
        case let .modelStarted(index, count, setting, seed, resumingAfterEpoch):
            evaluationBar = nil
            status("[\(index + 1)/\(count)] \(setting), seed \(seed)" + (resumingAfterEpoch > 0 ? ": resuming after epoch \(resumingAfterEpoch)" : ""))
        case let .training(event):
            training.handle(event)
        case let .evaluating(done, total):
            // One bar per evaluated set (test, validation, training images), each with its own total.
            if evaluationBar == nil || evaluationBar!.total != total || done < lastEvaluated {
                evaluationBar = ProgressBar(title: ttnSamples > 0 ? "final eval (TTN K = \(ttnSamples))" : "final eval", total: total, unit: "img")
            }
            lastEvaluated = done
            evaluationBar?.update(done)
        case let .modelFinished(row):
            let ttn = row.evaluation.ttn.map { String(format: ", w/ TTN %.2f%%", 100 * $0.accuracy) } ?? ""
            let train = row.trainEvaluation.map { String(format: ", train %.2f%%", 100 * $0.accuracy) } ?? ""
            let validation = row.validation.map { String(format: ", validation %.2f%%", 100 * $0.accuracy) } ?? ""
            status(String(format: "%@, seed %llu: %@ w/o TTN %.2f%%%@%@%@ (%d %@ images, trained in %@)", row.setting.description,
                          row.seed, split, 100 * row.evaluation.plain.accuracy, ttn, train, validation, row.evaluation.count, split,
                          ProgressBar.format(seconds: row.trainSeconds)))
        }
    }
}
