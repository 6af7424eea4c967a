/// The registry of SDE solvers, for call sites (`solver: .heun`) and the command line
/// (`--solver heun`). Adding a solver adds one case here.
public enum SolverKind: String, CaseIterable, Sendable {
    /// ``EulerMaruyama`` (Itô; strong 0.5, 1.0 additive).
    case eulerMaruyama = "euler-maruyama"
    /// ``Milstein`` for Itô SDEs (strong 1.0; diagonal, scalar, additive noise).
    case milstein = "milstein"
    /// ``Milstein`` for Stratonovich SDEs (strong 1.0; diagonal, scalar, additive noise).
    case milsteinStratonovich = "milstein-stratonovich"
    /// ``EulerHeun`` (Stratonovich; strong 0.5, 1.0 commutative noise).
    case eulerHeun = "euler-heun"
    /// ``Heun`` (Stratonovich; strong 0.5, 1.0 commutative noise).
    case heun = "heun"
    /// ``SRA1`` (additive noise; strong 1.5; needs Lévy area).
    case sra1 = "sra1"
    /// ``ReversibleHeun`` (Stratonovich; strong 0.5, 1.0 additive; algebraically reversible).
    case reversibleHeun = "reversible-heun"

    /// A solver instance of this kind.
    public var solver: any SDESolver {
        switch self {
        case .eulerMaruyama: return EulerMaruyama()
        case .milstein: return Milstein(calculus: .ito)
        case .milsteinStratonovich: return Milstein(calculus: .stratonovich)
        case .eulerHeun: return EulerHeun()
        case .heun: return Heun()
        case .sra1: return SRA1()
        case .reversibleHeun: return ReversibleHeun()
        }
    }

    /// The default solver for a (calculus, noise) pair: SRA1 for additive noise, Milstein for
    /// Itô diagonal or scalar noise, Euler–Maruyama for Itô general noise, Heun for Stratonovich
    /// noise that is not additive.
    public static func defaultSolver(calculus: StochasticCalculus, noise: NoiseType) -> SolverKind {
        switch (calculus, noise) {
        case (_, .additive): return .sra1
        case (.ito, .general): return .eulerMaruyama
        case (.ito, _): return .milstein
        case (.stratonovich, _): return .heun
        }
    }
}
