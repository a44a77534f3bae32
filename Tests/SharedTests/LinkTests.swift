import MallocCounter
import Testing

@testable import Shared

/// A link instance in ordinary memory, with one consumer's fseq.
final class TestLink {
    let layout: LinkLayout
    let memory: UnsafeMutableRawPointer
    let fseq = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
    var producer: LinkProducer
    var reader: LinkReader

    init(depth: Int, mtu: Int, reliable: Bool = true) {
        layout = LinkLayout(depth: depth, mtu: mtu)
        memory = .allocate(byteCount: layout.footprint, alignment: 128)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: layout.footprint)
        LinkHeader.format(memory, layout)
        fseq.initialize(repeating: 0, count: 8)
        producer = LinkProducer(base: memory, layout: layout, fseqs: reliable ? [(UnsafePointer(fseq), 0)] : [])
        reader = LinkReader(base: UnsafeRawPointer(memory), layout: layout, fseq: reliable ? fseq : nil, slot: 0)
    }

    deinit {
        memory.deallocate()
        fseq.deallocate()
    }

    /// Publishes a payload of `size` bytes, each byte the low byte of its seq.
    func publish(size: Int) {
        let seq = producer.seq
        producer.buffer.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: seq), count: size)
        producer.publish(sig: seq &* 31, size: size, tsorig: UInt32(truncatingIfNeeded: seq), tspub: 7)
    }

    /// Reads the next fragment whole, or says why not.
    func read() -> (LinkReader.Poll, [UInt8]?) {
        let p = reader.poll()
        guard case .frag(let meta) = p else { return (p, nil) }
        let bytes = Array(reader.payload(of: meta))
        guard reader.stillValid(meta.seq) else { return (.torn, nil) }
        reader.advance()
        return (p, bytes)
    }
}

struct LinkTests {
    @Test func fragmentsArriveInOrderAcrossManyWraparounds() {
        let link = TestLink(depth: 8, mtu: 100)
        var rng = SplitMix64(seed: 1)
        for seq in 0..<1000 {
            let size = Int(rng.next() % 101)
            link.publish(size: size)
            let (poll, bytes) = link.read()
            guard case .frag(let meta) = poll else { Issue.record("seq \(seq): \(poll)"); return }
            #expect(meta.seq == UInt64(seq) && meta.sig == UInt64(seq) &* 31 && Int(meta.size) == size)
            #expect(meta.tsorig == UInt32(seq) && meta.tspub == 7)
            #expect(bytes == [UInt8](repeating: UInt8(truncatingIfNeeded: seq), count: size))
            link.reader.publishProgress()
        }
        #expect(link.read().0 == .caughtUp)
    }

    @Test func anEmptyRingIsCaughtUp() {
        let link = TestLink(depth: 4, mtu: 64)
        #expect(link.reader.poll() == .caughtUp)
    }

    @Test func aLappedConsumerDetectsTheOverrunAndResynchronises() {
        let link = TestLink(depth: 8, mtu: 64, reliable: false)
        for _ in 0..<21 { link.publish(size: 10) }  // seqs 0...20; the ring holds 13...20
        // Line of seq 0 now holds seq 16: 16 fragments behind it are gone.
        #expect(link.reader.poll() == .overrun(skipped: 16))
        for seq in 16...20 {
            let (poll, _) = link.read()
            guard case .frag(let meta) = poll else { Issue.record("\(poll)"); return }
            #expect(meta.seq == UInt64(seq))
        }
        #expect(link.read().0 == .caughtUp)
    }

    @Test func aFragmentOverwrittenWhileReadIsNeverHandedOut() {
        let link = TestLink(depth: 8, mtu: 64, reliable: false)
        link.publish(size: 64)
        guard case .frag(let meta) = link.reader.poll() else { Issue.record("no frag"); return }
        #expect(link.reader.stillValid(meta.seq))
        // The producer laps the reader between its poll and its re-check.
        for _ in 0..<8 { link.publish(size: 64) }
        #expect(!link.reader.stillValid(meta.seq))
    }

    @Test func aPayloadIsReusedOnlyAfterItsLineWasReused() {
        // For every pair of fragments whose payloads overlap, the later one
        // is at least depth + 1 sequence numbers after: by then the earlier
        // one's metadata line was overwritten, so a reader re-checking it
        // notices.
        let depth = 16
        let link = TestLink(depth: depth, mtu: 300)
        var rng = SplitMix64(seed: 7)
        var placed: [(seq: Int, range: Range<Int>)] = []
        for seq in 0..<5000 {
            let size = Int(rng.next() % 301)
            let start = Int(link.producer.chunk) * LinkLayout.chunkBytes
            placed.append((seq, start..<(start + max(size, 1))))
            link.publish(size: size)
            link.fseq.pointee = link.producer.seq  // a consumer that keeps up
        }
        for (i, a) in placed.enumerated() {
            for b in placed[(i + 1)...].prefix(depth) where a.range.overlaps(b.range) {
                Issue.record("seq \(b.seq) reuses the payload of seq \(a.seq)")
            }
        }
    }

    @Test func reliableConsumersGiveCreditsAndNameTheSlowOne() {
        let link = TestLink(depth: 8, mtu: 64)
        #expect(link.producer.credits == 8)
        for _ in 0..<8 { link.publish(size: 1) }
        #expect(link.producer.credits == 0)
        #expect(link.producer.refreshCredits() == [0], "slot 0 holds the producer back")
        for _ in 0..<3 { _ = link.read() }
        link.reader.publishProgress()
        #expect(link.producer.refreshCredits() == [])
        #expect(link.producer.credits == 3)
        link.producer.countSlow(0)
        #expect(link.reader.slowCount == 1)
    }

    /// The stem refreshes credits on every backpressured iteration: that
    /// must not touch the heap.
    @Test func aBackpressuredRefreshAllocatesNothing() {
        let link = TestLink(depth: 8, mtu: 64)
        for _ in 0..<8 { link.publish(size: 1) }
        var named = 0
        // Once first: the runtime caches metadata on first use.
        var warm = 0
        for slot in link.producer.refreshCredits() { warm += slot + 1 }
        #expect(warm == 1)
        let before = malloc_counter_thread_allocations()
        for _ in 0..<1000 {
            for slot in link.producer.refreshCredits() { named += slot + 1 }
        }
        let allocations = malloc_counter_thread_allocations() - before
        #expect(allocations == 0, "\(allocations) allocations in 1,000 backpressured refreshes")
        #expect(named == 1000, "slot 0 named each time")
    }

    @Test func unreliableConsumersNeverHoldTheProducer() {
        let link = TestLink(depth: 4, mtu: 64, reliable: false)
        for _ in 0..<100 { link.publish(size: 1) }
        #expect(link.producer.credits == Int.max)
        #expect(link.producer.refreshCredits() == [])
    }

    @Test func anImpossibleFseqHasNoSayInCredits() {
        // A consumer claiming to be ahead of the producer is broken or
        // hostile: it is treated as if it were unreliable.
        let link = TestLink(depth: 8, mtu: 64)
        link.fseq.pointee = 1_000_000
        link.producer.refreshCredits()
        #expect(link.producer.credits == 8)
    }

    @Test func metadataPointingOutsideTheDcacheIsRefused() {
        let link = TestLink(depth: 4, mtu: 64)
        link.publish(size: 8)
        // A misbehaving producer writes a chunk index past the dcache.
        let line = link.memory + link.layout.mcacheOffset
        line.storeBytes(of: UInt32(1 << 30), toByteOffset: FragMeta.chunkOffset, as: UInt32.self)
        #expect(link.reader.poll() == .torn)
        #expect(link.reader.seq == 1, "skipped")
    }
}
