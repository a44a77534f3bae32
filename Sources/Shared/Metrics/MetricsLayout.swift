/// The layout of one tile's metrics region, a flat array of UInt64 slots:
///
///     [in-link count][per-in-link metrics x in-link count][common tile metrics][tile-kind metrics]
///
/// The supervisor writes the in-link count when it formats the workspace
/// (`TileWorkspace.format`); after that only the owning tile writes it
/// (relaxed atomic stores), and everyone else maps it read-only.
package struct MetricsLayout: Codable, Sendable, Equatable {
    package let inLinkCount: Int
    package let linkSlots: Int
    package let commonSlots: Int
    package let kindSlots: Int

    package init(inLinkCount: Int, kindSchema: MetricSchema) {
        self.inLinkCount = inLinkCount
        self.linkSlots = LinkMetrics.schema.slotCount
        self.commonSlots = CommonMetrics.schema.slotCount
        self.kindSlots = kindSchema.slotCount
    }

    /// Slot 0 holds the in-link count.
    package var inLinkCountSlot: Int { 0 }
    package func linkOffset(_ link: Int) -> Int { 1 + link * linkSlots }
    package var commonOffset: Int { 1 + inLinkCount * linkSlots }
    package var kindOffset: Int { commonOffset + commonSlots }
    package var slotCount: Int { kindOffset + kindSlots }
    package var footprint: Int { slotCount * MemoryLayout<UInt64>.stride }
}
