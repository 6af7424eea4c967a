/// The calculus in which an SDE's stochastic integral is read.
///
/// The same physical process has different drifts in the two calculi: an Itô SDE
/// dY = f dt + g dW is the Stratonovich SDE dY = (f − ½ g ∂g/∂y) dt + g ∘ dW (diagonal noise).
/// Solvers declare the calculus they converge to (``SDESolver/calculus``) and ``sdeint`` checks
/// it against the SDE's ``SDE/calculus`` before the first step.
public enum StochasticCalculus: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Itô: the integrand is evaluated at the left end of each interval.
    case ito
    /// Stratonovich: the integrand is evaluated at the midpoint; the chain rule of ordinary calculus holds.
    case stratonovich

    /// "Itô" or "Stratonovich".
    public var description: String { self == .ito ? "Itô" : "Stratonovich" }
}
