#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shared

extension Tilectl {}

/// `tilectl run --config F`: boots the topology in the foreground.
struct RunCommand: KindsCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a topology and supervise it in the foreground (Ctrl-C stops it).",
        discussion: """
            Best as root: each tile then runs as a uid and gid of its own (user = "dynamic"), and under \
            page_size = "auto" huge pages are mounted and reserved when missing (and released at exit). \
            Without root it runs in user namespaces of its own, every tile as the invoking user, on \
            normal pages. `tilectl check --sandbox` prints each tile's sandbox before anything runs.

            Exit status: 0 after an orderly stop (SIGINT, SIGTERM); 1 when a tile dies (the line \
            names it and the cause) or the topology cannot start; 2 for a bad topology file.
            """)

    @OptionGroup var config: ConfigOption

    @Flag(
        name: .customLong("no-sandbox"),
        help: "Run tiles without their sandbox. For debugging only: every tile warns at start.")
    var noSandbox = false

    func run(kinds: TileKinds) throws {
        let topology = try config.load(kinds)
        try Log.configure(
            who: "supervisor", stderrLevel: topology.log.levelStderr,
            fileLevel: topology.log.levelLogfile, path: topology.log.path)
        if noSandbox { Log.warning("--no-sandbox: tiles run WITHOUT their sandbox; never do this in production") }
        let status = try Supervisor(topology: topology, kinds: kinds, configPath: config.config, sandbox: !noSandbox).run()
        throw ExitCode(status)
    }
}
