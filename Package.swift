// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "ddp-train",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ddp-train", targets: ["ddp-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: - C libraries (Debian: libopenmpi-dev, libopenblas-dev, libzstd-dev, zlib1g-dev, libdnnl-dev, libpng-dev, libturbojpeg0-dev)
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // oneDNN's convolutions, loaded at run time when libdnnl.so.2 is there (Debian: libdnnl-dev).
        .target(name: "COneDNN", linkerSettings: [.linkedLibrary("dl")]),
        // PNG and JPEG decoding for image folders and tar shards (Debian: libpng-dev, libturbojpeg0-dev).
        .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("turbojpeg")]),

        // 16-bit float conversions and sums (F16C when present) for --grad-compression.
        .target(name: "CHalf"),
        // A futex barrier for the ranks of one host, in their shared-memory window.
        .target(name: "CHostBarrier"),

        // MARK: - Library targets, each depending only on those above it (docs/architecture.md)
        // Crash-safe writes and whole-file reads, for checkpoints, run files and flight records.
        .target(name: "Files"),
        // Options (one definition each), their values, the command line's and config files' parsers.
        .target(name: "Settings"),
        .target(name: "Tensor", dependencies: ["CBLAS", "COneDNN"]),
        .target(name: "NN", dependencies: ["Tensor", "Settings"]),
        .target(name: "Losses", dependencies: ["Tensor", "Settings"]),
        .target(name: "Distributed", dependencies: ["CMPI", "CHalf", "CHostBarrier", "Files"]),
        .target(name: "Checkpoint", dependencies: ["CZstd", "Files"]),
        .target(name: "Data", dependencies: ["CZlib", "CImageCodecs", "Tensor", "Distributed", "Settings"]),
        .target(name: "Explain", dependencies: ["CZlib", "Tensor", "NN"]),
        // ONNX's protobuf messages, generated once from onnx.proto (Sources/ONNX/generate.sh).
        .target(name: "ONNX", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["onnx.proto", "generate.sh"]),
        .target(name: "Training", dependencies: ["Files", "Settings", "Tensor", "NN", "Losses", "Distributed", "Data", "Checkpoint"]),
        // What is not training: reports, verifiers, diagnostics, explanation jobs, export.
        .target(name: "Tools", dependencies: ["Files", "Settings", "Tensor", "NN", "Losses", "Distributed", "Data", "Checkpoint",
                                             "Explain", "ONNX", "Training", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .executableTarget(
            name: "ddp-train",
            dependencies: [
                "Files", "Settings", "Tensor", "NN", "Losses", "Distributed", "Data", "Checkpoint", "Explain", "Training", "Tools",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // libFuzzer targets for the readers of outside input; Tests/fuzz/run.sh builds and runs them.
        .executableTarget(name: "fuzz-inputs", dependencies: ["Settings", "Data", "Checkpoint", "Training"]),
        // A test harness (Tests/mpi/test-checkpoint.sh): writes checkpoints in a loop while the test kills it.
        .executableTarget(name: "checkpoint-stress", dependencies: ["Checkpoint", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: - Single-process tests (`swift test`); multi-rank tests are Tests/mpi/*.sh
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CBLAS", "COneDNN"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"]),
        .testTarget(name: "LossesTests", dependencies: ["Losses", "Tensor", "Settings"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "CHalf", "CHostBarrier"]),
        .testTarget(name: "DataTests", dependencies: ["Data", "Distributed", "Explain", "Tensor"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"]),
        .testTarget(name: "ExplainTests", dependencies: ["Explain", "NN", "Tensor", "CZlib"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Settings", "NN", "Checkpoint", "Tensor", "Data"]),
        .testTarget(name: "ToolsTests", dependencies: ["Tools", "Training", "Settings"]),
    ]
)
