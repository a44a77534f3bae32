// swift-tools-version:6.0
// A tile author's own package: one tile kind of its own (`ticker`), built
// into an executable that runs it beside tilectl's shipped kinds.
import PackageDescription

let package = Package(
    name: "CustomTile",
    platforms: [.macOS(.v13)],
    dependencies: [
        // In your package: .package(url: "<where tilectl lives>", from: "0.1.0")
        .package(name: "tilectl", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "tilectl-custom", dependencies: [.product(name: "Tilectl", package: "tilectl")],
            path: "Sources/tilectl-custom")
    ],
    swiftLanguageModes: [.v6]
)
