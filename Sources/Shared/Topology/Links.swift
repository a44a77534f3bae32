/// A link as the topology file declares it: `[links.<name>]`.
public struct LinkSpec: Codable, Sendable, Equatable {
    public var name: String
    /// Fragments the ring holds; a power of two.
    public var depth: Int
    /// Largest payload of one fragment, in bytes.
    public var mtu: Int
    /// Whether consumers backpressure the producer (flow control through
    /// credits) or may be overrun.
    public var reliable: Bool

    public init(name: String, depth: Int, mtu: Int, reliable: Bool) {
        self.name = name
        self.depth = depth
        self.mtu = mtu
        self.reliable = reliable
    }
}

/// One ring in shared memory: a declared link as produced by one tile. A
/// link a group of `count` tiles produces has `count` instances, instance i
/// produced by tile i of the group; a consumer of the link consumes every
/// instance.
public struct LinkInstance: Codable, Sendable, Equatable {
    /// Position in `Topology.links`.
    public var index: Int
    /// The declared link: the `link_kind` label.
    public var name: String
    /// The producer's kind_id: the `link_kind_id` label.
    public var kindId: Int
    public var depth: Int
    public var mtu: Int
    public var reliable: Bool
    /// Tile index of the one producer.
    public var producer: Int
    public var consumers: [LinkInstanceConsumer]

    /// `source_verify:0`, how messages name an instance.
    public var label: String { "\(name):\(kindId)" }
}

/// A tile reading a link instance (the topology's record; the reading
/// itself is `LinkReader`).
public struct LinkInstanceConsumer: Codable, Sendable, Equatable {
    /// Tile index of the consumer.
    public var tile: Int
    /// Position of this link among the consumer's inputs.
    public var inIndex: Int
    /// Position among the instance's consumers (for per-consumer counters
    /// the producer keeps in the link's header).
    public var slot: Int
    /// Reliable consumers hold credits back from the producer.
    public var reliable: Bool
}

/// A problem a tile kind finds in how it is configured, pointing at a key.
public struct TopologyIssue: Sendable, Equatable {
    /// Key path in the topology file, such as ["links", "source_verify", "mtu"].
    public let path: [String]
    public let message: String
    public init(path: [String], _ message: String) {
        self.path = path
        self.message = message
    }
}

extension Topology {
    /// The instances a tile consumes, in the order of its inputs.
    public func inLinks(of tile: TileSpec) -> [LinkInstance] { tile.inLinks.map { links[$0] } }
    public func outLinks(of tile: TileSpec) -> [LinkInstance] { tile.outLinks.map { links[$0] } }
    /// The declared link `name`, with the properties its instances share.
    public func declaredLink(_ name: String) -> LinkInstance? { links.first { $0.name == name } }
}
