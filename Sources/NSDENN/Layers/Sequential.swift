import NSDETensor

/// Layers applied in order. Children are named `"0"`, `"1"`, … in the state dict, as in
/// PyTorch's `nn.Sequential`.
public final class Sequential: Module, Layer {
    /// The layers, applied first to last.
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) {
        let stages = Sequential.stages(of: layers)
        self.layers = layers
        self.stages = stages
        self.tapeFreePlan = TapeFreePlan(stages)
        super.init()
    }

    public override var flattensArrayNames: Bool { true }

    public convenience init(_ layers: any Layer...) { self.init(layers) }

    /// The layers applied in order. A `Linear` followed by a `Tanh` runs as one fused op
    /// (``Linear/callAsFunction(_:thenTanh:)``): no bias broadcast before the GEMM and no
    /// pre-activation tensor kept; the values are the two layers' (tests compare them bit for
    /// bit) up to the order of the bias addition on very wide inputs.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for stage in stages {
            switch stage {
            case let .linearTanh(linear): h = linear(h, thenTanh: true)
            case let .layer(layer): h = layer(h)
            }
        }
        return h
    }

    /// One step of the forward pass: a `Linear` fused with the `Tanh` after it, or one layer.
    enum Stage {
        case linearTanh(Linear)
        case layer(any Layer)
    }

    /// The layers grouped into the steps the forward pass runs.
    let stages: [Stage]

    /// Where each stage's saved tensors and parameter slots start in a tape-free pass, or `nil`
    /// when a layer cannot run tape-free.
    private let tapeFreePlan: TapeFreePlan?

    private static func stages(of layers: [any Layer]) -> [Stage] {
        var result: [Stage] = []
        var i = 0
        while i < layers.count {
            if let linear = layers[i] as? Linear, i + 1 < layers.count, layers[i + 1] is Tanh {
                result.append(.linearTanh(linear))
                i += 2
            } else {
                result.append(.layer(layers[i]))
                i += 1
            }
        }
        return result
    }
}

/// The layout of a ``Sequential``'s tape-free pass: for each stage, where its saved tensors and
/// its parameters' gradient slots start.
private struct TapeFreePlan {
    let savedStart: [Int]
    let slotStart: [Int]
    let savedCount: Int
    let parameters: [Parameter]

    init?(_ stages: [Sequential.Stage]) {
        var savedStart: [Int] = [], slotStart: [Int] = [], parameters: [Parameter] = []
        var savedCount = 0
        for stage in stages {
            savedStart.append(savedCount)
            slotStart.append(parameters.count)
            switch stage {
            case let .linearTanh(linear):
                savedCount += 2
                parameters += linear.tapeFreeParameters
            case let .layer(layer):
                guard layer.runsTapeFree else { return nil }
                let tapeFree = layer as? any TapeFreeLayer
                savedCount += tapeFree?.tapeFreeSavedCount ?? 1
                parameters += tapeFree?.tapeFreeParameters ?? []
            }
        }
        (self.savedStart, self.slotStart, self.savedCount, self.parameters) = (savedStart, slotStart, savedCount, parameters)
    }
}

extension Sequential: TapeFreeLayer {
    /// Whether every layer is a supporting ``TapeFreeLayer`` or has no parameters.
    public var supportsTapeFree: Bool { tapeFreePlan != nil }

    /// The tape-free layers' parameters, in layer order.
    public var tapeFreeParameters: [Parameter] { tapeFreePlan?.parameters ?? [] }

    /// The layers' saved tensors: two for a fused `Linear`–`Tanh` (input and output), one for a
    /// layer without parameters (its input).
    public var tapeFreeSavedCount: Int { tapeFreePlan?.savedCount ?? 0 }

    /// The layers applied in order, as ``callAsFunction(_:)`` applies them (a `Linear` followed
    /// by a `Tanh` fused), recorded nowhere.
    public func tapeFreeForward(_ x: Tensor) -> (output: Tensor, saved: [Tensor]) {
        tapeFreeForward(x, updatingLast: nil)
    }

    /// `update` of the output, fused into the last layer where it is tape-free (a ``Linear``
    /// fuses it into its product), else applied after it; saves what ``tapeFreeForward(_:)`` saves.
    public func tapeFreeForward(_ x: Tensor, then update: ElementwiseUpdate) -> (updated: Tensor, saved: [Tensor]) {
        let (updated, saved) = tapeFreeForward(x, updatingLast: update)
        return (updated, saved)
    }

    private func tapeFreeForward(_ x: Tensor, updatingLast update: ElementwiseUpdate?) -> (output: Tensor, saved: [Tensor]) {
        precondition(tapeFreePlan != nil, "Sequential.tapeFreeForward: a layer with parameters is not a TapeFreeLayer")
        var h = x
        var saved: [Tensor] = []
        saved.reserveCapacity(tapeFreeSavedCount)
        var updated = false
        for (i, stage) in stages.enumerated() {
            switch stage {
            case let .linearTanh(linear):
                let y = linear.tapeFreeValue(h, thenTanh: true)
                saved.append(h)
                saved.append(y)
                h = y
            case let .layer(layer):
                if let layer = layer as? any TapeFreeLayer {
                    let (y, s): (Tensor, [Tensor])
                    if i == stages.count - 1, let update {
                        (y, s) = layer.tapeFreeForward(h, then: update)
                        updated = true
                    } else {
                        (y, s) = layer.tapeFreeForward(h)
                    }
                    saved += s
                    h = y
                } else {
                    saved.append(h)
                    h = noGrad { layer(h) }
                }
            }
        }
        if let update, !updated { h = update.apply(to: h) }
        return (h, saved)
    }

    /// The layers' pullbacks, last to first.
    public func tapeFreePullback(_ g: Tensor, saved: [Tensor], inputGradient: Bool, addingInto accumulator: Tensor?,
                                 sums: inout [Tensor?], offset: Int) -> Tensor? {
        guard let plan = tapeFreePlan else {
            preconditionFailure("Sequential.tapeFreePullback: a layer with parameters is not a TapeFreeLayer")
        }
        precondition(saved.count == plan.savedCount, "Sequential.tapeFreePullback: \(saved.count) saved tensors, expected \(plan.savedCount)")
        var gradient: Tensor? = g
        // Whether `gradient` is already through the tanh of the stage it goes to (a fused
        // Linear–Tanh stage whose successor, a Linear, applied 1 − y² to its input gradient).
        var throughTanh = false
        for i in stages.indices.reversed() {
            guard let upstream = gradient else { break }
            // The first stage's input is the caller's x: only there do `inputGradient` and the
            // accumulator apply.
            let wantsInput = i == 0 ? inputGradient : true
            let into = i == 0 ? accumulator : nil
            let start = plan.savedStart[i], slot = offset + plan.slotStart[i]
            // A Linear after a fused Linear–Tanh carries its input gradient on through that tanh
            // (in the product's tiles; the same values as the tanh's own pullback). (Past the first
            // stage the input gradient is always wanted and nothing is accumulated.)
            let beforeTanh = i > 0 && { if case .linearTanh = stages[i - 1] { true } else { false } }()
            let upstreamThroughTanh = throughTanh
            throughTanh = false
            switch stages[i] {
            case let .linearTanh(linear):
                gradient = linear.tapeFreePullback(upstream, input: saved[start], tanhOutput: upstreamThroughTanh ? nil : saved[start + 1],
                                                   inputGradient: wantsInput, inputThroughTanh: beforeTanh, addingInto: into,
                                                   sums: &sums, offset: slot)
                throughTanh = beforeTanh
            case let .layer(layer):
                if let linear = layer as? Linear, beforeTanh {
                    gradient = linear.tapeFreePullback(upstream, input: saved[start], tanhOutput: nil, inputGradient: true,
                                                       inputThroughTanh: true, addingInto: nil, sums: &sums, offset: slot)
                    throughTanh = true
                } else if let layer = layer as? any TapeFreeLayer {
                    let end = i + 1 < stages.count ? plan.savedStart[i + 1] : saved.count
                    gradient = layer.tapeFreePullback(upstream, saved: Array(saved[start..<end]), inputGradient: wantsInput,
                                                      addingInto: into, sums: &sums, offset: slot)
                } else {
                    gradient = wantsInput ? layer.parameterFreePullback(upstream, at: saved[start], addingInto: into) : nil
                }
            }
        }
        return inputGradient ? gradient : nil
    }
}

extension Sequential {
    /// This network's Euler–Maruyama steps as whole kernels (``NSDETensor/TanhMLPSteps``) for
    /// `rows` states, when it is a `Linear`, a `Tanh` and a `Linear` (biases optional), the
    /// weights' transposes are cached (inside ``Parameter/withValuesFixed(_:)`` or a batch shard,
    /// from ``Linear/transposeMinimumRows`` rows) and the kernels run its products (see
    /// ``NSDETensor/TanhMLPSteps/runsFused(rows:features:hidden:)``); else `nil`. Its gradients
    /// come in the order of ``tapeFreeParameters``.
    public func tanhMLPSteps(rows: Int) -> TanhMLPSteps? {
        guard stages.count == 2, case let .linearTanh(first) = stages[0], case let .layer(layer) = stages[1],
              let second = layer as? Linear,
              let w1t = first.transposedWeight(rows: rows), let w2t = second.transposedWeight(rows: rows) else { return nil }
        return TanhMLPSteps(rows: rows, w1: first.weight.value, w1Transposed: w1t, b1: first.bias?.value,
                            w2: second.weight.value, w2Transposed: w2t, b2: second.bias?.value)
    }
}
