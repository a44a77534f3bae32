import Foundation
import Testing

/// The tree has one formatter configuration (`.swift-format`), and every
/// Swift file follows it: a change carries no reformatting of lines it did
/// not touch, and style is not argued in review.
struct SourceFormatTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let paths = ["Package.swift", "Sources", "Tests", "bench", "fuzz/Package.swift", "fuzz/Sources"]

    /// swift-format ships with the Swift toolchain, beside `swift`.
    static func swiftFormat() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/opt/swift/usr/bin", "/usr/bin"]
        return dirs.map { $0 + "/swift-format" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func everySwiftFileFollowsTheConfiguration() throws {
        let tool = try #require(Self.swiftFormat(), "swift-format is not on PATH (it ships with the Swift toolchain)")
        let (status, text) = try runTool(
            tool, ["lint", "--strict", "--configuration", ".swift-format", "--recursive"] + Self.paths, in: Self.root)
        let findings = text.split(separator: "\n")
        #expect(
            status == 0 && findings.isEmpty,
            """
            \(findings.count) formatting findings, first: \(findings.prefix(5).joined(separator: "\n"))
            fix: swift-format format --configuration .swift-format --in-place --recursive \(Self.paths.joined(separator: " "))
            """)
    }
}
