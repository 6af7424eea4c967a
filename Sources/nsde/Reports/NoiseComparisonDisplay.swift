import Foundation
import NeuralSDE

/// Shows a noise comparison's progress on stderr: a headline per model, the training display of
/// ``TrainingProgressDisplay``, an evaluation bar, and a result line per model.
final class NoiseComparisonDisplay {
    private let training = TrainingProgressDisplay()
    private var evaluationBar: ProgressBar?
    private let ttnSamples: Int

    init(ttnSamples: Int) { self.ttnSamples = ttnSamples }

    var handler: (NoiseComparisonEvent) -> Void { { [self] event in handle(event) } }

    func handle(_ event: NoiseComparisonEvent) {
        switch event {
        case let .modelStarted(index, count, setting, resumingAfterEpoch):
            evaluationBar = nil
            status("[\(index + 1)/\(count)] \(setting)" + (resumingAfterEpoch > 0 ? ": resuming after epoch \(resumingAfterEpoch)" : ""))
        case let .training(event):
            training.handle(event)
        case let .evaluating(done, total):
            if evaluationBar == nil {
                evaluationBar = ProgressBar(title: ttnSamples > 0 ? "final eval (TTN K = \(ttnSamples))" : "final eval", total: total, unit: "img")
            }
            evaluationBar?.update(done)
        case let .modelFinished(row):
            let ttn = row.evaluation.ttn.map { String(format: ", w/ TTN %.2f%%", 100 * $0.accuracy) } ?? ""
            status(String(format: "%@: w/o TTN %.2f%%%@ (%d test images, trained in %@)", row.setting.description,
                          100 * row.evaluation.plain.accuracy, ttn, row.evaluation.count,
                          ProgressBar.format(seconds: row.trainSeconds)))
        }
    }
}
