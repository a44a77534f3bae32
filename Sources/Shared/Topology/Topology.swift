/// The resolved topology: what the supervisor computed from the topology
/// file, after validation and with every default filled in. It reaches each
/// tile in a sealed memfd, so every process sees the same one.
public struct Topology: Codable, Sendable, Equatable {
    /// Names the run: workspaces are `tilectl.<name>.*`. Two runs of the same
    /// name cannot be up at once.
    public var name: String
    /// The topology file it came from (for messages only).
    package var source: String
    /// Who tiles become in their sandbox (when run as root).
    package var user: TileUserPolicy
    package var log: LogConfig
    package var shmem: ShmemConfig
    @usableFromInline package var layout: LayoutConfig
    /// Every tile, in boot order: grouped by kind in the order the file
    /// declares them, `kindId` counting from 0 within a kind.
    package var tiles: [TileSpec]
    /// Every link instance, grouped by declared link in file order.
    package var links: [LinkInstance]

    package init(
        name: String, source: String, user: TileUserPolicy, log: LogConfig, shmem: ShmemConfig,
        layout: LayoutConfig, tiles: [TileSpec], links: [LinkInstance] = []
    ) {
        self.name = name
        self.source = source
        self.user = user
        self.log = log
        self.shmem = shmem
        self.layout = layout
        self.tiles = tiles
        self.links = links
    }

    /// Every tile of `kind`, in kind-id order.
    public func tiles(ofKind kind: String) -> [TileSpec] { tiles.filter { $0.kind == kind } }

    /// The tile `kind:kindId`, if the topology has it.
    public func tile(kind: String, kindId: Int) -> TileSpec? {
        tiles.first { $0.kind == kind && $0.kindId == kindId }
    }
}

/// Who tiles run as.
package enum TileUserPolicy: Codable, Sendable, Equatable {
    /// Each tile a uid and gid of its own, reserved when the run starts
    /// and nobody else's (`user = "dynamic"`, the default).
    case dynamic
    /// Every tile as this existing user (`user = "nobody"`).
    case named(TileUser)
}

/// A uid and gid a tile runs as, and how messages name it.
package struct TileUser: Codable, Sendable, Equatable {
    public var name: String
    package var uid: UInt32
    package var gid: UInt32
    package init(name: String, uid: UInt32, gid: UInt32) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }
}

package struct LogConfig: Codable, Sendable, Equatable {
    /// Log file every process appends to; nil logs to stderr only.
    package var path: String?
    package var levelStderr: LogLevel
    package var levelLogfile: LogLevel
    package init(path: String?, levelStderr: LogLevel, levelLogfile: LogLevel) {
        self.path = path
        self.levelStderr = levelStderr
        self.levelLogfile = levelLogfile
    }
}

/// How the topology file asks for its shared memory to be backed.
package enum PageSizePolicy: String, Codable, Sendable, CaseIterable {
    /// 2 MiB pages when they can be had (reserving them when privileged),
    /// otherwise normal pages with one notice.
    case auto
    /// 2 MiB pages or an error naming `tilectl configure init`.
    case huge
    /// 1 GiB pages for workspaces of 1 GiB or more, 2 MiB for smaller ones,
    /// or an error naming `tilectl configure init`.
    case gigantic
    /// 4 KiB pages in /dev/shm.
    case normal
}

package struct ShmemConfig: Codable, Sendable, Equatable {
    package var pageSize: PageSizePolicy
    /// Directory under which hugetlbfs is mounted: `<path>/.huge` (2 MiB
    /// pages) and `<path>/.gigantic` (1 GiB pages).
    package var hugetlbfsMount: String
    package init(pageSize: PageSizePolicy, hugetlbfsMount: String) {
        self.pageSize = pageSize
        self.hugetlbfsMount = hugetlbfsMount
    }
}

/// What a tile does when it has nothing to do.
@usableFromInline package enum IdleStrategy: String, Codable, Sendable, CaseIterable {
    /// Busy-poll, as a validator tile pinned to its own core does: lowest
    /// latency, one full core per tile.
    case spin
    /// Back off with short sleeps (up to the housekeeping interval): a
    /// topology that shares a few cores with other work.
    case sleep
}

@usableFromInline package struct LayoutConfig: Codable, Sendable, Equatable {
    package var idle: IdleStrategy
    /// `[layout] affinity` as written: a CPU list, "auto" or "".
    package var affinity: String = ""
    /// Mean interval between two housekeeping passes (heartbeat, metrics
    /// publication, halt check), in nanoseconds; each pass is jittered.
    @usableFromInline package var housekeepingIntervalNanos: Int64
    package init(idle: IdleStrategy, affinity: String = "", housekeepingIntervalNanos: Int64) {
        self.idle = idle
        self.affinity = affinity
        self.housekeepingIntervalNanos = housekeepingIntervalNanos
    }
}

extension Topology {
    /// What `tile` does when idle: its kind's `idle`, else `[layout] idle`.
    @usableFromInline package func idle(of tile: TileSpec) -> IdleStrategy { tile.idle ?? layout.idle }
}

/// One tile: a process of a given kind.
public struct TileSpec: Codable, Sendable, Equatable, Hashable {
    /// Position in `Topology.tiles`.
    @usableFromInline package var index: Int
    /// The tile's kind (`[tiles.<kind>]`).
    public var kind: String
    /// 0-based index among the tiles of the same kind.
    public var kindId: Int
    /// The kind's options, type-checked and with defaults applied.
    package var options: [String: OptionValue]
    /// Link instances the tile consumes, in the order of its `inputs`
    /// (every instance of each named link).
    package var inLinks: [Int]
    /// Link instances the tile produces, in the order of its `outputs`.
    package var outLinks: [Int]
    /// The kind's own idle strategy; nil follows `[layout] idle`.
    package var idle: IdleStrategy?
    /// The CPUs it is pinned to before its sandbox: one when pinned, the
    /// ones left to floating tiles, or none (wherever the kernel puts it).
    package var cpus: [Int] = []

    package init(
        index: Int, kind: String, kindId: Int, options: [String: OptionValue], inLinks: [Int] = [],
        outLinks: [Int] = [], idle: IdleStrategy? = nil
    ) {
        self.index = index
        self.kind = kind
        self.kindId = kindId
        self.options = options
        self.inLinks = inLinks
        self.outLinks = outLinks
        self.idle = idle
    }

    /// `kind:kind_id`, how every message names a tile.
    public var name: String { "\(kind):\(kindId)" }
}
