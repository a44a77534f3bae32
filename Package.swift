// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tilectl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tilectl", targets: ["Supervisor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // The few calls Swift cannot make (variadic prctl/syscall, pivot_root,
        // landlock, relaxed atomics on raw shared memory).
        .target(name: "CShim"),
        // System libraries, reached through module maps (Debian libseccomp-dev, libcap-dev).
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),
        .target(
            name: "Shared",
            dependencies: ["CShim", "CSeccomp", "CCap", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(name: "MetricTile", dependencies: ["Shared", "CShim"]),
        .target(name: "Tiles", dependencies: ["Shared", "CShim"]),
        .executableTarget(
            name: "Supervisor",
            dependencies: [
                "Shared", "MetricTile", "Tiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SharedTests", dependencies: ["Shared"], path: "Tests/SharedTests"),
    ],
    swiftLanguageModes: [.v6]
)
