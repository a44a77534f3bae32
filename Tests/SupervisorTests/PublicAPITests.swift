import Foundation
import Testing

/// The `Tilectl` library's public API is what docs/public-api.txt lists, and
/// every public symbol has a doc comment: a symbol made public (or removed)
/// by accident fails here, so an API change is always a deliberate one
/// (README: semantic versioning). Read from the modules this test run built.
struct PublicAPITests {
    @Test func thePublicAPIIsTheBaselineAndEverySymbolIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // The test bundle sits in the build directory (or one level below it).
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let buildDir = [bundleDir, bundleDir.deletingLastPathComponent()].first {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("Modules/Shared.swiftmodule").path)
        }
        let build = try #require(buildDir, "no Modules/Shared.swiftmodule beside \(bundleDir.path)")

        let (status, text) = try runTool(
            "/usr/bin/env",
            [
                "python3", root.appendingPathComponent("scripts/public-api.py").path, "--build-dir", build.path,
                "--check", root.appendingPathComponent("docs/public-api.txt").path,
            ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("public symbols, each documented"), "\(text)")
    }
}
