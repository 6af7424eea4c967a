import NSDETensor

/// Base class of every neural-network building block: it owns ``Parameter``s and child modules,
/// found automatically by reflection over stored properties (a `Parameter`, an optional
/// `Parameter`, a `Module`, or an array of them), and has a training/evaluation mode.
///
/// Names follow PyTorch's `state_dict` convention: a property `weight` of a child stored in
/// property `conv1` is `"conv1.weight"`; array elements are numbered (`"layers.0.weight"`).
open class Module {
    /// `true` in training mode (the default), `false` in evaluation mode.
    public private(set) var isTraining = true

    public init() {}

    /// Whether array-valued properties name their elements `"i"` rather than `"property.i"`.
    /// `Sequential` returns `true`, matching PyTorch's `nn.Sequential` names.
    open var flattensArrayNames: Bool { false }

    /// The direct children: (name, value) pairs that are parameters or modules.
    private var children: [(String, Any)] {
        var result: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        var levels: [Mirror] = []
        while let m = mirror { levels.append(m); mirror = m.superclassMirror }
        for m in levels.reversed() {
            for child in m.children {
                guard let label = child.label else { continue }
                let name = label.hasPrefix("_") ? String(label.dropFirst()) : label
                if let p = child.value as? Parameter { result.append((name, p)) }
                else if let mod = child.value as? Module { result.append((name, mod)) }
                else if let array = child.value as? [Any] {
                    // A container whose only job is to hold a list (Sequential) names the
                    // elements by index alone, as PyTorch does.
                    let flat = flattensArrayNames
                    for (i, element) in array.enumerated() {
                        if element is Parameter || element is Module { result.append((flat ? "\(i)" : "\(name).\(i)", element)) }
                    }
                }
            }
        }
        return result
    }

    /// Every parameter in this module and its descendants, with its dotted name, in declaration
    /// order. Shared parameters appear once.
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Parameter)] = []
        func visit(_ module: Module, prefix: String) {
            for (name, value) in module.children {
                let full = prefix.isEmpty ? name : "\(prefix).\(name)"
                if let p = value as? Parameter {
                    if seen.insert(ObjectIdentifier(p)).inserted { out.append((full, p)) }
                } else if let m = value as? Module {
                    visit(m, prefix: full)
                }
            }
        }
        visit(self, prefix: "")
        return out.map { (name: $0.0, parameter: $0.1) }
    }

    /// Every parameter in this module and its descendants.
    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// Total number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Every descendant module (depth first), including `self`.
    public var modules: [Module] {
        var out: [Module] = [self]
        for (_, v) in children { if let m = v as? Module { out += m.modules } }
        return out
    }

    /// Switches this module and its descendants to training mode.
    public func train() { for m in modules { m.isTraining = true } }

    /// Switches this module and its descendants to evaluation mode.
    public func eval() { for m in modules { m.isTraining = false } }

    /// Clears the gradients of every parameter.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// The parameters as a name → tensor dictionary (copies), in PyTorch `state_dict` naming.
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.name, $0.parameter.value.copy()) })
    }

    /// Loads parameters from a name → tensor dictionary.
    ///
    /// - Parameter strict: when `true`, every parameter must be present and no extra name may
    ///   appear.
    /// - Throws: ``StateDictError`` naming the missing, unexpected or mis-shaped entries.
    public func loadStateDict(_ dict: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters()
        var missing: [String] = []
        var mismatched: [String] = []
        for (name, p) in named {
            guard let t = dict[name] else { missing.append(name); continue }
            if t.shape != p.shape { mismatched.append("\(name): expected shape \(p.shape), found \(t.shape)") }
        }
        let known = Set(named.map(\.name))
        let unexpected = dict.keys.filter { !known.contains($0) }.sorted()
        // Weights that are NaN or infinite would give NaN logits and a meaningless accuracy.
        var nonFinite: [String] = []
        for (name, p) in named {
            guard let t = dict[name], t.shape == p.shape else { continue }
            let bad = t.scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            if bad > 0 { nonFinite.append("\(name): \(bad) of \(t.count) values are NaN or infinite") }
        }
        if !mismatched.isEmpty || !nonFinite.isEmpty || (strict && (!missing.isEmpty || !unexpected.isEmpty)) {
            throw StateDictError(missing: missing, unexpected: unexpected, shapeMismatches: mismatched, nonFinite: nonFinite)
        }
        for (name, p) in named { if let t = dict[name] { p.assign(t) } }
    }
}

/// A module that maps one tensor to another.
public protocol Layer: Module {
    /// Applies the layer to `input`.
    func callAsFunction(_ input: Tensor) -> Tensor
}

/// Problems found when loading a state dictionary into a module.
public struct StateDictError: Error, CustomStringConvertible, Equatable {
    /// Parameter names the module has but the dictionary lacks.
    public var missing: [String]
    /// Dictionary names the module does not have.
    public var unexpected: [String]
    /// "name: expected shape …, found …" for each entry whose shape differs.
    public var shapeMismatches: [String]
    /// "name: k of n values are NaN or infinite" for each entry holding non-finite values.
    public var nonFinite: [String]

    /// An error with the given problems.
    public init(missing: [String], unexpected: [String], shapeMismatches: [String], nonFinite: [String] = []) {
        self.missing = missing
        self.unexpected = unexpected
        self.shapeMismatches = shapeMismatches
        self.nonFinite = nonFinite
    }

    public var description: String {
        // Names come from files: each is clipped, and long lists name their first ten.
        func list(_ items: [String], _ separator: String) -> String {
            let shown = items.prefix(10).map { clipForMessage($0) }.joined(separator: separator)
            return items.count > 10 ? shown + "\(separator)and \(items.count - 10) more" : shown
        }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing parameters: \(list(missing, ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected entries: \(list(unexpected, ", "))") }
        if !shapeMismatches.isEmpty { parts.append("shape mismatches: \(list(shapeMismatches, "; "))") }
        if !nonFinite.isEmpty { parts.append("non-finite weights: \(list(nonFinite, "; "))") }
        return "cannot load state dict: " + parts.joined(separator: "; ")
    }
}
