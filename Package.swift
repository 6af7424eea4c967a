// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "NeuralSDE",
    products: [
        .library(name: "NeuralSDE", targets: ["NeuralSDE"]),
        .library(name: "NSDETensor", targets: ["NSDETensor"]),
        .library(name: "NSDENN", targets: ["NSDENN"]),
        .library(name: "NSDEData", targets: ["NSDEData"]),
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

        // MARK: - Layers of the library, lowest first
        .target(name: "NSDETensor", dependencies: ["CBLAS", "CDNNL"]),
        .target(name: "NSDENN", dependencies: ["NSDETensor"]),
        .target(name: "NSDEData", dependencies: ["NSDETensor", "CZlib"]),
        .target(name: "NeuralSDE", dependencies: ["NSDETensor", "NSDENN", "NSDEData"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "nsde",
            dependencies: [
                "NeuralSDE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "NSDETensorTests", dependencies: ["NSDETensor"]),
        .testTarget(name: "NSDENNTests", dependencies: ["NSDENN"]),
        .testTarget(name: "NSDEDataTests", dependencies: ["NSDEData"]),
    ],
    swiftLanguageModes: [.v5]
)
