#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CShim
import Shared

/// `tilectl check --config F`: validates a topology file and prints what it
/// resolves to, without changing anything.
struct CheckCommand: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a topology file and print the resolved topology: tiles, workspaces, page sizes.",
        discussion: "Changes nothing and needs no privilege. Exit status 0 when the file is valid, 2 when not, 1 when the "
            + "sandbox report or the graph cannot be made (a filter that does not compile, dot missing).")

    @OptionGroup var config: ConfigOption

    @Flag(help: "Also print each tile kind's sandbox: user, namespaces, descriptors, rlimits and seccomp allowlist.")
    var sandbox = false

    @Flag(help: "Print the report as JSON instead (schema: docs/schema/check.schema.json); with --sandbox, the sandboxes too.")
    var json = false

    @Flag(help: "Print the topology as a Graphviz digraph instead (tiles as nodes, links as edges).")
    var graph = false

    @Option(name: .customLong("graph-svg"), help: ArgumentHelp("Render the digraph to an SVG file with Graphviz's dot.", valueName: "file"))
    var graphSVG: String?

    func validate() throws {
        if json && (graph || graphSVG != nil) { throw ValidationError("--json and --graph/--graph-svg are different outputs: pick one") }
    }

    func run(kinds: TileKinds) throws {
        let topology = try config.load(kinds)
        if json {
            let plan = try ShmemPlanner.plan(topology, kinds: kinds, configPath: config.config, mode: .preview)
            try JSONOutput.print(try CheckJSON(topology, plan, kinds: kinds, sandbox: sandbox))
            return
        }
        if graph || graphSVG != nil {
            let dot = TopologyGraph.dot(topology, kinds: kinds)
            if let graphSVG { try TopologyGraph.renderSVG(dot, to: graphSVG) } else { print(dot, terminator: "") }
            return
        }
        let plan = try ShmemPlanner.plan(topology, kinds: kinds, configPath: config.config, mode: .preview)
        print(Self.report(topology, plan), terminator: "")
        if sandbox { print("\n" + (try Self.sandboxReport(topology, kinds: kinds)), terminator: "") }
    }

    /// Where a tile runs: its CPU, the CPUs it floats over, or `any`.
    static func cpus(_ tile: TileSpec) -> String {
        switch tile.cpus.count {
        case 0: "any"
        case 1: String(tile.cpus[0])
        default: "\(Affinity.format(tile.cpus)) (floating)"
        }
    }

    /// One tile kind's sandbox, from the same profile it enters with.
    struct KindSandbox {
        let kind: String
        let tiles: [TileSpec]
        /// Who its tiles run as, in words.
        let who: String
        let profile: SandboxProfile
        let exposure: ExposureReport
        /// Compiled for the profile's descriptors: the seccomp lines are
        /// read back from it.
        let filter: SeccompFilter
    }

    /// The reaper's or the supervisor's confinement, with when it begins
    /// and what its Landlock domain allows.
    struct ConfinementReport {
        let confinement: Confinement
        let when: String
        let filesystem: String
    }

    /// Every kind's sandbox, then the reaper's and the supervisor's
    /// confinement: what the text report and `--json` both show.
    static func sandboxes(_ t: Topology, kinds: TileKinds) throws -> (
        landlock: Int32?, kinds: [KindSandbox], confinements: [ConfinementReport]
    ) {
        let abi = Landlock.abiVersion()
        let landlock: Int32? = abi > 0 ? abi : nil
        let uids = t.user == .dynamic && geteuid() == 0 ? TileIdentities.preview(t) : []
        var out: [KindSandbox] = []
        for tile in t.tiles where !out.contains(where: { $0.kind == tile.kind }) {
            let p = SandboxProfile(kind: kinds[tile.kind]!, topology: t)
            let tiles = t.tiles(ofKind: tile.kind)
            let identity: ExposedIdentity
            let who: String
            let me = geteuid()
            switch t.user {
            case _ where me != 0:
                identity = .invokingUser
                let name = getpwuid(me).map { String(cString: $0.pointee.pw_name) } ?? "uid \(me)"
                who =
                    "\(name) (uid \(me)), the invoking user: without root tiles cannot switch users, and the invoking "
                    + "user owns their user namespaces (it can ptrace and signal them)"
            case .dynamic:
                identity = .own
                who =
                    tiles.map { x in
                        let i = t.tiles.firstIndex(of: x)!
                        return i < uids.count ? "\(x.name) uid \(uids[i])" : x.name
                    }.joined(separator: ", ") + " (reserved at start, gid = uid; each its own); no supplementary groups"
            case .named(let u):
                identity = .shared(u.name)
                who = "\(u.name) (uid \(u.uid), gid \(u.gid)), every tile; no supplementary groups"
            }
            out.append(
                KindSandbox(
                    kind: tile.kind, tiles: tiles, who: who, profile: p,
                    exposure: Exposure.tile(p, identity: identity, landlockABI: landlock), filter: try p.filter()))
        }
        let fake = { (n: Int32) in FileDescriptor(rawValue: n) }
        let confinements = [
            ConfinementReport(
                confinement: Reaper.confinement(control: fake(5), report: fake(6)),
                when: "pid 1 of the tiles' PID namespace, once every tile is started", filesystem: "none (an empty root)"),
            ConfinementReport(
                confinement: Confinement(
                    "supervisor", policy: Supervisor.policy(reaper: 2),
                    descriptors: [
                        .stderr: .standardError, Supervisor.signalsRole: fake(5),
                        Supervisor.controlRole: fake(6), Supervisor.reportRole: fake(7),
                        ServiceNotifier.socketRole: fake(8), ServiceNotifier.readyRole: fake(9), .logFile: fake(10),
                        Supervisor.logDirectoryRole: fake(11),
                    ],
                    namespaces: Supervisor.confinedNamespaces, emptyRoot: false),
                when: "once the reaper is started",
                filesystem: "remove files in its workspace directories and its lock; "
                    + "read and write the huge page ledger and pool when it reserved pages"),
        ]
        return (landlock, out, confinements)
    }

    /// Per tile kind, what `Sandbox.enter` will do to each of its tiles;
    /// then the reaper's and the supervisor's confinement.
    static func sandboxReport(_ t: Topology, kinds: TileKinds) throws -> String {
        let (landlock, sandboxes, confinements) = try Self.sandboxes(t, kinds: kinds)
        var out =
            "Landlock on this kernel: "
            + (landlock.map { "ABI \($0)" } ?? "NOT AVAILABLE (\(Errno.name(errno))): tiles run without that layer") + "\n"
        let me = geteuid()
        for k in sandboxes {
            let p = k.profile
            out +=
                "\nsandbox of \(k.kind) (\(k.tiles.count) tile\(k.tiles.count == 1 ? "" : "s")): exposure \(String(format1: k.exposure.score)) \(k.exposure.level)\n"
            out += "  runs as       \(k.who)\n"
            out +=
                "  namespaces    own: \(SandboxProfile.unsharedNamespaces.joined(separator: ", ")), then a nested user namespace "
                + "that cannot create any more; shared: pid (the topology's own)\n"
            out +=
                "  root          an empty, read-only tmpfs (pivot_root); environment cleared and its exec-time block zeroed; new session\n"
            out +=
                "  descriptors   " + p.descriptorList.map { "\($0.1.rawValue) \($0.0.name)" }.joined(separator: ", ") + "; nothing else\n"
            out +=
                "  capabilities  none (effective, permitted, inheritable, bounding, ambient); securebits locked; "
                + (me == 0
                    ? "no_new_privs; never dumpable (no ptrace, not even by its own uid); TracerPid checked before pivot_root\n"
                    : "no_new_privs; not dumpable; TracerPid checked before pivot_root\n")
            out += "  landlock      no filesystem access, no TCP bind or connect, no signal or abstract socket outside the tile\n"
            out += "  rlimits\n"
            var rows: [[String]] = []
            for l in p.resourceLimits(mapped: nil, data: nil) {
                rows.append(["    " + l.name, l.value.map(String.init) ?? l.derivation ?? "-", l.reason])
            }
            out += table(rows)
            out +=
                "  seccomp       \(p.policy.syscalls.count) syscalls, \(try k.filter.instructionCount()) BPF instructions; any other call, "
                + "or a call through another architecture, kills the process. Compiled for the descriptors above; "
                + "32-bit arguments compared on their low 32 bits, as the kernel reads them\n"
            rows = []
            for e in k.filter.entries { rows.append(["    " + e.rule.syscall, e.compiledDescription, e.rule.reason]) }
            out += table(rows)
            out += exposureTable(k.exposure)
        }
        for c in confinements {
            out += confinementReport(c.confinement, when: c.when, filesystem: c.filesystem, landlock: landlock)
        }
        return out
    }

    /// The reaper's or the supervisor's confinement (descriptor numbers as
    /// an example: the real ones are known at run time).
    static func confinementReport(_ c: Confinement, when: String, filesystem: String, landlock: Int32?) -> String {
        let exposure = c.exposure(landlockABI: landlock, filesystemLimited: true)
        var out = "\nconfinement of the \(c.name) (\(when)): exposure \(String(format1: exposure.score)) \(exposure.level)\n"
        out += "  runs as       root's uid without any capability; no_new_privs; not dumpable; a fresh session keyring\n"
        out += "  namespaces    own: \(c.namespaces.joined(separator: ", "))\(c.emptyRoot ? "; an empty, read-only root" : "")\n"
        out += "  landlock      \(filesystem)\n"
        out += "  rlimits\n"
        var rows: [[String]] = []
        for l in c.resourceLimits(mapped: nil, data: nil, highestDescriptor: nil) {
            rows.append(["    " + l.name, l.value.map(String.init) ?? l.derivation ?? "-", l.reason])
        }
        out += table(rows)
        out += "  seccomp       \(c.policy.syscalls.count) syscalls; anything else kills it\n"
        rows = []
        if let filter = try? c.filter() {
            for e in filter.entries { rows.append(["    " + e.rule.syscall, e.compiledDescription, e.rule.reason]) }
        }
        out += table(rows)
        return out + exposureTable(exposure)
    }

    static func exposureTable(_ e: ExposureReport) -> String {
        let costs = e.costs
        guard !costs.isEmpty else { return "  exposure      every check passes (\(e.checks.count) checks)\n" }
        var rows: [[String]] = []
        for c in costs { rows.append(["    " + c.name, "weight \(c.weight)", "exposure \(String(format1: c.exposure))", c.detail]) }
        return "  exposure      what costs points (of \(e.checks.count) checks)\n" + table(rows)
    }

    static func report(_ t: Topology, _ plan: ShmemPlan) -> String {
        var out = ""
        let kinds = Set(t.tiles.map(\.kind)).count
        out += "topology \"\(t.name)\" (\(t.source)): \(t.tiles.count) tiles of \(kinds) kinds\n"
        switch t.user {
        case .dynamic:
            out +=
                "  user        dynamic: each tile a uid and gid of its own, reserved at start from "
                + "\(TileIdentities.range.lowerBound)–\(TileIdentities.range.upperBound)\n"
        case .named(let u):
            out += "  user        \(u.name) (uid \(u.uid), gid \(u.gid)), every tile\n"
        }
        out +=
            "  log         stderr \(t.log.levelStderr.rawValue)"
            + (t.log.path.map { ", file \($0) (\(t.log.levelLogfile.rawValue))" } ?? ", no log file") + "\n"
        let overrides = Set(t.tiles.compactMap { $0.idle == nil ? nil : "\($0.kind) \($0.idle!.rawValue)" }).sorted()
        out += "  idle        \(t.layout.idle.rawValue)" + (overrides.isEmpty ? "" : " (\(overrides.joined(separator: ", ")))") + "\n"
        out += "  page size   \(t.shmem.pageSize.rawValue): \(plan.notices.joined(separator: "; "))\n\n"

        // The CPU column only when something is pinned.
        let pinned = t.tiles.contains { !$0.cpus.isEmpty }
        var rows = [["TILE", "KIND", "KIND_ID"] + (pinned ? ["CPU"] : []) + ["OPTIONS"]]
        for tile in t.tiles {
            let opts = tile.options.keys.sorted().map { "\($0)=\(tile.options[$0]!)" }.joined(separator: " ")
            rows.append([tile.name, tile.kind, String(tile.kindId)] + (pinned ? [Self.cpus(tile)] : []) + [opts])
        }
        out += table(rows) + "\n"
        for (cpu, tiles) in Affinity.sharedBySpinners(t) {
            out += "warning: CPU \(cpu) is shared by \(tiles.count) spinning tiles (\(tiles.joined(separator: ", "))): they take turns\n"
        }

        if !t.links.isEmpty {
            rows = [["LINK", "PRODUCER", "CONSUMERS", "DEPTH", "MTU", "RELIABLE"]]
            for link in t.links {
                rows.append([
                    link.label, t.tiles[link.producer].name,
                    link.consumers.map { t.tiles[$0.tile].name }.joined(separator: " "),
                    String(link.depth), String(link.mtu), link.reliable ? "yes" : "no",
                ])
            }
            out += table(rows) + "\n"
        }

        // The NUMA node column only when a workspace is bound to one.
        let numa = plan.layout.workspaces.contains { $0.node != nil }
        rows = [["WORKSPACE", "FOOTPRINT", "PAGE SIZE", "PAGES"] + (numa ? ["NODE"] : []) + ["FILE"]]
        for w in plan.layout.workspaces {
            let node = numa ? [w.node.map(String.init) ?? "any"] : []
            rows.append([w.name, formatBytes(w.footprint), w.pageSize.label, String(w.pageCount)] + node + [w.path])
        }
        rows.append(["total", formatBytes(plan.layout.totalFootprint), "", ""] + (numa ? [""] : []) + [""])
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
