import ArgumentParser
import Foundation
import NeuralSDE

extension NSDE {
    struct Stability: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the paper's stability theory (§3.3) off an SDE: top Lyapunov exponents, Lipschitz constants, Corollary 3.2.1.",
            discussion: """
            `toy` estimates the top Lyapunov exponent of dx = x dt + σx dB (theory 1 − σ²/2) from sample \
            paths; `model` measures it for a classifier's SDE block by Benettin's method (two solutions \
            with the same Brownian path, renormalised), estimates the drift's Lipschitz constant near the \
            trajectory and checks Corollary 3.2.1 (σ² > 2L ⇒ stable).
            """,
            subcommands: [ToyExponent.self, ModelExponent.self])
    }
}

extension ToyLyapunov.Scheme: ExpressibleByArgument {}
extension PaperBlockStability.NoiseShape: ExpressibleByArgument {}

/// `x` when finite, else `nil` (JSON has no NaN or infinity).
func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

/// The non-negative finite numbers of a comma-separated list, or `nil` when any entry is not one
/// (or the list is empty).
func parseSigmaList(_ text: String) -> [Float]? {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap(Float.init)
    guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return nil }
    return values
}
