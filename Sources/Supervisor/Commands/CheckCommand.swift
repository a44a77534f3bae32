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

    @Flag(help: "Also print each tile kind's sandbox: user, namespaces, descriptors, rlimits and seccomp allowlist.")
    var sandbox = false

    @Flag(help: "Print the topology as a Graphviz digraph instead (tiles as nodes, links as edges).")
    var graph = false

    @Option(name: .customLong("graph-svg"), help: ArgumentHelp("Render the digraph to an SVG file with Graphviz's dot.", valueName: "file"))
    var graphSVG: String?

    func run() throws {
        let topology = try config.load()
        if graph || graphSVG != nil {
            let dot = TopologyGraph.dot(topology)
            if let graphSVG { try TopologyGraph.renderSVG(dot, to: graphSVG) } else { print(dot, terminator: "") }
            return
        }
        let plan = try ShmemPlanner.plan(topology, kinds: tileKinds, configPath: config.config, mode: .preview)
        print(Self.report(topology, plan), terminator: "")
        if sandbox { print("\n" + Self.sandboxReport(topology), terminator: "") }
    }

    /// Per tile kind, what `Sandbox.enter` will do to each of its tiles.
    static func sandboxReport(_ t: Topology) -> String {
        var out = ""
        var seen: [String] = []
        for tile in t.tiles where !seen.contains(tile.kind) {
            seen.append(tile.kind)
            let p = SandboxProfile(kind: tileKinds[tile.kind]!, topology: t)
            let count = t.tiles(ofKind: tile.kind).count
            out += "sandbox of \(tile.kind) (\(count) tile\(count == 1 ? "" : "s"))\n"
            out += "  user          \(p.user.name) (uid \(p.user.uid), gid \(p.user.gid)); no supplementary groups\n"
            out += "  namespaces    own: \(p.unsharedNamespaces.joined(separator: ", ")), then a nested user namespace "
                + "that cannot create any more; shared: \(p.sharedNamespaces.joined(separator: ", "))\n"
            out += "  root          an empty, read-only tmpfs (pivot_root); environment cleared; new session\n"
            out += "  descriptors   \(p.descriptorRoles.map(\.name).joined(separator: ", "))\n"
            out += "  capabilities  none (effective, permitted, inheritable, bounding, ambient); securebits locked; "
                + "no_new_privs; not dumpable\n"
            out += "  landlock      no filesystem access, no TCP bind or connect, no signal or abstract socket outside the tile\n"
            out += "  rlimits\n"
            var rows: [[String]] = []
            for l in p.resourceLimits { rows.append(["    " + l.name, l.value.map(String.init) ?? "-", l.reason]) }
            out += table(rows)
            out += "  seccomp       \(p.policy.syscalls.count) syscalls allowed, anything else kills the process\n"
            rows = []
            for r in p.policy.rules {
                rows.append(["    " + r.syscall, r.conditions.isEmpty ? "any arguments" : r.conditions.map(\.description).joined(separator: " && "),
                             r.reason])
            }
            out += table(rows) + "\n"
        }
        return out
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

        if !t.links.isEmpty {
            rows = [["LINK", "PRODUCER", "CONSUMERS", "DEPTH", "MTU", "RELIABLE"]]
            for link in t.links {
                rows.append([link.label, t.tiles[link.producer].name,
                             link.consumers.map { t.tiles[$0.tile].name }.joined(separator: " "),
                             String(link.depth), String(link.mtu), link.reliable ? "yes" : "no"])
            }
            out += table(rows) + "\n"
        }

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
