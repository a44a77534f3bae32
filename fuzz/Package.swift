// swift-tools-version:6.0
//
// libFuzzer harnesses for tilectl's pure input-facing functions: the HTTP
// request-head parser, the TOML parser and the topology loader; and a
// differential one for the metric tile's gzip encoder. A package of its own, so the
// main package's build and tests never see sanitizer flags. See README.md;
// run.sh builds and runs both.
import PackageDescription

let package = Package(
    name: "tilectl-fuzz",
    dependencies: [
        .package(name: "tilectl", path: "..")
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
        // The gui tile's request classifier over every head the parser accepts.
        .executableTarget(
            name: "FuzzGuiRequest",
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
        // zlib, to inflate what FuzzDeflate's encoder wrote (the main package's
        // CZlib is not a product): inflateInit2, a macro, through a wrapper.
        .systemLibrary(name: "CFuzzZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // ExpositionGzip.render over schemas, values and formats built from the
        // bytes, against ExpositionPlan.render and zlib's inflate.
        .executableTarget(
            name: "FuzzDeflate",
            dependencies: ["FuzzSupport", "CFuzzZlib", .product(name: "TilectlCore", package: "tilectl")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
