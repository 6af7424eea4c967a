// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "NeuralSDE",
    products: [
        .library(name: "NeuralSDE", targets: ["NeuralSDE"]),
        .library(name: "NSDETensor", targets: ["NSDETensor"]),
        .library(name: "NSDENN", targets: ["NSDENN"]),
        .library(name: "NSDECore", targets: ["NSDECore"]),
        .library(name: "NSDEData", targets: ["NSDEData"]),
        .library(name: "NSDEModels", targets: ["NSDEModels"]),
        .library(name: "NSDEDistributed", targets: ["NSDEDistributed"]),
        .library(name: "NSDEPlot", targets: ["NSDEPlot"]),
        .library(name: "NSDETraining", targets: ["NSDETraining"]),
        .library(name: "NSDERobustness", targets: ["NSDERobustness"]),
        .library(name: "NSDEStability", targets: ["NSDEStability"]),
        .library(name: "NSDEExperiments", targets: ["NSDEExperiments"]),
        .executable(name: "nsde", targets: ["nsde"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - System libraries (module maps only)
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // MARK: - Layers of the library, lowest first
        // Elementwise kernels compiled per instruction-set level (AVX-512 / AVX2 / baseline),
        // picked at load time; -fno-math-errno lets sqrt vectorise.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        .target(name: "NSDETensor", dependencies: ["CBLAS", "CDNNL", "CKernels"]),
        .target(name: "NSDENN", dependencies: ["NSDETensor"]),
        .target(name: "NSDECore", dependencies: ["NSDETensor", "NSDENN"]),
        .target(name: "NSDEData", dependencies: ["NSDETensor", "CZlib"]),
        .target(name: "NSDEModels", dependencies: ["NSDETensor", "NSDENN", "NSDECore", "NSDEData"]),
        // Several processes under an MPI launcher (mpirun, srun): the Communicator of NSDENN over Open MPI.
        .target(name: "NSDEDistributed", dependencies: ["CMPI", "NSDENN"]),
        .target(name: "NSDEPlot"),
        .target(name: "NSDETraining", dependencies: ["NSDETensor", "NSDENN", "NSDECore", "NSDEData", "NSDEModels", "NSDEPlot"]),
        .target(name: "NSDEStability", dependencies: ["NSDETensor", "NSDENN", "NSDECore", "NSDEModels", "NSDEPlot"]),
        .target(name: "NSDERobustness", dependencies: ["NSDETensor", "NSDENN", "NSDECore", "NSDEData", "NSDEModels", "NSDEPlot",
                                                      "NSDETraining", "CJPEG"]),
        .target(name: "NSDEExperiments", dependencies: ["NSDETensor", "NSDENN", "NSDECore", "NSDEData", "NSDEModels", "NSDEPlot",
                                                       "NSDETraining", "NSDERobustness", "NSDEStability"]),
        .target(name: "NeuralSDE", dependencies: ["NSDETensor", "NSDENN", "NSDECore", "NSDEData", "NSDEModels", "NSDEPlot",
                                                  "NSDETraining", "NSDERobustness", "NSDEStability", "NSDEExperiments",
                                                  "NSDEDistributed"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "nsde",
            dependencies: [
                "NeuralSDE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .target(name: "NSDETestSupport", dependencies: ["NSDETensor", "NSDEData", "NSDEModels", "NSDETraining", "NSDERobustness"],
                path: "Tests/NSDETestSupport"),
        .testTarget(name: "NSDETensorTests", dependencies: ["NSDETensor", "NSDETestSupport"]),
        .testTarget(name: "NSDENNTests", dependencies: ["NSDENN", "NSDETestSupport"]),
        .testTarget(name: "NSDECoreTests", dependencies: ["NSDECore", "NSDETestSupport"]),
        .testTarget(name: "NSDEDataTests", dependencies: ["NSDEData"]),
        .testTarget(name: "NeuralSDETests", dependencies: ["NeuralSDE", "NSDETestSupport"]),
        .testTarget(name: "NSDEModelsTests", dependencies: ["NSDEModels", "NSDEData", "NSDETestSupport"]),
        .testTarget(name: "NSDEPlotTests", dependencies: ["NSDEPlot", "NSDETestSupport"]),
        .testTarget(name: "NSDETrainingTests", dependencies: ["NSDETraining", "NSDETestSupport"]),
        .testTarget(name: "NSDERobustnessTests", dependencies: ["NSDERobustness", "NSDETestSupport"]),
        .testTarget(name: "NSDEStabilityTests", dependencies: ["NSDEStability", "NSDETestSupport"]),
        .testTarget(name: "NSDEExperimentsTests", dependencies: ["NSDEExperiments", "NSDETestSupport"]),
        // The `nsde` command line: every test that runs the binary (contracts, errors, exit codes).
        .testTarget(name: "NSDECommandLineTests", dependencies: ["NeuralSDE", "NSDETestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
