#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shared

/// The topology as a Graphviz digraph: a node per tile, an edge per link
/// instance and consumer, labelled with the link's depth and mtu
/// (unreliable links dashed).
enum TopologyGraph {
    static func dot(_ t: Topology, kinds: TileKinds) -> String {
        func quote(_ s: String) -> String { "\"" + s.replacing("\"", with: "\\\"") + "\"" }
        var out = "digraph \(quote(t.name)) {\n"
        out += "  rankdir=LR;\n"
        out += "  graph [fontname=\"Helvetica\", label=\(quote("topology \(t.name)")), labelloc=t];\n"
        out += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8eef8\", color=\"#5b6b86\", fontname=\"Helvetica\"];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#5b6b86\"];\n"
        for tile in t.tiles {
            if let label = kinds[tile.kind]?.graphLabel(tile) {
                let lines = label.split(separator: "\n").joined(separator: "\\n")
                out += "  \(quote(tile.name)) [fillcolor=\"#fbefd9\", label=\(quote("\(tile.name)\\n\(lines)"))];\n"
            } else {
                out += "  \(quote(tile.name));\n"
            }
        }
        for link in t.links {
            for consumer in link.consumers {
                var attrs = "label=\(quote("\(link.label)\\ndepth \(link.depth), mtu \(link.mtu)"))"
                if !consumer.reliable { attrs += ", style=dashed" }
                out += "  \(quote(t.tiles[link.producer].name)) -> \(quote(t.tiles[consumer.tile].name)) [\(attrs)];\n"
            }
        }
        return out + "}\n"
    }

    /// Runs Graphviz's `dot -Tsvg`; one line naming the fix when it is missing.
    static func renderSVG(_ dot: String, to path: String) throws {
        let searchPath = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        let candidates: [String] = searchPath.map { dir in "\(dir)/dot" }
        guard let exe = candidates.first(where: { path in access(path, X_OK) == 0 }) else {
            throw RuntimeError(
                "Graphviz is not installed (no `dot` on PATH); install it (Debian: apt-get install graphviz), "
                    + "or print the digraph with --graph and render it elsewhere")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-Tsvg", "-o", path]
        let input = Pipe()
        let errors = Pipe()
        p.standardInput = input
        p.standardError = errors
        try p.run()
        input.fileHandleForWriting.write(Data(dot.utf8))
        try input.fileHandleForWriting.close()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw RuntimeError("dot -Tsvg -o \(path) failed (exit \(p.terminationStatus)): \(message.trimmingWhitespace)")
        }
    }
}
