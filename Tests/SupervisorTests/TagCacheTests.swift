import Testing

@testable import Tiles

/// Dedup's tag cache against a plain model (a set and a FIFO of the last
/// `capacity` tags): it must answer exactly as the model does. CI found it
/// forgetting a tag: evicting shifted entries back and opened a hole before
/// the slot a new tag had already been given.
struct TagCacheTests {
    @Test(arguments: [16, 100, 2048])
    func answersAsTheModelDoes(_ capacity: Int) {
        var rng = Lcg(seed: UInt64(capacity))
        var cache = TagCache(capacity: capacity)
        var fifo: [UInt64] = []
        var set = Set<UInt64>()
        for step in 0..<(capacity * 30) {
            // Few distinct tags, so hits, misses and evictions all happen.
            let tag = (rng.next() % UInt64(capacity * 3)) &* 0x9E37_79B9_7F4A_7C15
            let fresh = !set.contains(tag)
            let inserted = cache.insert(tag)
            #expect(inserted == fresh, "capacity \(capacity), step \(step)")
            if inserted != fresh { return }
            if fresh {
                if fifo.count == capacity { set.remove(fifo.removeFirst()) }
                fifo.append(tag)
                set.insert(tag)
            }
        }
        #expect(cache.count == min(capacity, set.count))
    }

    struct Lcg {
        var state: UInt64
        init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1 }
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
    }
}
