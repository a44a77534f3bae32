// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tilectl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tilectl", targets: ["tilectl"]),
        // For fuzz/ only (its own package): the parser, the loader and the
        // kinds. Nothing in them is public; the harnesses `@testable import`
        // them (fuzz/run.sh builds with -enable-testing).
        .library(name: "TilectlCore", targets: ["TOML", "Shared", "MetricTile", "GuiTile", "Tiles", "Supervisor"]),
        // For a tile author's own package (Examples/CustomTile): `import TilectlKit`.
        .library(name: "Tilectl", targets: ["TilectlKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"4.0.0"),
    ],
    targets: [
        // The few calls Swift cannot make (variadic prctl/syscall, pivot_root,
        // landlock, relaxed atomics on raw shared memory).
        .target(name: "CShim"),
        // System libraries, reached through module maps (Debian libseccomp-dev, libcap-dev).
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // TOML 1.0, parsed in Swift: bounded, positions for every key and value.
        .target(name: "TOML"),
        .target(name: "Shared", dependencies: ["CShim", "CSeccomp", "CCap", "TOML"], plugins: ["BuildInfo"]),
        // Stamps Shared with the git commit it is built from (BuildInfo.commit).
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .target(name: "MetricTile", dependencies: ["Shared", "CShim", "CZlib", "CDeflate"]),
        // The live page: its files (Assets/) embedded at build time by EmbedAssets.
        .target(name: "GuiTile", dependencies: ["Shared", "MetricTile", "CShim"], exclude: ["Assets"], plugins: ["EmbedAssets"]),
        .plugin(name: "EmbedAssets", capability: .buildTool()),
        .target(name: "Tiles", dependencies: ["Shared", "CShim", .product(name: "Crypto", package: "swift-crypto")]),
        // The supervisor and the commands; the executables below only pick
        // which tile kinds they know.
        .target(
            name: "Supervisor",
            dependencies: [
                "Shared", "MetricTile", "GuiTile", "Tiles", "CShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "tilectl", dependencies: ["Supervisor"]),
        .target(name: "TilectlKit", dependencies: ["Shared", "Supervisor"]),
        // tilectl plus a test-only tile kind that tries to escape its
        // sandbox. Built for the integration tests; never part of `tilectl`.
        .target(name: "TestbedShim", path: "Tests/TestbedShim"),
        .executableTarget(
            name: "tilectl-testbed", dependencies: ["Supervisor", "Shared", "MetricTile", "CShim", "TestbedShim"],
            path: "Tests/Testbed"),
        // Benchmarks: they print tables; see bench/README.md.
        .target(name: "BenchShim", path: "bench/BenchShim"),
        .executableTarget(name: "tilectl-bench-link", dependencies: ["Shared", "CShim", "BenchShim"], path: "bench/LinkBench"),
        .executableTarget(
            name: "tilectl-bench-stem", dependencies: ["Supervisor", "Shared", "MetricTile", "Tiles"], path: "bench/StemBench"),
        .executableTarget(
            name: "tilectl-bench-render", dependencies: ["Shared", "MetricTile", "Tiles"],
            path: "bench/RenderBench"),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"], exclude: ["toml-test"]),
        .testTarget(name: "SharedTests", dependencies: ["Shared", "MallocCounter"]),
        // Counts each thread's heap allocations (interposed malloc), for the
        // test that a scrape allocates nothing.
        .target(name: "MallocCounter", path: "Tests/MallocCounter"),
        // Loopback listeners and clients, for the tests that drive an HTTP server.
        .target(name: "Loopback", path: "Tests/Loopback"),
        .testTarget(name: "MetricTileTests", dependencies: ["MetricTile", "Shared", "CZlib", "MallocCounter", "Loopback"]),
        .testTarget(name: "GuiTileTests", dependencies: ["GuiTile", "MetricTile", "Shared", "CZlib", "MallocCounter", "Loopback"]),
        .testTarget(name: "SupervisorTests", dependencies: ["Supervisor", "Shared", "MetricTile", "Tiles"]),
        // Boots real topologies as root and talks to them as a user does.
        .testTarget(name: "IntegrationTests", dependencies: ["Shared", "CZlib"]),
    ],
    swiftLanguageModes: [.v6]
)
