import CShim

/// The producer's side of one link instance: it writes a payload into the
/// dcache, then publishes its metadata line. Single producer by design.
///
/// Flow control: each reliable consumer publishes the next sequence number
/// it expects (its fseq); the producer may be at most `depth` fragments
/// ahead of the slowest one. Those are its credits, refreshed by reading the
/// fseqs. Unreliable consumers hold nothing back: they may be overrun.
///
/// The fast paths (`buffer`, `publish`) are inlinable: a tile in another
/// module compiles them into its own loop, as C would inline a header.
@usableFromInline package struct LinkProducer {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let mcache: UnsafeMutableRawPointer
    @usableFromInline let dcache: UnsafeMutableRawPointer
    @usableFromInline let mask: UInt64
    package let depth: Int
    @usableFromInline package let mtu: Int
    @usableFromInline let dataChunks: UInt32
    @usableFromInline let mtuChunks: UInt32
    /// Reliable consumers' fseqs (read-only views) and their slots.
    let fseqs: [(fseq: UnsafePointer<UInt64>, slot: Int)]

    @usableFromInline var nextSeq: UInt64 = 0
    @usableFromInline var nextChunk: UInt32 = 0
    @usableFromInline var creditsLeft: Int

    /// The next sequence number to publish.
    @inlinable package var seq: UInt64 { nextSeq }
    /// Where the next payload goes, in chunks.
    @inlinable package var chunk: UInt32 { nextChunk }
    /// Fragments that may still be published before the slowest reliable
    /// consumer has to catch up (Int.max without reliable consumers).
    @inlinable package var credits: Int { creditsLeft }

    /// - Parameters:
    ///   - base: the link workspace, mapped read-write and formatted.
    ///   - fseqs: each reliable consumer's fseq, mapped read-only, with its slot.
    package init(base: UnsafeMutableRawPointer, layout: LinkLayout, fseqs: [(fseq: UnsafePointer<UInt64>, slot: Int)]) {
        self.base = base
        mcache = base + layout.mcacheOffset
        dcache = base + layout.dcacheOffset
        mask = UInt64(layout.depth - 1)
        depth = layout.depth
        mtu = layout.mtu
        dataChunks = UInt32(layout.dataChunks)
        mtuChunks = UInt32(layout.mtuChunks)
        self.fseqs = fseqs
        creditsLeft = fseqs.isEmpty ? Int.max : layout.depth
    }

    /// Where the next payload is written: `mtu` bytes, valid until `publish`.
    @inlinable
    package var buffer: UnsafeMutableRawPointer { dcache + Int(nextChunk) &* LinkLayout.chunkBytes }

    /// Publishes the `size` bytes written at `buffer`. The caller holds a
    /// credit (`credits > 0`).
    @inlinable @inline(__always)
    package mutating func publish(sig: UInt64, size: Int, ctl: UInt16 = 0, tsorig: UInt32, tspub: UInt32) {
        // The one check the C reference does not make: a fragment over the
        // mtu would write into the next fragment's chunks.
        precondition(UInt(bitPattern: size) <= UInt(mtu), "fragment of \(size) bytes: not within the link's mtu \(mtu)")
        let line = mcache + Int(nextSeq & mask) &* LinkLayout.metaBytes
        let seqSlot = line.assumingMemoryBound(to: UInt64.self)
        // Mark the line in progress: a reader of the old fragment sees it
        // changed, a reader of this one sees it not yet published.
        cshim_store_relaxed_u64(seqSlot, nextSeq &- 1)
        cshim_fence_release()
        line.storeBytes(of: sig, toByteOffset: FragMeta.sigOffset, as: UInt64.self)
        line.storeBytes(of: nextChunk, toByteOffset: FragMeta.chunkOffset, as: UInt32.self)
        line.storeBytes(of: UInt16(truncatingIfNeeded: size), toByteOffset: FragMeta.sizeOffset, as: UInt16.self)
        line.storeBytes(of: ctl, toByteOffset: FragMeta.ctlOffset, as: UInt16.self)
        line.storeBytes(of: tsorig, toByteOffset: FragMeta.tsorigOffset, as: UInt32.self)
        line.storeBytes(of: tspub, toByteOffset: FragMeta.tspubOffset, as: UInt32.self)
        cshim_store_release_u64(seqSlot, nextSeq)
        nextSeq &+= 1
        // Without reliable consumers credits stay Int.max.
        creditsLeft &-= creditsLeft == Int.max ? 0 : 1
        // Compact allocation: the next payload follows this one, wrapping
        // when a full mtu would not fit.
        nextChunk &+= max(1, (UInt32(truncatingIfNeeded: size) &+ 63) >> 6)
        if nextChunk &+ mtuChunks > dataChunks { nextChunk = 0 }
    }

    /// Re-reads every reliable consumer's fseq. Returns the slots of the
    /// consumers that hold the producer at zero credits (empty otherwise).
    /// Called on every backpressured iteration: allocates nothing.
    @discardableResult
    @usableFromInline package mutating func refreshCredits() -> ConsumerSlots {
        var least = Int.max
        var slow = ConsumerSlots()
        // By index: iterating an array of tuples allocates in a debug build.
        for i in 0..<fseqs.count {
            let (fseq, slot) = fseqs[i]
            let consumed = cshim_load_acquire_u64(fseq)
            // A consumer can only be behind; anything else is garbage from a
            // misbehaving consumer, which then gets no say.
            let inFlight = Int(truncatingIfNeeded: nextSeq &- consumed)
            let c = inFlight < 0 || inFlight > depth ? depth : depth - inFlight
            if c < least { least = c; slow = ConsumerSlots() }
            if c == least { slow.insert(slot) }
        }
        if !fseqs.isEmpty { creditsLeft = least }
        return least == 0 ? slow : ConsumerSlots()
    }

    /// Counts one more time `slot` held the producer back.
    @usableFromInline package func countSlow(_ slot: Int) {
        let p = base.assumingMemoryBound(to: UInt64.self) + LinkHeader.slowSlot + slot
        cshim_store_relaxed_u64(p, cshim_load_relaxed_u64(p) &+ 1)
    }

    /// Publishes how many fragments went out (for monitors).
    @usableFromInline package func writeHeader() {
        cshim_store_relaxed_u64(base.assumingMemoryBound(to: UInt64.self) + LinkHeader.publishedSlot, nextSeq)
    }
}

/// A set of consumer slots (0 ..< `LinkHeader.maxConsumers`) in one word.
@usableFromInline package struct ConsumerSlots: Equatable, Sequence, ExpressibleByArrayLiteral, Sendable {
    private var bits: UInt64 = 0

    package init() {}

    @usableFromInline package init(arrayLiteral slots: Int...) {
        for slot in slots { insert(slot) }
    }

    package mutating func insert(_ slot: Int) {
        precondition((0..<LinkHeader.maxConsumers).contains(slot), "consumer slot \(slot) out of range")
        bits |= 1 << UInt64(slot)
    }

    package var isEmpty: Bool { bits == 0 }

    @usableFromInline package func makeIterator() -> Iterator { Iterator(bits: bits) }

    @usableFromInline package struct Iterator: IteratorProtocol {
        var bits: UInt64
        @usableFromInline package mutating func next() -> Int? {
            guard bits != 0 else { return nil }
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            return slot
        }
    }
}
