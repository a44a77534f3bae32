/// A bounded set of 64-bit tags remembering the last `capacity` inserted:
/// an open-addressing table (linear probing, at most half full) and a FIFO
/// ring that evicts the oldest tag when full. Fixed memory, no allocation
/// after init.
struct TagCache {
    let capacity: Int
    private var table: [UInt64]
    private let mask: Int
    private var ring: [UInt64]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        var slots = 2
        while slots < capacity * 2 { slots <<= 1 }
        table = [UInt64](repeating: 0, count: slots)
        mask = slots - 1
        ring = [UInt64](repeating: 0, count: capacity)
    }

    /// 0 marks an empty slot, so tag 0 is stored as 1.
    @inline(__always) private static func key(_ tag: UInt64) -> UInt64 { tag == 0 ? 1 : tag }
    @inline(__always) private func home(_ k: UInt64) -> Int { Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    func contains(_ tag: UInt64) -> Bool {
        let k = Self.key(tag)
        var i = home(k)
        while table[i] != 0 {
            if table[i] == k { return true }
            i = (i + 1) & mask
        }
        return false
    }

    /// Inserts `tag`; returns false (and changes nothing) if it is present.
    mutating func insert(_ tag: UInt64) -> Bool {
        let k = Self.key(tag)
        if contains(tag) { return false }
        // Evict first, then probe: evicting shifts entries back and can
        // open a hole before a slot found earlier, which would leave the new
        // tag where no lookup reaches it.
        if count == capacity {
            remove(ring[head])
        } else {
            count += 1
        }
        var i = home(k)
        while table[i] != 0 { i = (i + 1) & mask }
        table[i] = k
        ring[head] = k
        head = (head + 1) % capacity
        return true
    }

    /// Linear-probing deletion by backward shift: later entries of the same
    /// run move up, so lookups never stop early at a hole.
    private mutating func remove(_ k: UInt64) {
        var i = home(k)
        while table[i] != k {
            if table[i] == 0 { return }
            i = (i + 1) & mask
        }
        var hole = i
        var j = (i + 1) & mask
        while table[j] != 0 {
            let h = home(table[j])
            // Move table[j] into the hole if its home is not in (hole, j].
            let between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !between {
                table[hole] = table[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        table[hole] = 0
    }
}
