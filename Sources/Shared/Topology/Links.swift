/// A link as the topology file declares it: `[links.<name>]`.
package struct LinkSpec: Codable, Sendable, Equatable {
    package var name: String
    /// Fragments the ring holds; a power of two.
    package var depth: Int
    /// Largest payload of one fragment, in bytes.
    package var mtu: Int
    /// Whether consumers backpressure the producer (flow control through
    /// credits) or may be overrun.
    package var reliable: Bool

    package init(name: String, depth: Int, mtu: Int, reliable: Bool) {
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
package struct LinkInstance: Codable, Sendable, Equatable {
    /// Position in `Topology.links`.
    package var index: Int
    /// The declared link: the `link_kind` label.
    package var name: String
    /// The producer's kind_id: the `link_kind_id` label.
    package var kindId: Int
    package var depth: Int
    package var mtu: Int
    package var reliable: Bool
    /// Tile index of the one producer.
    package var producer: Int
    package var consumers: [LinkInstanceConsumer]

    /// `source_verify:0`, how messages name an instance.
    package var label: String { "\(name):\(kindId)" }
}

/// A tile reading a link instance (the topology's record; the reading
/// itself is `LinkReader`).
package struct LinkInstanceConsumer: Codable, Sendable, Equatable {
    /// Tile index of the consumer.
    package var tile: Int
    /// Position of this link among the consumer's inputs.
    package var inIndex: Int
    /// Position among the instance's consumers (for per-consumer counters
    /// the producer keeps in the link's header).
    package var slot: Int
    /// Reliable consumers hold credits back from the producer.
    package var reliable: Bool
}

/// A problem a tile kind finds in how it is configured, pointing at a key.
public struct TopologyIssue: Sendable, Equatable {
    /// Key path in the topology file, such as ["links", "source_verify", "mtu"].
    public let path: [String]
    /// What is wrong and how to fix it, as one sentence.
    public let message: String
    /// An issue at `path` (e.g. `["tiles", "ticker", "rate"]`), reported
    /// with the file, line and column of that key.
    public init(path: [String], _ message: String) {
        self.path = path
        self.message = message
    }
}

extension Topology {
    /// The instances a tile consumes, in the order of its inputs.
    package func inLinks(of tile: TileSpec) -> [LinkInstance] { tile.inLinks.map { links[$0] } }
    package func outLinks(of tile: TileSpec) -> [LinkInstance] { tile.outLinks.map { links[$0] } }
    /// The declared link `name`, with the properties its instances share.
    package func declaredLink(_ name: String) -> LinkInstance? { links.first { $0.name == name } }
}
