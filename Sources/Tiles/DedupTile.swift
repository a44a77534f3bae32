#if canImport(Glibc)
import Glibc
#endif
import Shared

/// Drops transactions seen recently (by signature tag, with a bounded
/// cache) and forwards the rest.
package struct DedupTile: Tile {
    // MARK: limits

    package static let kind = "dedup"
    package static let summary = "drops transactions whose signature it saw recently (bounded tag cache); forwards the rest"
    /// One cache sees every transaction only if there is one dedup tile.
    package static let maxCount = 1
    package static let inputs = 1...256
    package static let outputs = 1...1

    package static let cacheSize = OptionKey<Int>(
        "cache_size", 16...16_777_216, default: 4096,
        help: "Signature tags remembered; older ones are forgotten first.")

    package static let options = [cacheSize.declaration]

    // MARK: metrics

    /// Whether the tag cache had seen a transaction.
    enum Result: Int, MetricLabel { case unique, duplicate }
    static let transactions = MetricFamily.enumCounter(
        "transactions", "Transactions checked against the tag cache, by outcome; only unique ones are forwarded.",
        label: "result", Result.self)
    package static let schema = MetricSchema(prefix: kind, [transactions])

    package static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? {
        if let issue = sourceIssue(tile, topology) { return issue }
        return forwardingIssue(tile, topology)
    }

    /// Fragments that can reach this tile between a transaction and its
    /// duplicate, beyond the source's duplicate window: a lane upstream may
    /// lag the others by the depth of the link it reads, and this tile may
    /// lag on each input by that input's depth.
    static func reorderBound(_ tile: TileSpec, _ topology: Topology) -> Int {
        let inputs = topology.inLinks(of: tile)
        let upstream = inputs.map { topology.inLinks(of: topology.tiles[$0.producer]).map(\.depth).max() ?? 0 }.max() ?? 0
        return upstream + inputs.count * (inputs.map(\.depth).max() ?? 0)
    }

    /// With a source upstream, every duplicate it sends must still be in the
    /// cache when it arrives, and every round of its pool must be gone from
    /// it: then what this tile counts is exactly what the source mixed in.
    static func sourceIssue(_ tile: TileSpec, _ topology: Topology) -> TopologyIssue? {
        let sources = topology.tiles(ofKind: SourceTile.kind)
        guard !sources.isEmpty else { return nil }
        let cache = tile[Self.cacheSize]
        let bound = reorderBound(tile, topology)
        let need = SourceTile.duplicateWindow * 2 + bound
        if cache < need {
            return TopologyIssue(
                path: ["tiles", kind, Self.cacheSize.key],
                "cache_size = \(cache) cannot catch every duplicate: transactions can arrive up to \(bound) fragments "
                    + "out of order (the depths of the links upstream); use at least \(need), or smaller link depths")
        }
        for source in sources where source[SourceTile.poolSize] <= cache + bound {
            return TopologyIssue(
                path: ["tiles", SourceTile.kind, SourceTile.poolSize.key],
                "pool_size = \(source[SourceTile.poolSize]) would make the pool's next round count as duplicates "
                    + "(dedup remembers \(cache) tags, up to \(bound) more arrive out of order); use more than \(cache + bound)")
        }
        return nil
    }

    // MARK: state

    var cache: TagCache
    let buffer: UnsafeMutableRawPointer
    var size = 0
    var counts = VariantCounts<Result>()
    let countsCell: LabelledCounterCell<Result>

    package init(privileged ctx: TileContext) throws {
        cache = TagCache(capacity: ctx.tile[Self.cacheSize])
        buffer = .allocate(byteCount: ctx.inputs.map(\.mtu).max() ?? 0, alignment: 64)
        countsCell = ctx.metrics.enumCounter(Self.transactions, Result.self)
    }

    // MARK: loop callbacks

    package mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer) {
        size = payload.count
        buffer.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
    }

    package mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) {
        guard cache.insert(meta.sig) else { counts[.duplicate] &+= 1; return }
        counts[.unique] &+= 1
        stem.buffer(0).copyMemory(from: buffer, byteCount: size)
        stem.publish(0, sig: meta.sig, size: size, tsorig: meta.tsorig)
    }

    package mutating func writeMetrics() {
        countsCell.publish(counts)
    }

    // MARK: seccomp

    package static var seccompPolicy: SeccompPolicy {
        RuntimePolicy.logging + RuntimePolicy.sleep + RuntimePolicy.common
    }
}
