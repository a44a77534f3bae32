#if canImport(Glibc)
import Glibc
#endif
import Shared

/// Drops transactions seen recently (by signature tag, with a bounded
/// cache) and forwards the rest.
public struct DedupTile: Tile {
    // MARK: limits

    public static let kind = "dedup"
    public static let summary = "drops transactions whose signature it saw recently (bounded tag cache); forwards the rest"
    /// One cache sees every transaction only if there is one dedup tile.
    public static let maxCount = 1
    public static let inputs = 1...256
    public static let outputs = 1...1
    public static let fileLimit: UInt64 = 3

    public static let options = [
        TileOption("cache_size", .integer(16...16_777_216), default: .integer(4096),
                   help: "Signature tags remembered; older ones are forgotten first."),
    ]

    // MARK: metrics

    static let results = ["unique", "duplicate"]
    static let transactions = MetricFamily.enumCounter(
        "transactions", "Transactions checked against the tag cache, by outcome; only unique ones are forwarded.",
        label: "result", variants: results)
    public static let schema = MetricSchema(prefix: kind, [transactions])

    public static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? {
        let cache = tile.int("cache_size")
        // A source re-sends its pool in turn, and duplicates from up to 64
        // back: the cache must catch those and forget the pool's previous round.
        for source in topology.tiles(ofKind: SourceTile.kind) where source.int("pool_size") <= cache {
            return TopologyIssue(path: ["tiles", kind, "cache_size"],
                                 "cache_size = \(cache) is not smaller than [tiles.source] pool_size = \(source.int("pool_size")): "
                                     + "the pool's next round would count as duplicates; lower cache_size or raise pool_size")
        }
        if cache < 4 * SourceTile.duplicateWindow * max(1, topology.tiles(ofKind: VerifyTile.kind).count) {
            let need = 4 * SourceTile.duplicateWindow * max(1, topology.tiles(ofKind: VerifyTile.kind).count)
            if !topology.tiles(ofKind: SourceTile.kind).isEmpty {
                return TopologyIssue(path: ["tiles", kind, "cache_size"],
                                     "cache_size = \(cache) is too small to catch the source's duplicates; use at least \(need)")
            }
        }
        return forwardingIssue(tile, topology)
    }

    // MARK: state

    var cache: TagCache
    let buffer: UnsafeMutableRawPointer
    var size = 0
    var counts = [UInt64](repeating: 0, count: 2)
    let countsCell: EnumCounterCell

    public init(privileged ctx: TileContext) throws {
        cache = TagCache(capacity: ctx.tile.int("cache_size"))
        buffer = .allocate(byteCount: ctx.inputs.map(\.mtu).max() ?? 0, alignment: 64)
        countsCell = ctx.metrics.enumCounter(Self.transactions)
    }

    // MARK: loop callbacks

    public mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer) {
        size = payload.count
        buffer.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
    }

    public mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) {
        guard cache.insert(meta.sig) else { counts[1] &+= 1; return }
        counts[0] &+= 1
        stem.buffer(0).copyMemory(from: buffer, byteCount: size)
        stem.publish(0, sig: meta.sig, size: size, tsorig: meta.tsorig)
    }

    public mutating func writeMetrics() {
        for i in 0..<2 { countsCell.set(i, counts[i]) }
    }

    // MARK: seccomp

    public static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }
}
