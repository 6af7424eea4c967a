import Foundation

/// A learning rate as a function of the epoch (0-based).
public protocol LearningRateSchedule {
    /// The learning rate to use throughout epoch `epoch`.
    func learningRate(atEpoch epoch: Int) -> Float
}

/// Multiplies the base rate by `gamma` at each milestone epoch: lr = base · γ^(#milestones ≤ epoch).
public struct MultiStepSchedule: LearningRateSchedule {
    public let base: Float, milestones: [Int], gamma: Float
    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        precondition(milestones == milestones.sorted(), "MultiStepSchedule: milestones must be increasing, got \(milestones)")
        self.base = base; self.milestones = milestones; self.gamma = gamma
    }

    /// The paper's staged schedule: `stages` epochs per stage, rate divided by 10 between
    /// stages (for example base 0.1 with stages [40, 40, 20, 20]).
    public static func staged(base: Float, stages: [Int], gamma: Float = 0.1) -> MultiStepSchedule {
        precondition(stages.allSatisfy { $0 > 0 }, "staged schedule: stage lengths must be positive, got \(stages)")
        var milestones: [Int] = [], total = 0
        for s in stages.dropLast() { total += s; milestones.append(total) }
        return MultiStepSchedule(base: base, milestones: milestones, gamma: gamma)
    }

    public func learningRate(atEpoch epoch: Int) -> Float {
        decayed(base, gamma, times: milestones.filter { $0 <= epoch }.count)
    }
}

/// Multiplies the base rate by `gamma` every `stepSize` epochs.
public struct StepSchedule: LearningRateSchedule {
    public let base: Float, stepSize: Int, gamma: Float
    public init(base: Float, stepSize: Int, gamma: Float = 0.1) {
        precondition(stepSize > 0, "StepSchedule: stepSize must be positive")
        self.base = base; self.stepSize = stepSize; self.gamma = gamma
    }
    public func learningRate(atEpoch epoch: Int) -> Float {
        decayed(base, gamma, times: epoch / stepSize)
    }
}

/// Cosine annealing from `base` to `minimum` over `totalEpochs`.
public struct CosineSchedule: LearningRateSchedule {
    public let base: Float, minimum: Float, totalEpochs: Int
    public init(base: Float, totalEpochs: Int, minimum: Float = 0) {
        precondition(totalEpochs > 0, "CosineSchedule: totalEpochs must be positive")
        self.base = base; self.totalEpochs = totalEpochs; self.minimum = minimum
    }
    public func learningRate(atEpoch epoch: Int) -> Float {
        let progress = Double(min(max(epoch, 0), totalEpochs)) / Double(totalEpochs)
        return minimum + (base - minimum) * Float(0.5 * (1 + cos(Double.pi * progress)))
    }
}

/// A constant rate.
public struct ConstantSchedule: LearningRateSchedule {
    public let value: Float
    public init(_ value: Float) { self.value = value }
    public func learningRate(atEpoch epoch: Int) -> Float { value }
}

/// `base · γ^times`, computed in Double from the shortest decimal forms of `base` and `γ`, so
/// that 0.1 decayed once by 0.1 is the Float nearest 0.01 (Float arithmetic gives 0.010000001).
func decayed(_ base: Float, _ gamma: Float, times: Int) -> Float {
    func decimal(_ x: Float) -> Double { Double(x.description) ?? Double(x) }
    return Float(decimal(base) * Foundation.pow(decimal(gamma), Double(times)))
}
