@testable import NSDENN
import NSDETensor
import NSDETestSupport
import XCTest

/// `Parameter.withValuesFixed`: a matrix parameter's transpose is made once per scope, equals the
/// value's transpose, is dropped when the scope ends, and a linear layer inside the scope gives
/// the values it gives outside (a plain product instead of a transposed read: equal to rounding).
final class ParameterTransposeTests: XCTestCase {
    func testTransposeIsCachedForTheScopeOnly() {
        let p = Parameter(TestData.uniform([3, 5], seed: 1))
        XCTAssertNil(p.cachedTransposedValue, "outside any scope")
        Parameter.withValuesFixed {
            guard let first = p.cachedTransposedValue, let second = p.cachedTransposedValue else {
                return XCTFail("no transpose inside the scope")
            }
            XCTAssertEqual(first.shape, [5, 3])
            XCTAssertEqual(first.scalars, p.value.transposed().scalars)
            XCTAssertEqual(first.storage.pointer, second.storage.pointer, "made once per scope")
            XCTAssertFalse(first.requiresGrad, "a constant")
            // A nested scope reuses the enclosing one's transposes.
            Parameter.withValuesFixed { XCTAssertEqual(p.cachedTransposedValue?.storage.pointer, first.storage.pointer) }
        }
        XCTAssertNil(p.cachedTransposedValue, "after the scope")
        // A new value is seen by the next scope.
        p.assign(TestData.uniform([3, 5], seed: 2))
        Parameter.withValuesFixed { XCTAssertEqual(p.cachedTransposedValue?.scalars, p.value.transposed().scalars) }
        // Vectors have none.
        let bias = Parameter(TestData.uniform([4], seed: 3))
        Parameter.withValuesFixed { XCTAssertNil(bias.cachedTransposedValue) }
    }

    func testBatchShardsKeepTheirOwnTransposes() throws {
        let p = Parameter(TestData.uniform([4, 6], seed: 4))
        let pointers = try Parameter.withValuesFixed {
            let outer = p.cachedTransposedValue!.storage.pointer
            let inner = try BatchParallel.run(batch: 4, shards: 2) { _ in p.cachedTransposedValue!.storage.pointer }
            return [outer] + inner
        }
        XCTAssertEqual(Set(pointers).count, 3, "the scope's and each shard's own transpose")
    }

    func testLinearLayerGivesTheSameValuesInsideTheScope() {
        Initializer.manualSeed(5)
        let net = Sequential([Linear(64, 128), Tanh(), Linear(128, 64)])
        let x = TestData.uniform([32, 64], seed: 6)
        let outside = noGrad { net(x) }
        let inside = Parameter.withValuesFixed { noGrad { net(x) } }
        XCTAssertEqual(inside.shape, outside.shape)
        for (a, b) in zip(inside.scalars, outside.scalars) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }
}
