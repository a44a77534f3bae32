#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CShim
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

    @Option(
        name: .customLong("ready-fd"),
        help: ArgumentHelp(
            "Once every tile runs, write READY=1 and a newline to descriptor N and close it; a run that fails first closes it without writing (for a parent process or a CI script: `tilectl run … --ready-fd 3 3>fifo`).",
            valueName: "N"))
    var readyFD: Int32?

    @Option(
        name: .customLong("for"),
        help: ArgumentHelp(
            "CI mode: run this long once every tile runs (30s, 2m, 500ms), judge every --expect on the final metrics, stop in order; exit 0 when all hold, 1 otherwise.",
            valueName: "duration"))
    var forDuration: String?

    @Option(
        name: .customLong("expect"),
        help: ArgumentHelp(
            "With --for: a comparison of metrics, e.g. 'sum(rate(link_frag_consumed_total{link_kind=\"dedup_sink\"})) > 1000'. Repeatable.",
            valueName: "expr"))
    var expectations: [String] = []

    @Flag(help: "With --for: stop as soon as every --expect holds (the duration is then the limit).")
    var until = false

    @Option(help: ArgumentHelp("With --for: write a JUnit XML report, one test case per --expect.", valueName: "file"))
    var junit: String?

    func validate() throws {
        if forDuration == nil && (!expectations.isEmpty || until || junit != nil) {
            throw ValidationError("--expect, --until and --junit go with --for DURATION (the CI mode)")
        }
        if let d = forDuration, CIRun.nanos(d) == nil {
            throw ValidationError("--for \(d): not a duration; use 30s, 2m, 500ms, 1h or a number of seconds")
        }
        guard let n = readyFD else { return }
        guard n > 2 else { throw ValidationError("--ready-fd \(n): use a descriptor above 2 (0, 1 and 2 are stdin, stdout and stderr)") }
        let flags = cshim_fcntl_int(n, F_GETFL, 0)
        guard flags >= 0 else {
            throw ValidationError(
                "--ready-fd \(n): descriptor \(n) is not open; start tilectl with it open for writing, e.g. `--ready-fd 3 3>fifo`")
        }
        guard flags & O_ACCMODE != O_RDONLY else {
            throw ValidationError("--ready-fd \(n): descriptor \(n) is open read-only; open it for writing, e.g. `3>fifo`")
        }
    }

    func run(kinds: TileKinds) throws {
        // Expressions first: a typo is exit 2 before anything starts.
        let parsed = try expectations.map { try MetricExpectation(parsing: $0) }
        if forDuration != nil && parsed.isEmpty {
            throw ValidationError("--for needs at least one --expect: what should hold at the end of the run?")
        }
        let topology = try config.load(kinds)
        var ci: CIRun?
        if let d = forDuration, let nanos = CIRun.nanos(d) {
            var report: FileDescriptor?
            if let junit {
                let fd = open(junit, O_WRONLY | O_CREAT | O_TRUNC | CSHIM_O_CLOEXEC | CSHIM_O_NOFOLLOW, 0o644)
                guard fd >= 0 else {
                    throw RuntimeError(path: junit, "cannot be written (\(Errno.describe(errno))); pick another --junit path")
                }
                report = FileDescriptor(rawValue: fd)
            }
            ci = CIRun(durationNanos: nanos, until: until, expectations: parsed, junit: report)
        }
        try Log.configure(
            who: "supervisor", stderrLevel: topology.log.levelStderr,
            fileLevel: topology.log.levelLogfile, path: topology.log.path)
        if noSandbox { Log.warning("--no-sandbox: tiles run WITHOUT their sandbox; never do this in production") }
        let ready = readyFD.map { fd -> FileDescriptor in
            // Not inherited by anything the run executes.
            _ = cshim_fcntl_int(fd, F_SETFD, FD_CLOEXEC)
            return FileDescriptor(rawValue: fd)
        }
        let status: Int32
        do {
            status = try Supervisor(
                topology: topology, kinds: kinds, configPath: config.config, sandbox: !noSandbox, readyFD: ready, ci: ci
            ).run()
        } catch {
            // A CI job reads the report even when the topology never started.
            if let ci {
                let why = "the topology did not start: \(error)"
                ci.writeJUnit(
                    topology: topology.name, seconds: 0,
                    verdicts: ci.expectations.map { .init(expectation: $0, holds: false, left: nil, right: nil, message: why) },
                    error: ("DidNotStart", why))
            }
            throw error
        }
        throw ExitCode(status)
    }
}
