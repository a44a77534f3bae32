import CShim

/// A consumer's side of one link instance, over a read-only mapping of its
/// workspace. It reads fragments in sequence order and never hands out one
/// that was overwritten while it read: every copy is followed by a re-check
/// of the metadata line's sequence number.
///
/// The fast paths (`poll`, `payload`, `stillValid`, `advance`,
/// `publishProgress`) are inlinable: a tile in another module compiles them
/// into its own loop.
@usableFromInline package struct LinkReader {
    @usableFromInline let header: UnsafePointer<UInt64>
    @usableFromInline let mcache: UnsafeRawPointer
    @usableFromInline let dcache: UnsafeRawPointer
    @usableFromInline let mask: UInt64
    package let depth: Int
    @usableFromInline package let mtu: Int
    @usableFromInline let dcacheBytes: Int
    /// This consumer's flow-control word (in its own workspace), or nil
    /// when unreliable.
    @usableFromInline let fseq: UnsafeMutablePointer<UInt64>?
    package let slot: Int
    /// How many fragments a consumer reads between credit returns: a
    /// quarter of the ring, so the producer gets credits back well before
    /// it runs out.
    @usableFromInline package let progressStride: UInt64

    @usableFromInline var nextSeq: UInt64 = 0
    @usableFromInline var publishedFseq: UInt64 = 0

    /// The next sequence number this consumer expects.
    @inlinable package var seq: UInt64 { nextSeq }

    package init(base: UnsafeRawPointer, layout: LinkLayout, fseq: UnsafeMutablePointer<UInt64>?, slot: Int) {
        header = base.assumingMemoryBound(to: UInt64.self)
        mcache = base + layout.mcacheOffset
        dcache = base + layout.dcacheOffset
        mask = UInt64(layout.depth - 1)
        depth = layout.depth
        mtu = layout.mtu
        dcacheBytes = layout.dataChunks * LinkLayout.chunkBytes
        self.fseq = fseq
        self.slot = slot
        progressStride = UInt64(max(1, layout.depth / 4))
    }

    @usableFromInline package enum Poll: Equatable {
        /// Nothing new.
        case caughtUp
        /// The producer lapped this consumer: `skipped` fragments are gone;
        /// the consumer now expects the newest one.
        case overrun(skipped: UInt64)
        /// The next fragment's metadata; its payload is at `payload(of:)`
        /// until the producer laps it, which `stillValid` tells.
        case frag(FragMeta)
        /// The line changed while its metadata was read, or the metadata
        /// points outside the dcache: the fragment is skipped.
        case torn
    }

    /// Looks at the next fragment without consuming it.
    @inlinable @inline(__always)
    package mutating func poll() -> Poll {
        let line = mcache + Int(nextSeq & mask) &* LinkLayout.metaBytes
        let found = cshim_load_acquire_u64(line.assumingMemoryBound(to: UInt64.self))
        let ahead = Int64(bitPattern: found &- nextSeq)
        if ahead < 0 { return .caughtUp }
        if ahead > 0 {
            let skipped = found &- nextSeq
            nextSeq = found
            return .overrun(skipped: skipped)
        }
        let meta = FragMeta(
            seq: found,
            sig: line.load(fromByteOffset: FragMeta.sigOffset, as: UInt64.self),
            chunk: line.load(fromByteOffset: FragMeta.chunkOffset, as: UInt32.self),
            size: line.load(fromByteOffset: FragMeta.sizeOffset, as: UInt16.self),
            ctl: line.load(fromByteOffset: FragMeta.ctlOffset, as: UInt16.self),
            tsorig: line.load(fromByteOffset: FragMeta.tsorigOffset, as: UInt32.self),
            tspub: line.load(fromByteOffset: FragMeta.tspubOffset, as: UInt32.self))
        guard stillValid(meta.seq) else {
            nextSeq &+= 1
            return .torn
        }
        // The producer is another process: never trust where it says the
        // payload is.
        guard Int(meta.size) <= mtu, Int(meta.chunk) &* LinkLayout.chunkBytes &+ Int(meta.size) <= dcacheBytes else {
            nextSeq &+= 1
            return .torn
        }
        return .frag(meta)
    }

    /// The payload of `meta`. Copy or use it, then check `stillValid`.
    @inlinable
    package func payload(of meta: FragMeta) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: dcache + Int(meta.chunk) &* LinkLayout.chunkBytes, count: Int(meta.size))
    }

    /// Whether fragment `seq`'s line still holds it: everything read since
    /// `poll` returned it is then untorn.
    @inlinable @inline(__always)
    package func stillValid(_ seq: UInt64) -> Bool {
        cshim_fence_acquire()
        let line = mcache + Int(seq & mask) &* LinkLayout.metaBytes
        return cshim_load_relaxed_u64(line.assumingMemoryBound(to: UInt64.self)) == seq
    }

    /// Moves past the fragment `poll` returned (consumed, filtered, or
    /// lost while reading).
    @inlinable
    package mutating func advance() { nextSeq &+= 1 }

    /// Publishes how far this consumer got, giving the producer credits.
    /// Cheap to call often; stores only when something changed.
    @inlinable
    package mutating func publishProgress() {
        guard let fseq, publishedFseq != nextSeq else { return }
        cshim_store_release_u64(fseq, nextSeq)
        publishedFseq = nextSeq
    }

    /// Fragments consumed since the last `publishProgress`.
    @inlinable
    package var unpublished: UInt64 { nextSeq &- publishedFseq }

    /// How often the producer found this consumer holding it back.
    @usableFromInline package var slowCount: UInt64 {
        cshim_load_relaxed_u64(UnsafeMutablePointer(mutating: header + LinkHeader.slowSlot + slot))
    }
}
