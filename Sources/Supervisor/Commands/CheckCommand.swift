import ArgumentParser
import Shared

/// `tilectl check --config F`: validates a topology file and prints what it
/// resolves to, without changing anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a topology file and print the resolved topology: tiles, workspaces, page sizes.",
        discussion: "Changes nothing and needs no privilege. Exit status 0 when the file is valid, 2 when not.")

    @OptionGroup var config: ConfigOption

    func run() throws {
        let topology = try config.load()
        let plan = try ShmemPlanner.plan(topology, kinds: tileKinds, configPath: config.config, mode: .preview)
        print(Self.report(topology, plan), terminator: "")
    }

    static func report(_ t: Topology, _ plan: ShmemPlan) -> String {
        var out = ""
        let kinds = Set(t.tiles.map(\.kind)).count
        out += "topology \"\(t.name)\" (\(t.source)): \(t.tiles.count) tiles of \(kinds) kinds\n"
        out += "  user        \(t.user.name) (uid \(t.user.uid), gid \(t.user.gid))\n"
        out += "  log         stderr \(t.log.levelStderr.rawValue)"
            + (t.log.path.map { ", file \($0) (\(t.log.levelLogfile.rawValue))" } ?? ", no log file") + "\n"
        out += "  idle        \(t.layout.idle.rawValue)\n"
        out += "  page size   \(t.shmem.pageSize.rawValue): \(plan.notices.joined(separator: "; "))\n\n"

        var rows = [["TILE", "KIND", "KIND_ID", "OPTIONS"]]
        for tile in t.tiles {
            let opts = tile.options.keys.sorted().map { "\($0)=\(tile.options[$0]!)" }.joined(separator: " ")
            rows.append([tile.name, tile.kind, String(tile.kindId), opts])
        }
        out += table(rows) + "\n"

        rows = [["WORKSPACE", "FOOTPRINT", "PAGE SIZE", "PAGES", "FILE"]]
        for w in plan.layout.workspaces {
            rows.append([w.name, formatBytes(w.footprint), w.pageSize.label, String(w.pageCount), w.path])
        }
        rows.append(["total", formatBytes(plan.layout.totalFootprint), "", "", ""])
        out += table(rows)
        return out
    }

    /// Left-aligned columns, two blanks apart.
    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            var line = ""
            for (c, cell) in row.enumerated() {
                line += c == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[c] - cell.count + 2)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }.joined()
    }
}
