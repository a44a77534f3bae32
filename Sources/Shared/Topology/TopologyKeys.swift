/// Every key of a topology file outside the tile kinds' own options, with
/// its type, default and meaning: the loader reads defaults from here, and
/// `tilectl reference` prints it (the README's reference is that output).
package enum TopologyKeys {
    package static let top = [
        TileOption(
            "name", .text, default: .string("tilectl"),
            help: "Names the run and its workspaces (`tilectl.<name>.*`); one run per name at a time. 1 to 32 of a-z, 0-9, `_`, `-`."),
        TileOption(
            "user", .text, default: .string("dynamic"),
            help:
                "Who tiles run as (when run as root): `\"dynamic\"` gives each tile a uid and gid of its own, reserved for the run from 2047934464–2047999999 and used by no other process; or an existing unprivileged user, every tile as that user. Never root."
        ),
    ]

    package static let log = [
        TileOption(
            "path", .text, default: .string(""),
            help: "Log file every process appends to (absolute); `\"\"` logs to stderr only."),
        TileOption(
            "level_stderr", .choice(LogLevel.allCases.map(\.rawValue)), default: .string("notice"),
            help: "Lowest level written to stderr. Default `\"warning\"` when a log file is set, `\"notice\"` when not."),
        TileOption(
            "level_logfile", .choice(LogLevel.allCases.map(\.rawValue)), default: .string("info"),
            help: "Lowest level written to the log file."),
    ]

    package static let shmem = [
        TileOption(
            "page_size", .choice(PageSizePolicy.allCases.map(\.rawValue)), default: .string("auto"),
            help:
                "`auto`: 2 MiB pages when they can be had (reserved when run as root), else normal pages; `huge`, `gigantic`: those or an error naming `tilectl configure init`; `normal`: 4 KiB pages in /dev/shm."
        ),
        TileOption(
            "hugetlbfs_mount", .text, default: .string("/mnt/.tilectl"),
            help: "Directory under which hugetlbfs is mounted (`.huge` for 2 MiB pages, `.gigantic` for 1 GiB)."),
    ]

    package static let layout = [
        TileOption(
            "idle", .choice(IdleStrategy.allCases.map(\.rawValue)), default: .string("sleep"),
            help:
                "What an idle tile does: `sleep` backs off (up to the housekeeping interval), `spin` busy-polls (one core per tile, lowest latency)."
        ),
        TileOption(
            "affinity", .text, default: .string(""),
            help: "CPUs for the tiles, one each in topology order: a list such as `\"0-7\"` or `\"1,3,5-9\"`, `\"auto\"` "
                + "(the CPUs tilectl may use, shared when tiles outnumber them), or `\"\"` to pin nothing. Floating tiles "
                + "(the metric tile) share the listed CPUs no pinned tile took."),
        TileOption(
            "housekeeping_interval_us", .integer(10...10_000_000), default: .integer(1000),
            help: "Mean microseconds between a tile's housekeeping passes (heartbeat, metrics, credits), each jittered ±50%."),
    ]

    package static let link = [
        TileOption(
            "depth", .integer(4...1 << 20), default: .integer(1024),
            help: "Fragments the ring holds; a power of two. A producer runs at most this far ahead of a reliable consumer."),
        TileOption("mtu", .integer(1...65535), default: .integer(1232), help: "Largest payload of one fragment, in bytes."),
        TileOption(
            "reliable", .boolean, default: .boolean(true),
            help: "Consumers backpressure the producer through credits; `false`: they may be overrun (and count it)."),
    ]

    /// Keys every `[tiles.<kind>]` table accepts, besides the kind's options.
    package static let tile = [
        TileOption(
            "count", .integer(1...512), default: .integer(1),
            help: "Tiles of this kind (kind_id 0 to count - 1); at most the kind's maximum."),
        TileOption(
            "inputs", .linkNames, default: .string("[]"),
            help: "Links the tiles consume; each tile reads every instance of each."),
        TileOption(
            "outputs", .linkNames, default: .string("[]"),
            help: "Links the tiles produce; a link produced by a group of N tiles has N instances."),
        TileOption(
            "affinity", .text, default: .string("layout"),
            help: "Where these tiles run: `layout` takes CPUs from `[layout] affinity` (or floats, for a floating kind such "
                + "as metric), `floating` shares the CPUs the pinned tiles left, `pinned` takes CPUs from the layout even "
                + "for a floating kind, or a CPU list of the kind's own, one CPU per tile."),
        TileOption(
            "idle", .choice(["layout"] + IdleStrategy.allCases.map(\.rawValue)), default: .string("layout"),
            help: "What these tiles do when idle: `layout` follows `[layout] idle`; `sleep` or `spin` overrides it "
                + "(workers spin on their cores while the metric tile sleeps)."),
    ]

    static func key(_ list: [TileOption], _ name: String) -> TileOption {
        guard let o = list.first(where: { $0.key == name }) else { preconditionFailure("no key \(name)") }
        return o
    }
}
