#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CShim
import Shared

/// `tilectl run1 KIND KIND_ID --topology-fd N --pipe-fd M`: the entry point
/// of one tile process, exec'd by the reaper. Not for people.
struct Run1Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run1",
        abstract: "Run one tile of a booted topology (started by `tilectl run`, not by hand).",
        shouldDisplay: false)

    @Argument(help: "Tile kind.") var kind: String
    @Argument(help: "Index of the tile among tiles of its kind.") var kindId: Int
    @Option(help: "Descriptor of the sealed memfd holding the resolved topology.") var topologyFd: Int32
    @Option(help: "Descriptor of the pipe whose closing tells the supervisor this tile died.") var pipeFd: Int32
    @Option(help: "Descriptor of the supervisor's log file, when the topology has one.") var logFd: Int32?
    @Flag(name: .customLong("no-sandbox"), help: "Do not enter the sandbox (debugging only).") var noSandbox = false

    func run() throws {
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
        guard let tile = topology.tile(kind: kind, kindId: kindId), let kindInfo = tileKinds[kind] else {
            TileRunner.fatal("the topology has no tile \(name)")
        }
        do {
            // The supervisor's own open log file, never a path: a tile
            // opens no file by name (and, without root, could not check one).
            try Log.configure(who: name, stderrLevel: topology.log.levelStderr,
                              fileLevel: topology.log.levelLogfile, path: nil)
            if let logFd {
                guard topology.log.path != nil else { throw TileBootError("a log descriptor but no log file in the topology") }
                Log.adoptFile(FileDescriptor(rawValue: logFd))
                // Where its sandbox profile (and so its filter) expects it.
                try Log.moveFile(to: SandboxProfile.logFile)
            } else if topology.log.path != nil {
                throw TileBootError("the topology has a log file but no log descriptor was passed")
            }
        } catch {
            TileRunner.fatal("cannot open the log file: \(error)")
        }
        _ = cshim_prctl_set_name(name)
        if noSandbox { Log.warning("running WITHOUT a sandbox (--no-sandbox); never do this in production") }
        let ctx: TileContext
        do {
            ctx = try TileContext(topology: topology, layout: handoff.layout, kinds: tileKinds, tile: tile,
                                  identity: handoff.users?[tile.index],
                                  deathPipe: FileDescriptor(rawValue: pipeFd), sandboxed: !noSandbox)
        } catch {
            TileRunner.fatal("cannot join its workspace: \(error)")
        }
        kindInfo.boot(ctx)
    }
}
