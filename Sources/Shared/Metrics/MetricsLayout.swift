/// The layout of one tile's metrics region, a flat array of UInt64 slots:
///
///     [in-link count][per-in-link metrics x in-link count][common tile metrics][tile-kind metrics]
///
/// The supervisor writes the in-link count when it formats the workspace
/// (`TileWorkspace.format`); after that only the owning tile writes it
/// (relaxed atomic stores), and everyone else maps it read-only.
public struct MetricsLayout: Codable, Sendable, Equatable {
    public let inLinkCount: Int
    public let linkSlots: Int
    public let commonSlots: Int
    public let kindSlots: Int

    public init(inLinkCount: Int, kindSchema: MetricSchema) {
        self.inLinkCount = inLinkCount
        self.linkSlots = LinkMetrics.schema.slotCount
        self.commonSlots = CommonMetrics.schema.slotCount
        self.kindSlots = kindSchema.slotCount
    }

    /// Slot 0 holds the in-link count.
    public var inLinkCountSlot: Int { 0 }
    public func linkOffset(_ link: Int) -> Int { 1 + link * linkSlots }
    public var commonOffset: Int { 1 + inLinkCount * linkSlots }
    public var kindOffset: Int { commonOffset + commonSlots }
    public var slotCount: Int { kindOffset + kindSlots }
    public var footprint: Int { slotCount * MemoryLayout<UInt64>.stride }
}
