// swift-tools-version:6.0
// The Swift peer of bench/scrape-bench.sh: swift-prometheus rendering the
// metric tile's families behind Hummingbird. Its own package, so that
// tilectl never depends on either. Linux only.
import PackageDescription

let package = Package(
    name: "SwiftPeer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swift-peer", targets: ["swift-peer"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "swift-peer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
