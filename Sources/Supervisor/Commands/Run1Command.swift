#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CShim
import Shared

/// `tilectl run1 KIND KIND_ID --topology-fd N --pipe-fd M`: the entry point
/// of one tile process, exec'd by the reaper. Not for people.
struct Run1Command: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "run1",
        abstract: "Run one tile of a booted topology (started by `tilectl run`, not by hand).",
        shouldDisplay: false)

    @Argument(help: "Tile kind.") var kind: String
    @Argument(help: "Index of the tile among tiles of its kind.") var kindId: Int
    @Option(help: "Descriptor of the sealed memfd holding the resolved topology.") var topologyFd: Int32
    @Option(help: "Descriptor of the pipe whose closing tells the supervisor this tile died.") var pipeFd: Int32
    @Flag(name: .customLong("no-sandbox"), help: "Do not enter the sandbox (debugging only).") var noSandbox = false

    func run(kinds: TileKinds) throws {
        signal(SIGPIPE, SIG_IGN)
        let name = "\(kind):\(kindId)"
        Log.setWho(name)
        let handoff: TopologyHandoff
        do {
            handoff = try TopologyHandoff.open(FileDescriptor(rawValue: topologyFd))
        } catch {
            TileRunner.fatal("cannot read the topology: \(error)")
        }
        let topology = handoff.topology
        guard let tile = topology.tile(kind: kind, kindId: kindId), let kindInfo = kinds[kind] else {
            TileRunner.fatal("the topology has no tile \(name)")
        }
        do {
            // Every line goes to stderr, a pipe the supervisor reads: it
            // writes each to the terminal and the log file by its level.
            // A tile opens no file and holds no terminal.
            let level = topology.log.path == nil ? topology.log.levelStderr : min(topology.log.levelStderr, topology.log.levelLogfile)
            try Log.configure(who: name, stderrLevel: level, fileLevel: topology.log.levelLogfile, path: nil)
        } catch {
            TileRunner.fatal("cannot set up logging: \(error)")
        }
        _ = cshim_prctl_set_name(name)
        if noSandbox { Log.warning("running WITHOUT a sandbox (--no-sandbox); never do this in production") }
        let ctx: TileContext
        do {
            ctx = try TileContext(
                topology: topology, layout: handoff.layout, kinds: kinds, tile: tile,
                identity: handoff.users?[tile.index],
                deathPipe: FileDescriptor(rawValue: pipeFd), sandboxed: !noSandbox)
        } catch {
            TileRunner.fatal("cannot join its workspace: \(error)")
        }
        kindInfo.boot(ctx)
    }
}
