/// Huffman codes as DEFLATE (RFC 1951 §3.2.2) wants them: code lengths
/// limited to a maximum, canonical codes assigned from the lengths, each
/// code bit-reversed because DEFLATE packs Huffman codes most significant
/// bit first into a stream written least significant bit first.
struct HuffmanCode {
    /// Per symbol: its code, already reversed for LSB-first writing.
    let codes: [UInt32]
    /// Per symbol: its code length (0: the symbol has no code).
    let lengths: [UInt8]

    /// An optimal code for `frequencies`, lengths at most `maxLength`.
    /// Symbols of frequency 0 get no code. When the optimal code is deeper
    /// than allowed, frequencies are flattened (halved, kept at least 1)
    /// and the code rebuilt: slightly less than optimal, always valid.
    init(frequencies: [Int], maxLength: Int) {
        var freq = frequencies
        var lengths = Self.optimalLengths(freq)
        while (lengths.max() ?? 0) > maxLength {
            freq = freq.map { $0 == 0 ? 0 : max(1, $0 >> 1) }
            lengths = Self.optimalLengths(freq)
        }
        self.lengths = lengths.map { UInt8($0) }
        codes = Self.canonicalCodes(lengths)
    }

    /// Code lengths of an optimal prefix code (Huffman's algorithm). A lone
    /// used symbol gets length 1 (a DEFLATE decoder needs a complete code or
    /// one code of length 1).
    static func optimalLengths(_ freq: [Int]) -> [Int] {
        let used = freq.indices.filter { freq[$0] > 0 }
        var lengths = [Int](repeating: 0, count: freq.count)
        if used.count == 1 { lengths[used[0]] = 1 }
        guard used.count > 1 else { return lengths }
        // Nodes: leaves 0..<n, then internal ones; parent links give depths.
        var weight = used.map { freq[$0] }
        var parent = [Int](repeating: -1, count: 2 * used.count)
        // Two queues (leaves sorted, internal nodes in creation order) make
        // Huffman's merge linear after the sort.
        let leaves = weight.indices.sorted { weight[$0] < weight[$1] }
        var li = 0, qi = used.count
        func pop() -> Int {
            if li < leaves.count && (qi >= weight.count || weight[leaves[li]] <= weight[qi]) {
                li += 1
                return leaves[li - 1]
            }
            qi += 1
            return qi - 1
        }
        while weight.count < 2 * used.count - 1 {
            let a = pop(), b = pop()
            weight.append(weight[a] + weight[b])
            parent[a] = weight.count - 1
            parent[b] = weight.count - 1
        }
        var depth = [Int](repeating: 0, count: weight.count)
        for node in stride(from: weight.count - 2, through: 0, by: -1) { depth[node] = depth[parent[node]] + 1 }
        for (leaf, symbol) in used.enumerated() { lengths[symbol] = depth[leaf] }
        return lengths
    }

    /// RFC 1951 §3.2.2: codes of each length are consecutive, shorter codes
    /// first, in symbol order within a length; then bit-reversed.
    static func canonicalCodes(_ lengths: [Int]) -> [UInt32] {
        let maxLength = lengths.max() ?? 0
        var count = [Int](repeating: 0, count: maxLength + 1)
        for l in lengths where l > 0 { count[l] += 1 }
        var next = [Int](repeating: 0, count: maxLength + 2)
        var code = 0
        if maxLength > 0 {
            for bits in 1...maxLength {
                code = (code + count[bits - 1]) << 1
                next[bits] = code
            }
        }
        return lengths.map { l in
            guard l > 0 else { return 0 }
            let c = next[l]
            next[l] += 1
            return reverse(UInt32(c), l)
        }
    }

    static func reverse(_ code: UInt32, _ length: Int) -> UInt32 {
        var r: UInt32 = 0
        var c = code
        for _ in 0..<length {
            r = (r << 1) | (c & 1)
            c >>= 1
        }
        return r
    }
}

/// DEFLATE's length and distance codes (RFC 1951 §3.2.5).
enum DeflateCodes {
    static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// Length 3...258 → (index into the tables: symbol 257 + index, extra value).
    static func length(_ l: Int) -> (index: Int, extra: Int) {
        var i = lengthBase.count - 1
        while lengthBase[i] > l { i -= 1 }
        return (i, l - lengthBase[i])
    }

    /// Distance 1...32768 → (code, extra value).
    static func distance(_ d: Int) -> (code: Int, extra: Int) {
        var i = distanceBase.count - 1
        while distanceBase[i] > d { i -= 1 }
        return (i, d - distanceBase[i])
    }

    /// Order in which the code-length code's lengths are sent.
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
}

/// Bits written least significant first, as DEFLATE packs them, into
/// memory the caller sized with 8 bytes to spare: every `put` stores the
/// whole 64-bit accumulator and moves on by the bytes it completed, so no
/// branch depends on how many bits are pending. `put` takes at most 32 bits.
struct BitWriter {
    var out: UnsafeMutableRawPointer
    var acc: UInt64 = 0
    var count = 0

    init(_ out: UnsafeMutableRawPointer) { self.out = out }

    @inline(__always)
    mutating func put(_ bits: UInt64, _ n: Int) {
        acc |= bits &<< UInt64(count)
        count &+= n
        out.storeBytes(of: acc.littleEndian, as: UInt64.self)
        let bytes = count &>> 3
        out += bytes
        acc = acc &>> UInt64(bytes &* 8)  // at most 39 bits pending: at most 4 bytes complete
        count &= 7
    }

    /// Writes what is left, padding to a whole byte; returns the end.
    mutating func flush() -> UnsafeMutableRawPointer {
        if count > 0 {
            out.storeBytes(of: UInt8(truncatingIfNeeded: acc), as: UInt8.self)
            out += 1
        }
        acc = 0
        count = 0
        return out
    }
}
