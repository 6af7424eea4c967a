import NSDEPlot
import NSDETraining

/// The statistics of one model of a noise comparison over its seeds: mean and standard deviation
/// of the test accuracy without and with test-time noise, of the clean training accuracy and of
/// the validation accuracy, and the paired difference to the ODE trained with the same seeds.
public struct NoiseComparisonSummary: Sendable {
    /// The model.
    public let setting: NoiseSetting
    /// Its runs, one per seed, in seed order.
    public let rows: [NoiseComparisonRow]
    /// Test accuracy without test-time noise (fractions) over the seeds.
    public let accuracy: SampleStatistics
    /// Test accuracy with test-time noise over the seeds, or `nil` (no TTN, or the ODE).
    public let accuracyTTN: SampleStatistics?
    /// Clean training accuracy over the seeds, or `nil` when it was not measured.
    public let trainAccuracy: SampleStatistics?
    /// Validation accuracy without test-time noise over the seeds, or `nil` without a validation split.
    public let validationAccuracy: SampleStatistics?
    /// Test accuracy minus the ODE's, paired by seed (w/o TTN), or `nil` for the ODE itself or
    /// when the comparison has no ODE with the same seeds.
    public let differenceToODE: PairedDifference?
    /// Test accuracy with TTN minus the ODE's accuracy, paired by seed, or `nil`.
    public let differenceToODEWithTTN: PairedDifference?

    /// Summarises `rows` (one model's runs), pairing them by seed with `ode` (the ODE's runs).
    public init(setting: NoiseSetting, rows: [NoiseComparisonRow], ode: [NoiseComparisonRow]?) {
        self.setting = setting
        self.rows = rows
        accuracy = SampleStatistics(rows.map(\.evaluation.accuracy))
        let ttn = rows.compactMap(\.evaluation.accuracyTTN)
        accuracyTTN = setting.noise != .ode && ttn.count == rows.count && !ttn.isEmpty ? SampleStatistics(ttn) : nil
        let train = rows.compactMap { $0.trainEvaluation?.accuracy }
        trainAccuracy = train.count == rows.count && !train.isEmpty ? SampleStatistics(train) : nil
        let validation = rows.compactMap { $0.validation?.accuracy }
        validationAccuracy = validation.count == rows.count && !validation.isEmpty ? SampleStatistics(validation) : nil
        let pairs: [(NoiseComparisonRow, NoiseComparisonRow)] = rows.compactMap { row in
            ode?.first { $0.seed == row.seed }.map { (row, $0) }
        }
        if setting.noise != .ode, !pairs.isEmpty, pairs.count == rows.count {
            differenceToODE = PairedDifference(pairs.map(\.0.evaluation.accuracy), minus: pairs.map(\.1.evaluation.accuracy))
            if let ttn = accuracyTTN, ttn.count == pairs.count {
                differenceToODEWithTTN = PairedDifference(pairs.map { $0.0.evaluation.accuracyTTN! },
                                                          minus: pairs.map(\.1.evaluation.accuracy))
            } else {
                differenceToODEWithTTN = nil
            }
        } else {
            differenceToODE = nil
            differenceToODEWithTTN = nil
        }
    }

    /// The generalisation gap (train − test, w/o TTN) over the seeds, or `nil`.
    public var generalizationGap: SampleStatistics? {
        let gaps = rows.compactMap(\.generalizationGap)
        return gaps.count == rows.count && !gaps.isEmpty ? SampleStatistics(gaps) : nil
    }
}
