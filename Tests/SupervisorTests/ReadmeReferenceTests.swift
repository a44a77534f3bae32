import Foundation
import Testing

@testable import Supervisor

/// The README's topology-key reference is `tilectl reference`'s output, so a
/// key added, renamed or given another default shows up in both or fails here.
struct ReadmeReferenceTests {
    @Test func readmeCarriesTheReferenceVerbatim() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let begin = "<!-- reference:begin -->\n", end = "<!-- reference:end -->"
        guard let b = text.range(of: begin), let e = text.range(of: end, range: b.upperBound..<text.endIndex) else {
            Issue.record("README.md has no \(begin.dropLast()) … \(end) block")
            return
        }
        let inReadme = String(text[b.upperBound..<e.lowerBound])
        #expect(
            inReadme == ReferenceCommand.markdown(Registry.production),
            "README.md's reference differs from `tilectl reference`: regenerate the block between the markers")
    }
}
