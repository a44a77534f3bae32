// swift-tools-version:6.0
//
// libFuzzer harnesses for tilectl's pure input-facing functions: the HTTP
// request-head parser, the TOML parser and the topology loader. A package of its own, so the
// main package's build and tests never see sanitizer flags. See README.md;
// run.sh builds and runs both.
import PackageDescription

let package = Package(
    name: "tilectl-fuzz",
    dependencies: [
        .package(name: "tilectl", path: ".."),
    ],
    targets: [
        // Failure reporting, exact-size input copies, the reproducer entry point.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"]),
        // The declaration of LLVMFuzzerRunDriver.
        .target(name: "CLibFuzzer"),
        // HTTPRequestParser.parse over arbitrary bytes.
        .executableTarget(
            name: "FuzzHTTP",
            dependencies: ["FuzzSupport", .product(name: "TilectlCore", package: "tilectl")]
        ),
        // TOMLDocument(bytes:) over arbitrary bytes: the TOML grammar alone.
        .executableTarget(
            name: "FuzzTOML",
            dependencies: ["FuzzSupport", .product(name: "TilectlCore", package: "tilectl")]
        ),
        // TopologyLoader(kinds: Registry.production).load(bytes:path:) over arbitrary bytes.
        .executableTarget(
            name: "FuzzTopology",
            dependencies: ["FuzzSupport", .product(name: "TilectlCore", package: "tilectl")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
