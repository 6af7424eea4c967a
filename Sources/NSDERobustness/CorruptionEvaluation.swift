import Foundation
import NSDEData
import NSDENN
import NSDETensor
import NSDETraining

/// The corruption-robustness benchmark of the paper's Table 2: accuracy without and with
/// test-time noise (TTN) on a test set under common corruptions (CIFAR-10-C, Hendrycks &
/// Dietterich 2019) at severities 1...5.
///
/// Each (corruption, severity) test set comes from one of two sources:
/// - **in memory** (``cifar10cDirectory`` `nil`): the clean test images are corrupted with this
///   library's ``Corruptions`` (RGB or greyscale, any size, e.g. Fashion-MNIST 1×28×28). Image i
///   of corruption `name` at severity s draws from
///   ``CorruptionStreams/generator(seed:corruption:severity:index:)`` with ``seed``, so every
///   (corruption, severity) has its own stream derived from the one seed, and the sets equal
///   those `nsde corrupt` / ``CIFAR10CWriter`` write with the same seed;
/// - **a CIFAR-10-C directory**: `<corruption>.npy` and `labels.npy` as released (read by
///   ``CIFAR10C``), the first ``testSubset`` images of each severity block.
///
/// Every set is then scored by ``evaluate(_:on:testSigma:ttnSamples:batchSize:seed:progress:)``
/// (w/o TTN at σ = 0; TTN averaging the softmax of ``ttnSamples`` passes, noise key ``seed``).
///
/// ```swift
/// let bench = try CorruptionEvaluation(corruptions: ["fog", "snow"], severities: [1, 5], ttnSamples: 10)
/// let result = try bench.run(model, clean: testSet)
/// print(result.meanBySeverity.map(\.accuracy))
/// ```
///
/// References: D. Hendrycks and T. Dietterich, "Benchmarking Neural Network Robustness to Common
/// Corruptions and Perturbations", ICLR 2019; Liu et al. 2019, §4.2 and Table 2.
public struct CorruptionEvaluation: Sendable {
    /// The corruptions, by CIFAR-10-C name, in the order of the results. In memory they are
    /// ``Corruptions/names`` (the 15 benchmark corruptions); from a directory any of
    /// `CIFAR10C.Corruption`'s 19 names.
    public let corruptions: [String]
    /// The severities, each in 1...5, in the order of the results.
    public let severities: [Int]
    /// A CIFAR-10-C directory to read the corrupted sets from (or its parent holding
    /// `CIFAR-10-C/`), or `nil` to corrupt the clean images in memory.
    public let cifar10cDirectory: URL?
    /// From a CIFAR-10-C directory, evaluate only the first this many images of each severity
    /// block (`nil`: all). In memory, pass a subset of the clean set instead.
    public let testSubset: Int?
    /// σ of the TTN passes, or `nil` for each model's own test σ.
    public let testSigma: Float?
    /// K ≥ 0, noisy passes averaged per image (0: no TTN). The paper's scripts use 100.
    public let ttnSamples: Int
    /// Images per forward pass (> 0); the TTN noise of an image depends on its batch.
    public let batchSize: Int
    /// The seed of the in-memory corruptions and the key of the TTN noise (the same key for every
    /// set, so models and sets are compared on common random numbers).
    public let seed: UInt64
    /// Worker threads for corrupting (`nil`: all processors); the images do not depend on it.
    public let corruptionThreads: Int?

    /// A benchmark; checks every setting.
    ///
    /// - Parameters: see the properties; the defaults are all 15 corruptions at severities 1...5,
    ///   in memory, K = 10, batch 128, seed 0.
    /// - Throws: ``RobustnessError/unknownCorruption(name:known:)`` listing the valid names (the
    ///   15 in memory, CIFAR-10-C's 19 from a directory);
    ///   ``RobustnessError/severityOutOfRange(severity:valid:)``; ``RobustnessError/invalidParameter(name:value:expected:)``
    ///   for an empty or repeated list, K < 0, a non-positive batch size or subset, or a negative
    ///   or non-finite σ.
    public init(corruptions: [String] = Corruptions.names, severities: [Int] = Array(Corruptions.severities),
                cifar10cDirectory: URL? = nil, testSubset: Int? = nil, testSigma: Float? = nil, ttnSamples: Int = 10,
                batchSize: Int = 128, seed: UInt64 = 0, corruptionThreads: Int? = nil) throws {
        let known = cifar10cDirectory == nil ? Corruptions.names : CIFAR10C.Corruption.allCases.map(\.rawValue)
        for name in corruptions where !known.contains(name) {
            throw RobustnessError.unknownCorruption(name: name, known: known)
        }
        for s in severities { try Corruptions.validate(severity: s) }
        func invalid(_ name: String, _ value: String, _ expected: String) -> RobustnessError {
            .invalidParameter(name: name, value: value, expected: expected)
        }
        guard !corruptions.isEmpty, Set(corruptions).count == corruptions.count else {
            throw invalid("corruptions", corruptions.joined(separator: ","), "a non-empty list without repeats")
        }
        guard !severities.isEmpty, Set(severities).count == severities.count else {
            throw invalid("severities", severities.map(String.init).joined(separator: ","), "a non-empty list of 1...5 without repeats")
        }
        guard ttnSamples >= 0 else { throw invalid("ttnSamples", "\(ttnSamples)", "an integer ≥ 0") }
        guard batchSize > 0 else { throw invalid("batchSize", "\(batchSize)", "a positive integer") }
        if let testSubset, testSubset < 1 { throw invalid("testSubset", "\(testSubset)", "a positive integer") }
        if let testSigma, !(testSigma.isFinite && testSigma >= 0) { throw invalid("testSigma", "\(testSigma)", "a finite value ≥ 0") }
        self.corruptions = corruptions
        self.severities = severities
        self.cifar10cDirectory = cifar10cDirectory
        self.testSubset = testSubset
        self.testSigma = testSigma
        self.ttnSamples = ttnSamples
        self.batchSize = batchSize
        self.seed = seed
        self.corruptionThreads = corruptionThreads
    }

    // MARK: - Corrupted test sets

    /// Checks that the CIFAR-10-C directory holds `labels.npy` and a `.npy` file for every
    /// corruption (directly or in `CIFAR-10-C/`); does nothing in memory.
    ///
    /// - Throws: `DataError.missingDirectory` or `DataError.missingDatasetFile` naming the path.
    public func checkSource() throws {
        guard let directory = cifar10cDirectory else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missingDirectory(directory: directory.path, dataset: "CIFAR-10-C", expected: CIFAR10C.expectedContents)
        }
        let resolved = CIFAR10C.resolvedDirectory(directory)
        for file in [CIFAR10C.labelsFile] + corruptions.map({ $0 + ".npy" }) {
            let url = resolved.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw DataError.missingDatasetFile(file: url.path, dataset: "CIFAR-10-C", expected: CIFAR10C.expectedContents)
            }
        }
    }

    /// The test set of `corruption` at `severity`: `clean` corrupted in memory, or the block read
    /// from the CIFAR-10-C directory (first ``testSubset`` images).
    ///
    /// In memory, `clean.pixels: [n, C, H, W]` become NHWC ``CorruptionBatch`` images (C = 1 or 3),
    /// are corrupted with ``seed`` (image index = position in `clean`) and turned back; labels and
    /// class names are kept.
    ///
    /// - Parameters:
    ///   - clean: the clean test set (required in memory; unused from a directory).
    ///   - corruption: a name from ``corruptions``' valid set.
    ///   - severity: 1...5.
    /// - Returns: a set of `clean.count` images of `clean.imageShape` (in memory), or of
    ///   `[3, 32, 32]` images (CIFAR-10-C).
    /// - Throws: ``RobustnessError`` (unknown name, severity), ``RobustnessError/invalidParameter(name:value:expected:)``
    ///   when in memory without a clean set or with channels other than 1 and 3, `DataError` from
    ///   ``CIFAR10C/load(directory:corruptionName:severity:)``.
    public func corruptedTestSet(clean: InMemoryImageDataset?, corruption: String, severity: Int) throws -> InMemoryImageDataset {
        try Corruptions.validate(severity: severity)
        if let directory = cifar10cDirectory {
            let block = try CIFAR10C.load(directory: directory, corruptionName: corruption, severity: severity)
            if let testSubset, testSubset < block.count { return block.subset(testSubset) }
            return block
        }
        guard let clean else {
            throw RobustnessError.invalidParameter(name: "clean", value: "nil",
                                                   expected: "a clean test set to corrupt in memory (or a CIFAR-10-C directory)")
        }
        let (c, h, w) = (clean.imageShape[0], clean.imageShape[1], clean.imageShape[2])
        guard c == 1 || c == 3 else {
            throw RobustnessError.invalidParameter(name: "clean", value: "images with \(c) channels", expected: "1 (greyscale) or 3 (RGB) channels")
        }
        let batch = CorruptionBatch(count: clean.count, height: h, width: w, channels: c,
                                    pixels: Self.transpose(clean.pixels, count: clean.count, from: [c, h * w]))
        let corrupted = try batch.corrupted(by: Corruptions.named(corruption), severity: severity, seed: seed,
                                            threads: corruptionThreads)
        return InMemoryImageDataset(pixels: Self.transpose(corrupted.pixels, count: clean.count, from: [h * w, c]),
                                    labels: clean.labels, imageShape: clean.imageShape, classes: clean.classes)
    }

    /// Swaps the two axes `[a, b]` of each of `count` consecutive `a × b` blocks (NCHW ↔ NHWC).
    private static func transpose(_ pixels: [UInt8], count: Int, from shape: [Int]) -> [UInt8] {
        let (a, b) = (shape[0], shape[1])
        if a == 1 || b == 1 { return pixels }
        let per = a * b
        return [UInt8](unsafeUninitializedCapacity: pixels.count) { out, initialized in
            pixels.withUnsafeBufferPointer { src in
                for n in 0..<count {
                    let s = src.baseAddress! + n * per, d = out.baseAddress! + n * per
                    for i in 0..<a { for j in 0..<b { d[j * a + i] = s[i * b + j] } }
                }
            }
            initialized = pixels.count
        }
    }

    // MARK: - Running

    /// Evaluates several classifiers on the clean set and on every (corruption, severity) set.
    ///
    /// Each corrupted set is built once and scored by every model in turn (all models see the
    /// same images). Per model, the TTN σ is ``testSigma`` or else the model's own test σ.
    ///
    /// - Parameters:
    ///   - models: the classifiers (at least one), e.g. an ODE and an SDE of the same data set.
    ///   - clean: the clean test set: required in memory (it is what gets corrupted); from a
    ///     directory, optional and only scored for reference (its first ``testSubset`` images).
    ///   - communicator: the processes sharing the work: each set's batches are dealt over them
    ///     (every process builds every set and receives every result, equal to one process's bit
    ///     for bit; see `evaluate`).
    ///   - progress: called after every batch with (images done, images in all, stage), where
    ///     the count covers every model on the clean set and every cell, and stage names the set,
    ///     e.g. `"fog s3"`.
    /// - Returns: one result per model, in order, with cells corruption-major.
    /// - Throws: the errors of ``checkSource()`` (before any evaluation) and
    ///   ``corruptedTestSet(clean:corruption:severity:)``; ``evaluate(_:on:testSigma:ttnSamples:batchSize:seed:progress:)``'s
    ///   (e.g. a label outside the model's classes, a non-finite state).
    /// - Complexity: per model and set, (1 + K) forward passes per image (1 for ODE or σ = 0).
    public func run<Model: StochasticClassifier>(
        _ models: [Model], clean: InMemoryImageDataset?, communicator: any Communicator = SingleProcess.shared,
        progress: ((_ done: Int, _ total: Int, _ stage: String) -> Void)? = nil
    ) throws -> [CorruptionEvaluationResult] {
        guard !models.isEmpty else {
            throw RobustnessError.invalidParameter(name: "models", value: "none", expected: "at least one classifier")
        }
        try checkSource()
        var cleanSet = clean
        if cifar10cDirectory != nil, let testSubset, let c = clean, testSubset < c.count { cleanSet = c.subset(testSubset) }
        if cifar10cDirectory == nil, cleanSet == nil {
            throw RobustnessError.invalidParameter(name: "clean", value: "nil",
                                                   expected: "a clean test set to corrupt in memory (or a CIFAR-10-C directory)")
        }
        // Image count per set: known in memory; from the directory it is the block size (read lazily).
        let perSet = cifar10cDirectory == nil ? cleanSet!.count : (testSubset ?? 10_000)
        var total = models.count * ((cleanSet?.count ?? 0) + corruptions.count * severities.count * perSet)
        var done = 0
        let sigmas = models.map { testSigma ?? $0.testSigma }
        var seconds = [Double](repeating: 0, count: models.count)

        func score(_ set: InMemoryImageDataset, _ m: Int, stage: String) throws -> AccuracySummary {
            let base = done
            let result = try evaluate(models[m], on: set, testSigma: sigmas[m], ttnSamples: ttnSamples, batchSize: batchSize,
                                      seed: seed, communicator: communicator) { d, _ in progress?(base + d, total, stage) }
            done = base + set.count
            seconds[m] += result.seconds
            return AccuracySummary(result)
        }

        let cleanSummaries = try models.indices.map { m in try cleanSet.map { try score($0, m, stage: "clean") } }
        var cells = [[CorruptionCell]](repeating: [], count: models.count)
        for corruption in corruptions {
            for severity in severities {
                let set = try corruptedTestSet(clean: cleanSet, corruption: corruption, severity: severity)
                if cifar10cDirectory != nil, set.count != perSet {   // a smaller release than the official one
                    total += models.count * (set.count - perSet)
                }
                for m in models.indices {
                    let summary = try score(set, m, stage: "\(corruption) s\(severity)")
                    cells[m].append(CorruptionCell(corruption: corruption, severity: severity, summary: summary))
                }
            }
        }
        return models.indices.map { m in
            CorruptionEvaluationResult(corruptions: corruptions, severities: severities, cells: cells[m], clean: cleanSummaries[m],
                                       testSigma: sigmas[m], ttnSamples: ttnSamples,
                                       ttnIsNoisy: ttnSamples > 0 && models[m].injectsNoise(testSigma: sigmas[m]),
                                       seed: seed, batchSize: batchSize, cifar10cDirectory: cifar10cDirectory?.path,
                                       seconds: seconds[m])
        }
    }

    /// Evaluates one classifier; see ``run(_:clean:communicator:progress:)``.
    public func run<Model: StochasticClassifier>(
        _ model: Model, clean: InMemoryImageDataset?, communicator: any Communicator = SingleProcess.shared,
        progress: ((_ done: Int, _ total: Int, _ stage: String) -> Void)? = nil
    ) throws -> CorruptionEvaluationResult {
        try run([model], clean: clean, communicator: communicator, progress: progress)[0]
    }
}
