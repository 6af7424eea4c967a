import NSDECore
import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

/// Batch shards (BatchParallel): the split computation equals the unsplit one up to the order of
/// floating-point sums, is bit-identical from run to run, and draws each sample's noise as the
/// whole batch does.
final class BatchParallelTests: XCTestCase {
    private func mlp() -> Sequential {
        Initializer.manualSeed(11)
        return Sequential([Linear(6, 16), Tanh(), Linear(16, 6)])
    }

    /// Loss and parameter gradients of an MLP-drift SDE with dropout noise over `shards` shards.
    private func run(_ net: Sequential, shards: Int, gradient: GradientMethod = .backprop,
                     batch: Int = 13) throws -> (loss: Float, grads: [[Float]]) {
        let sde = NeuralDriftSDE(drift: net, diffusion: DropoutDiffusion(sigma: 0.4))
        let y0 = Tensor.randomNormal([batch, 6], seed: 5)
        for p in net.parameters { p.zeroGrad() }
        let losses = try BatchParallel.run(batch: batch, shards: shards) { shard -> Float in
            let start = shard.slice(y0)
            let sol = try sdeint(sde, y0: start, times: [0, 1], solver: .eulerMaruyama, dt: 0.05,
                                 brownian: .grid(seed: 9, stream: 2), gradient: gradient)
            let loss = sol.final.squared().mean() * shard.fraction
            loss.backward()
            return loss.item
        }
        return (losses.reduce(0, +), net.parameters.map { $0.grad!.scalars })
    }

    func testShardsMatchTheUnsplitBatch() throws {
        let net = mlp()
        let whole = try run(net, shards: 1)
        for shards in [2, 3, 13] {
            let split = try run(net, shards: shards)
            XCTAssertEqual(split.loss, whole.loss, accuracy: 1e-5 * abs(whole.loss), "\(shards) shards: loss")
            for (a, b) in zip(split.grads, whole.grads) { XCTAssertEqual(a, b, accuracy: 1e-5, "\(shards) shards: gradient") }
        }
        // The stochastic adjoint also sees each sample's own noise.
        let adjointWhole = try run(net, shards: 1, gradient: .adjoint)
        let adjointSplit = try run(net, shards: 2, gradient: .adjoint)
        for (a, b) in zip(adjointSplit.grads, adjointWhole.grads) { XCTAssertEqual(a, b, accuracy: 1e-4, "adjoint, 2 shards") }
    }

    func testShardedRunsAreBitIdentical() throws {
        let net = mlp()
        let first = try run(net, shards: 2), second = try run(net, shards: 2)
        XCTAssertEqual(first.loss, second.loss)
        XCTAssertEqual(first.grads, second.grads)
    }

    /// Gradients add to what the parameters held before, as a backward pass does.
    func testGradientsAccumulate() throws {
        let net = mlp()
        let once = try run(net, shards: 2).grads
        let p = net.parameters[0]
        p.zeroGrad()
        p.accumulateGradient(Tensor(repeating: 1, shape: p.shape))
        _ = try BatchParallel.run(batch: 4, shards: 2) { shard in
            let y = net(Tensor.randomNormal([4, 6], seed: 1).rows(shard.rows.range))
            (y.sum() * 0).backward()
        }
        XCTAssertEqual(p.grad!.scalars, [Float](repeating: 1, count: p.shape.reduce(1, *)))
        XCTAssertFalse(once.isEmpty)
    }

    /// Inside shards, Linear layers multiply by a transpose of the weight made once per shard run
    /// (``Tensor/linear(weight:bias:transposedWeight:)``): each shard's output and input gradient
    /// are those of the same layers run outside shards up to rounding (a plain product instead of
    /// a transposed read), and a weight changed between runs is seen by the next run (the copy
    /// does not outlive its run: a stale one would be off by far more than rounding).
    func testShardLinearLayersMatchTheUnshardedOnes() throws {
        let net = mlp()
        let x = Tensor.randomNormal([9, 6], seed: 3)
        for round in 0..<2 {
            if round == 1 {
                let w = net.parameters[0]
                w.assign(Tensor(shape: w.shape, scalars: w.value.scalars.map { $0 * 0.5 + 0.01 }))
            }
            var inside: [(out: [Float], grad: [Float])] = [[], []].map { ($0, $0) }
            _ = try BatchParallel.run(batch: 9, shards: 2) { shard in
                var xs = shard.slice(x).detached()
                xs.requiresGrad = true
                let y = net(xs)
                (y * y).sum().backward()
                inside[shard.index] = (y.scalars, xs.grad!.scalars)
            }
            // Outside shards on one thread, as a shard runs.
            for (i, rows) in [0..<5, 5..<9].enumerated() {
                var xs = x.rows(rows).detached()
                xs.requiresGrad = true
                let y = Parallel.withThreadLimit(1) { net(xs) }
                Parallel.withThreadLimit(1) { (y * y).sum().backward() }
                for (a, b) in zip(inside[i].out, y.scalars) { XCTAssertEqual(a, b, accuracy: 1e-6, "round \(round), shard \(i): output") }
                for (a, b) in zip(inside[i].grad, xs.grad!.scalars) {
                    XCTAssertEqual(a, b, accuracy: 1e-5, "round \(round), shard \(i): input gradient")
                }
            }
        }
    }

    /// A tensor that requires a gradient and is not a parameter is one leaf for every shard: shards
    /// that slice it (the slice's pullback) or multiply by it (a product that adds into the leaf's
    /// gradient in place) and run their backward passes side by side all add into it, and none of
    /// their contributions is lost. Repeated, because a lost update depends on the threads' timing.
    func testShardsAddIntoASharedLeafWithoutLosingUpdates() throws {
        let batch = 64
        var x = Tensor.randomNormal([batch, 32], seed: 3)
        x.requiresGrad = true
        var w = Tensor.randomNormal([32, 32], std: 0.2, seed: 4)
        w.requiresGrad = true
        func gradients(shards: Int) throws -> (x: [Float], w: [Float]) {
            x.zeroGrad()
            w.zeroGrad()
            _ = try BatchParallel.run(batch: batch, shards: shards) { shard -> Float in
                // Twenty layers, so that the shards' backward passes overlap in time.
                var h = shard.slice(x)
                for _ in 0..<20 { h = h.matmul(w).tanh() }
                let loss = h.squared().sum()
                loss.backward()
                return loss.item
            }
            return (x.grad!.scalars, w.grad!.scalars)
        }
        let whole = try gradients(shards: 1)
        for round in 0..<40 {
            for shards in [2, 3] {
                let split = try gradients(shards: shards)
                for (a, b) in zip(split.x, whole.x) {
                    XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), "round \(round), \(shards) shards: the input's gradient")
                }
                for (a, b) in zip(split.w, whole.w) {
                    XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), "round \(round), \(shards) shards: the weight's gradient")
                }
            }
        }
    }

    func testAShardErrorLeavesGradientsUnchanged() {
        let net = mlp()
        for p in net.parameters { p.zeroGrad() }
        struct Failure: Error {}
        XCTAssertThrowsError(try BatchParallel.run(batch: 8, shards: 2) { shard in
            let y = net(Tensor.randomNormal([4, 6], seed: 1))
            y.sum().backward()
            if shard.index == 1 { throw Failure() }
        }) { XCTAssertTrue($0 is Failure) }
        XCTAssertTrue(net.parameters.allSatisfy { $0.grad == nil })
    }

    func testShardRangesAndThreadLimit() throws {
        for (batch, count) in [(13, 2), (13, 3), (4, 4), (7, 1)] {
            let ranges = (0..<count).map { BatchParallel.shardRange($0, of: count, batch: batch) }
            XCTAssertEqual(ranges.first?.lowerBound, 0)
            XCTAssertEqual(ranges.last?.upperBound, batch)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            let sizes = ranges.map(\.count)
            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
        }
        let seen = try BatchParallel.run(batch: 6, shards: 3) { shard in (Parallel.threadCount, BatchShard.current?.index) }
        XCTAssertEqual(seen.map(\.0), [1, 1, 1])
        XCTAssertEqual(seen.map(\.1), [0, 1, 2])
        XCTAssertNil(BatchShard.current)
        // More shards than samples: one per sample.
        XCTAssertEqual(try BatchParallel.run(batch: 2, shards: 5) { $0.rows.range.count }, [1, 1])
    }

    /// A Brownian grid (and interval) over rows of a batch gives those rows of the batch's path,
    /// also when the rows start inside a Philox block.
    func testBrownianRowsAreRowsOfTheBatchPath() {
        for range in [0..<3, 3..<7, 1..<2] {
            let rows = BatchRows(range, of: 7)
            let whole = BrownianGrid(shape: [7, 5], dt: 0.1, seed: 3, stream: 1, levyArea: true)
            let part = BrownianGrid(shape: [range.count, 5], dt: 0.1, seed: 3, stream: 1, levyArea: true, rows: rows)
            let a = whole.increment(from: 0.2, to: 0.5), b = part.increment(from: 0.2, to: 0.5)
            XCTAssertEqual(b.w.scalars, a.w.rows(range).scalars)
            XCTAssertEqual(b.h!.scalars, a.h!.rows(range).scalars)
            let tree = BrownianInterval(shape: [7, 5], t0: 0, t1: 1, seed: 3)
            let treePart = BrownianInterval(shape: [range.count, 5], t0: 0, t1: 1, seed: 3, rows: rows)
            XCTAssertEqual(treePart.increment(from: 0.1, to: 0.73).w.scalars, tree.increment(from: 0.1, to: 0.73).w.rows(range).scalars)
        }
    }
}
