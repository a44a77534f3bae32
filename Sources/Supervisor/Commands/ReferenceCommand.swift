import ArgumentParser
import Shared

/// `tilectl reference`: every topology key, its type, default and meaning,
/// as Markdown. The README's reference is this output.
struct ReferenceCommand: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference",
        abstract: "Print every topology-file key with its type, default and meaning (Markdown).")

    func run(kinds: TileKinds) throws {
        print(Self.markdown(kinds), terminator: "")
    }

    static func markdown(_ kinds: TileKinds) -> String {
        var out = ""
        func section(_ title: String, _ note: String?, _ keys: [TileOption]) {
            out += "#### \(title)\n\n"
            if let note { out += note + "\n\n" }
            guard !keys.isEmpty else { out += "No options.\n\n"; return }
            out += "| key | type | default | meaning |\n|---|---|---|---|\n"
            for k in keys {
                let def: String
                switch (k.type, k.defaultValue) {
                case (.linkNames, _): def = "`[]`"
                case (_, .string(let s)): def = "`\"\(s)\"`"
                default: def = "`\(k.defaultValue)`"
                }
                out += "| `\(k.key)` | \(k.typeDescription) | \(def) | \(k.help) |\n"
            }
            out += "\n"
        }
        section("Top level", nil, TopologyKeys.top)
        section("`[log]`", nil, TopologyKeys.log)
        section("`[shmem]`", nil, TopologyKeys.shmem)
        section("`[layout]`", nil, TopologyKeys.layout)
        section(
            "`[links.<name>]`", "One table per link; the name is 1 to 32 of a-z, 0-9, `_`, starting with a letter.",
            TopologyKeys.link)
        let required = kinds.all.filter { $0.requiredBecause != nil }.map { "`[tiles.\($0.kind)]`" }
        section(
            "`[tiles.<kind>]`, every kind",
            "One table per tile kind" + (required.isEmpty ? "." : "; \(required.joined(separator: ", ")) is required."),
            TopologyKeys.tile)
        for kind in kinds.all {
            func range(_ r: ClosedRange<Int>) -> String {
                r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"
            }
            section(
                "`[tiles.\(kind.kind)]`",
                "\(kind.summary.prefix(1).uppercased() + kind.summary.dropFirst()). At most \(kind.maxCount) tile\(kind.maxCount == 1 ? "" : "s"); "
                    + "inputs: \(range(kind.inputs)), outputs: \(range(kind.outputs)).",
                kind.options)
        }
        return out
    }
}
