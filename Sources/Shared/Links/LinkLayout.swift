import CShim

/// The layout of one link instance's workspace, computed once from depth and
/// mtu:
///
///     [header: magic, depth, mtu, published count, slow count per consumer]
///     [mcache: depth fragment metadata lines of 32 B]
///     [dcache: payload chunks of 64 B]
///
/// The producer maps it read-write; every consumer maps it read-only. The
/// consumers' flow-control sequences live in their own tile workspaces
/// (each consumer writes only its own memory); the producer maps those
/// read-only.
@usableFromInline package struct LinkLayout: Codable, Sendable, Equatable {
    // Computed, not stored: the producer's and reader's inlined fast paths
    // read them as constants, with no lazy-initialization check.
    @inlinable package static var chunkBytes: Int { 64 }
    @inlinable package static var metaBytes: Int { 32 }

    package let depth: Int
    package let mtu: Int
    package let mcacheOffset: Int
    package let dcacheOffset: Int
    /// Payload chunks in the dcache.
    package let dataChunks: Int
    package let footprint: Int

    /// Chunks one frag of `mtu` bytes takes.
    package var mtuChunks: Int { max(1, (mtu + Self.chunkBytes - 1) / Self.chunkBytes) }

    package init(depth: Int, mtu: Int) {
        precondition(depth >= 2 && depth & (depth - 1) == 0, "depth must be a power of two")
        self.depth = depth
        self.mtu = mtu
        var l = LayoutBuilder()
        _ = l.append(LinkHeader.bytes, align: 128)
        mcacheOffset = l.append(depth * Self.metaBytes, align: 128)
        // The payload of seq s is overwritten only by seq s + depth + 1 or
        // later, after the metadata line of s was reused by s + depth, so a
        // consumer that re-checks the line after copying the payload never
        // accepts a torn payload. One more mtu absorbs the gap left when the
        // write position wraps.
        let chunks = (depth + 2) * max(1, (mtu + Self.chunkBytes - 1) / Self.chunkBytes)
        dataChunks = chunks
        dcacheOffset = l.append(chunks * Self.chunkBytes, align: 128)
        footprint = l.footprint(align: 128)
    }
}

/// Words of the link header (UInt64 slots).
package enum LinkHeader {
    package static let magicSlot = 0
    package static let magic: UInt64 = 0x314B_4E49_4C54_4354  // "TCTLINK1"
    package static let depthSlot = 1
    package static let mtuSlot = 2
    /// Fragments published so far (the producer's next sequence number),
    /// written by the producer in housekeeping; for monitors.
    package static let publishedSlot = 3
    /// Per consumer slot: times the producer found this consumer holding
    /// it back (written by the producer, read by the consumer for its
    /// `link_slow_total`).
    @inlinable package static var slowSlot: Int { 8 }
    package static let maxConsumers = 64
    package static let bytes = (slowSlot + maxConsumers) * 8

    /// Writes a fresh header and marks every metadata line empty. New
    /// workspace memory reads as zero; only the non-zero parts are written.
    package static func format(_ base: UnsafeMutableRawPointer, _ layout: LinkLayout) {
        let h = base.assumingMemoryBound(to: UInt64.self)
        h[depthSlot] = UInt64(layout.depth)
        h[mtuSlot] = UInt64(layout.mtu)
        for line in 0..<layout.depth {
            // Sequence number "before 0": no consumer takes it as published.
            (base + layout.mcacheOffset + line * LinkLayout.metaBytes).storeBytes(of: UInt64.max, as: UInt64.self)
        }
        cshim_store_release_u64(h + magicSlot, magic)
    }
}

/// One fragment's metadata, as a consumer copied it out of the ring.
public struct FragMeta: Sendable, Equatable {
    /// The fragment's sequence number on its link: consecutive per link,
    /// wrapping at 2^64; a consumer that sees a gap was overrun.
    public var seq: UInt64
    /// Chosen by the producer: a filter tag or a hash consumers can look at
    /// without reading the payload.
    public var sig: UInt64
    /// Payload position in the dcache, in 64-byte chunks.
    public var chunk: UInt32
    /// Payload bytes, at most the link's mtu.
    public var size: UInt16
    /// Control bits chosen by the producer and passed through unchanged
    /// (0 unless the kinds on both ends agree on a meaning).
    public var ctl: UInt16
    /// Low 32 bits of the monotonic clock (ns) when the work entered the
    /// topology, carried along by every tile that forwards it.
    public var tsorig: UInt32
    /// Low 32 bits of the monotonic clock (ns) when this fragment was published.
    public var tspub: UInt32

    /// A metadata value; tiles receive these from the stem and need to make
    /// one only in tests.
    public init(seq: UInt64, sig: UInt64, chunk: UInt32, size: UInt16, ctl: UInt16, tsorig: UInt32, tspub: UInt32) {
        self.seq = seq
        self.sig = sig
        self.chunk = chunk
        self.size = size
        self.ctl = ctl
        self.tsorig = tsorig
        self.tspub = tspub
    }

    // Byte offsets inside a 32-byte metadata line.
    @inlinable static var seqOffset: Int { 0 }
    @inlinable static var sigOffset: Int { 8 }
    @inlinable static var chunkOffset: Int { 16 }
    @inlinable static var sizeOffset: Int { 20 }
    @inlinable static var ctlOffset: Int { 22 }
    @inlinable static var tsorigOffset: Int { 24 }
    @inlinable static var tspubOffset: Int { 28 }
}

/// The low 32 bits of the monotonic clock: timestamps that fit a metadata
/// line and subtract correctly across processes for intervals under 4 s.
@inlinable
public func compressedTimestamp(_ nanos: Int64 = Clock.monotonicNanos()) -> UInt32 {
    UInt32(truncatingIfNeeded: nanos)
}

/// Nanoseconds from `earlier` to `later`, two compressed timestamps.
@inlinable
public func compressedInterval(from earlier: UInt32, to later: UInt32) -> UInt64 {
    UInt64(later &- earlier)
}
