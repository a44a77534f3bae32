#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Shared

/// The tile workspace object over ordinary memory: what the supervisor
/// writes, what the tile checks, where the words are.
struct TileWorkspaceTests {
    /// A zeroed workspace for tile 1 of a two-tile topology whose tiles each
    /// have `inLinks` in-links, and its memory (freed by the caller).
    static func make(inLinks: Int) -> (TileWorkspace, UnsafeMutableRawPointer) {
        let metrics = MetricsLayout(inLinkCount: inLinks, kindSchema: FakeTile.schema)
        var (memory, footprint) = TileMemory.place(metrics: metrics, inLinks: inLinks, scratch: 4096, page: .normal)
        memory.workspace = 1
        let base = UnsafeMutableRawPointer.allocate(byteCount: footprint, alignment: 4096)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: footprint)
        return (TileWorkspace(WorkspaceMapping(base: base, length: footprint, writable: true), memory), base)
    }

    @Test func aWorkspaceIsTrustedOnlyOnceFormattedForThatTile() {
        let (w, base) = Self.make(inLinks: 2)
        defer { base.deallocate() }
        #expect(!w.isFormatted(forTile: 1), "a zeroed workspace is not formatted")
        w.format(tileIndex: 1)
        #expect(w.isFormatted(forTile: 1))
        #expect(!w.isFormatted(forTile: 0), "formatted for another tile")
        #expect(w.metricsReader.base[w.memory.metrics.inLinkCountSlot] == 2, "the metrics region says how many in-links")
    }

    @Test func haltSetsTheWordTheTilePolls() {
        let (w, base) = Self.make(inLinks: 0)
        defer { base.deallocate() }
        w.format(tileIndex: 1)
        #expect(w.haltWord.pointee == 0)
        w.halt()
        #expect(w.haltWord.pointee == 1)
        #expect(w.isFormatted(forTile: 1), "halting leaves the header valid")
    }

    @Test func eachInLinksFlowControlWordHasACacheLineOfItsOwnAfterTheMetrics() {
        let (w, base) = Self.make(inLinks: 3)
        defer { base.deallocate() }
        let words = (0..<3).map { UnsafeMutableRawPointer(w.fseq(in: $0)) - base }
        #expect(words == [w.memory.fseqOffset, w.memory.fseqOffset + 64, w.memory.fseqOffset + 128])
        #expect(w.memory.fseqOffset >= w.memory.metricsOffset + w.memory.metrics.footprint)
        #expect(words.last! + 64 <= w.memory.metricsSpan, "the fseqs are in the span others map read-only")
        #expect(w.scratch.base - base >= w.memory.metricsSpan, "the scratch is past that span")
    }
}
