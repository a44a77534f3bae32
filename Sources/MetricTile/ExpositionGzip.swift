import CDeflate
import CShim
import Shared

/// gzip (RFC 1952) of an exposition, encoded for its structure rather than
/// searched for: the static part of every line (names, labels, HELP and
/// TYPE text) is known when the plan is built, and it mostly repeats the
/// lines just before it. So the LZ77 parse of every static run is done once,
/// at init, against the static runs of the previous `window` operations
/// (and its own earlier bytes): a scrape replays it, computing each match's
/// distance from where those runs landed this time (values between them
/// vary in width), and writes the values as literals. The Huffman tables
/// are built once, from a scrape's symbol counts, and sent as one dynamic
/// block. The CRC-32 is libdeflate's (carry-less multiplication), over
/// the plain text rendered in the same pass. Nothing is allocated, nothing
/// is searched, and no syscall is made per scrape.
///
/// The body inflates, with any inflater, to exactly the plain exposition
/// rendered at the same instant: tested against zlib on every scrape of the
/// integration tests, fuzzed differentially (`fuzz/FuzzDeflate`).
package final class ExpositionGzip {
    /// Static runs of this many operations before are searched for matches.
    static let window = 8
    /// The shortest match worth a length and a distance code.
    static let minMatch = 4
    /// The most bytes a value and its newline take ("18446744073.709551615\n"
    /// is 22), with room to spare.
    static let valueBytes = 32

    package let plan: ExpositionPlan

    /// One step of an operation's static run, replayed every scrape.
    struct Item {
        /// Bits to write as they are (literal codes, a length code, or a
        /// whole match whose distance is fixed), and how many.
        var bits: UInt64
        var count: UInt8
        /// 0: no distance to compute. Else the match's source is the static
        /// run of the operation `back` places before, at `source`; its
        /// target is at `target` in this operation's static run.
        var back: UInt8
        var source: UInt16
        var target: UInt16
    }

    private let items: UnsafeMutableBufferPointer<Item>
    /// Items of operation i: `itemStart[i] ..< itemStart[i + 1]`.
    private let itemStart: UnsafeMutableBufferPointer<Int32>
    /// Where each operation's static run started in this scrape's plain text.
    private let opStart: UnsafeMutableBufferPointer<Int>
    /// Literal and end-of-block codes: bits in the low 32, length above.
    private let literals: UnsafeMutableBufferPointer<UInt64>
    /// Two digits "00"..."99" as one pair of literal codes, packed the same way.
    private let digitPairs: UnsafeMutableBufferPointer<UInt64>
    /// Distance 1...32768 → its code and extra bits, packed the same way.
    private let distances: UnsafeMutableBufferPointer<UInt64>
    /// The dynamic block's header, as bits: bits in the low 32, count above.
    private let header: UnsafeMutableBufferPointer<UInt64>
    /// The most a scrape's compressed body can take.
    package let maxSize: Int

    package init(plan: ExpositionPlan) {
        self.plan = plan
        let ops = plan.storage.ops
        let statics = UnsafeRawBufferPointer(plan.storage.statics)
        let parse = Self.parse(ops, statics)

        // Symbol counts from one scrape of the values as they are now,
        // every symbol at least once: a value a later scrape writes always
        // has a code. Digits and the punctuation of numbers get a head start.
        var litFreq = [Int](repeating: 1, count: 286)
        var distFreq = [Int](repeating: 1, count: 30)
        for c in Array("0123456789.\n".utf8) { litFreq[Int(c)] += plan.seriesCount }
        Self.count(parse, ops, statics, &litFreq, &distFreq)
        let lit = HuffmanCode(frequencies: litFreq, maxLength: 15)
        let dist = HuffmanCode(frequencies: distFreq, maxLength: 15)

        literals = .allocate(capacity: 286)
        for s in 0..<286 { literals[s] = UInt64(lit.codes[s]) | UInt64(lit.lengths[s]) << 32 }
        digitPairs = .allocate(capacity: 100)
        for d in 0..<100 {
            let hi = Int(UInt8(ascii: "0")) + d / 10, lo = Int(UInt8(ascii: "0")) + d % 10
            let n = UInt64(lit.lengths[hi])
            digitPairs[d] = (UInt64(lit.codes[hi]) | UInt64(lit.codes[lo]) << n) | (n + UInt64(lit.lengths[lo])) << 32
        }
        distances = .allocate(capacity: 32769)
        distances[0] = 0
        for d in 1...32768 {
            let (code, extra) = DeflateCodes.distance(d)
            let e = DeflateCodes.distanceExtra[code]
            let bits = UInt64(dist.codes[code]) | UInt64(extra) << UInt64(dist.lengths[code])
            distances[d] = bits | UInt64(Int(dist.lengths[code]) + e) << 32
        }

        // The replay: literal codes packed up to 32 bits an item, a length
        // code (and, within the run itself, its distance) per match.
        var list: [Item] = []
        var starts: [Int32] = [0]
        var maxBits = 0
        // A value and its newline: at most 22 of these bytes.
        let valueBits = 22 * Array("0123456789.\n".utf8).map { Int(lit.lengths[Int($0)]) }.max()!
        for (k, tokens) in parse.enumerated() {
            var pending: UInt64 = 0, pendingCount = 0
            func push() {
                if pendingCount > 0 { list.append(Item(bits: pending, count: UInt8(pendingCount), back: 0, source: 0, target: 0)) }
                pending = 0
                pendingCount = 0
            }
            for t in tokens {
                switch t {
                case .literal(let byte):
                    let code = lit.codes[Int(byte)], n = Int(lit.lengths[Int(byte)])
                    if pendingCount + n > 32 { push() }
                    pending |= UInt64(code) << UInt64(pendingCount)
                    pendingCount += n
                    maxBits += n
                case .match(let length, let back, let source, let target):
                    push()
                    let (index, extra) = DeflateCodes.length(length)
                    let n = Int(lit.lengths[257 + index])
                    let bits = UInt64(lit.codes[257 + index]) | UInt64(extra) << UInt64(n)
                    let count = n + DeflateCodes.lengthExtra[index]
                    if back == 0 {
                        // Within this run: the distance never changes.
                        let d = distances[target - source]
                        list.append(Item(bits: bits, count: UInt8(count), back: 0, source: 0, target: 0))
                        list.append(Item(bits: d & 0xFFFF_FFFF, count: UInt8(d >> 32), back: 0, source: 0, target: 0))
                    } else {
                        list.append(
                            Item(
                                bits: bits, count: UInt8(count), back: UInt8(back), source: UInt16(source),
                                target: UInt16(target)))
                    }
                    maxBits += count + 28
                }
            }
            push()
            starts.append(Int32(list.count))
            if ops[k].format != .none { maxBits += valueBits }
        }
        items = .allocate(capacity: max(1, list.count))
        _ = items.initialize(from: list)
        itemStart = .allocate(capacity: starts.count)
        _ = itemStart.initialize(from: starts)
        opStart = .allocate(capacity: max(1, ops.count))
        opStart.initialize(repeating: 0)

        let blockHeader = Self.blockHeader(lit, dist)
        header = .allocate(capacity: blockHeader.count)
        _ = header.initialize(from: blockHeader.map { $0.bits | UInt64($0.count) << 32 })
        maxSize = 10 + blockHeader.reduce(0) { $0 + $1.count } / 8 + 1 + maxBits / 8 + 16 + 8
    }

    deinit {
        items.deallocate()
        header.deallocate()
        itemStart.deallocate()
        opStart.deallocate()
        literals.deallocate()
        digitPairs.deallocate()
        distances.deallocate()
    }

    // MARK: the scrape

    /// Renders the exposition into `plain` and its gzip into `gz` in one
    /// pass; returns both sizes, or nil when either buffer is too small.
    package func render(plain: UnsafeMutableRawBufferPointer, gz: UnsafeMutableRawBufferPointer) -> (plain: Int, gz: Int)? {
        guard let base = plain.baseAddress, let zBase = gz.baseAddress, gz.count >= maxSize else { return nil }
        let cap = plain.count
        let stBase = UnsafeRawPointer(plan.storage.statics.baseAddress!)
        let ops = plan.storage.ops.baseAddress!
        let count = plan.storage.ops.count
        let items = self.items.baseAddress!
        let itemStart = self.itemStart.baseAddress!
        let opStart = self.opStart.baseAddress!
        let literals = self.literals.baseAddress!
        let digitPairs = self.digitPairs.baseAddress!
        let distances = self.distances.baseAddress!

        // gzip header: magic, deflate, no flags, no mtime, XFL 0, OS 3 (Unix).
        zBase.storeBytes(of: UInt64(0x0000_0000_0008_8B1F).littleEndian, as: UInt64.self)
        zBase.storeBytes(of: UInt16(0x0300).littleEndian, toByteOffset: 8, as: UInt16.self)
        var w = BitWriter(zBase + 10)
        var h = 0
        while h < header.count {
            w.put(header[h] & 0xFFFF_FFFF, Int(header[h] >> 32))
            h += 1
        }

        let newline = literals[Int(UInt8(ascii: "\n"))]
        var at = 0
        var acc: UInt64 = 0
        var i = 0
        while i < count {
            let op = ops[i]
            guard at + max(Int(op.staticCount), 64) + 32 <= cap else { return nil }
            opStart[i] = at
            let n = ExpositionPlan.renderOp(op, stBase, base + at, &acc)
            var k = Int(itemStart[i])
            let end = Int(itemStart[i + 1])
            while k < end {
                let item = items[k]
                w.put(item.bits, Int(item.count))
                if item.back != 0 {
                    let d = at &+ Int(item.target) &- opStart[i &- Int(item.back)] &- Int(item.source)
                    let code = distances[d]
                    w.put(code & 0xFFFF_FFFF, Int(code >> 32))
                }
                k &+= 1
            }
            // The value and its newline, as literals: an integer's digits
            // two codes at a time (seconds have a point: one at a time).
            var v = at &+ Int(op.staticCount)
            let lineEnd = at &+ n
            let digitsEnd = lineEnd &- 1
            if op.format == .seconds {
                while v < digitsEnd {
                    let code = literals[Int(base.load(fromByteOffset: v, as: UInt8.self))]
                    w.put(code & 0xFFFF_FFFF, Int(code >> 32))
                    v &+= 1
                }
            } else {
                while v &+ 1 < digitsEnd {
                    let hi = Int(base.load(fromByteOffset: v, as: UInt8.self)) &- 48
                    let lo = Int(base.load(fromByteOffset: v &+ 1, as: UInt8.self)) &- 48
                    let code = digitPairs[hi &* 10 &+ lo]
                    w.put(code & 0xFFFF_FFFF, Int(code >> 32))
                    v &+= 2
                }
                if v < digitsEnd {
                    let code = literals[Int(base.load(fromByteOffset: v, as: UInt8.self))]
                    w.put(code & 0xFFFF_FFFF, Int(code >> 32))
                }
            }
            if op.format != .none { w.put(newline & 0xFFFF_FFFF, Int(newline >> 32)) }
            at = lineEnd
            i += 1
        }
        let eob = literals[256]
        w.put(eob & 0xFFFF_FFFF, Int(eob >> 32))
        var out = w.flush()
        let crc = libdeflate_crc32(0, base, at)
        out.storeBytes(of: crc.littleEndian, as: UInt32.self)
        out.storeBytes(of: UInt32(truncatingIfNeeded: at).littleEndian, toByteOffset: 4, as: UInt32.self)
        out += 8
        return (at, out - zBase)
    }

    // MARK: building

    enum Token {
        case literal(UInt8)
        /// `length` bytes equal to those at `source` in the static run of
        /// the operation `back` before (0: this one), written at `target`.
        case match(length: Int, back: Int, source: Int, target: Int)
    }

    /// Greedy LZ77 of every static run against the static runs of the
    /// `window` operations before it and its own earlier bytes, with hash
    /// chains over the concatenated statics. A match never crosses a run's
    /// end (the runs are apart in the output, values between them).
    static func parse(_ ops: UnsafeMutableBufferPointer<ExpositionPlan.Op>, _ statics: UnsafeRawBufferPointer) -> [[Token]] {
        let hashBits = 15
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var prev = [Int32](repeating: -1, count: max(1, statics.count))
        // Statics are laid out in op order; op i's run is [start, start + count).
        var result: [[Token]] = []
        result.reserveCapacity(ops.count)
        func hash(_ p: Int) -> Int {
            let v = UInt32(statics[p]) | UInt32(statics[p + 1]) << 8 | UInt32(statics[p + 2]) << 16 | UInt32(statics[p + 3]) << 24
            return Int((v &* 2_654_435_761) >> UInt32(32 - hashBits))
        }
        for k in 0..<ops.count {
            let start = Int(ops[k].staticStart), count = Int(ops[k].staticCount)
            let end = start + count
            // The oldest run a match may come from, and where each run ends.
            let oldest = max(0, k - window)
            let windowStart = Int(ops[oldest].staticStart)
            var tokens: [Token] = []
            var p = start
            func insert(_ q: Int) {
                guard q + 3 < statics.count else { return }
                let h = hash(q)
                prev[q] = head[h]
                head[h] = Int32(q)
            }
            while p < end {
                var bestLength = 0, bestSource = 0
                if p + minMatch <= end {
                    var candidate = Int(head[hash(p)])
                    var chain = 32
                    while candidate >= windowStart && chain > 0 {
                        chain -= 1
                        // The run holding the candidate, and how far the match may go.
                        var owner = k
                        while owner > oldest && Int(ops[owner].staticStart) > candidate { owner -= 1 }
                        let ownerEnd = owner == k ? p : Int(ops[owner].staticStart) + Int(ops[owner].staticCount)
                        // Values between the runs are at most `valueBytes` each:
                        // the distance must stay within DEFLATE's 32 KiB in the
                        // widest case, and the offsets within an Item's 16 bits.
                        let ownerStart = Int(ops[owner].staticStart)
                        guard p - candidate + (k - owner) * valueBytes <= 32768,
                            candidate - ownerStart <= Int(UInt16.max), p - start <= Int(UInt16.max)
                        else { break }
                        var length = 0
                        let limit = min(258, end - p, owner == k ? end - p : ownerEnd - candidate)
                        while length < limit && statics[candidate + length] == statics[p + length] { length += 1 }
                        if length > bestLength {
                            bestLength = length
                            bestSource = candidate
                            if length == limit { break }
                        }
                        candidate = Int(prev[candidate])
                    }
                }
                if bestLength >= minMatch {
                    var owner = k
                    while owner > oldest && Int(ops[owner].staticStart) > bestSource { owner -= 1 }
                    tokens.append(
                        .match(
                            length: bestLength, back: k - owner, source: bestSource - Int(ops[owner].staticStart),
                            target: p - start))
                    for q in p..<(p + bestLength) { insert(q) }
                    p += bestLength
                } else {
                    tokens.append(.literal(statics[p]))
                    insert(p)
                    p += 1
                }
            }
            result.append(tokens)
        }
        return result
    }

    /// Symbol counts of one scrape replaying `parse` with the values as
    /// they are now (match distances from this scrape's layout).
    static func count(
        _ parse: [[Token]], _ ops: UnsafeMutableBufferPointer<ExpositionPlan.Op>, _ statics: UnsafeRawBufferPointer,
        _ lit: inout [Int], _ dist: inout [Int]
    ) {
        var scratch = [UInt8](repeating: 0, count: 128)
        var starts = [Int](repeating: 0, count: ops.count)
        var at = 0
        var acc: UInt64 = 0
        for (k, tokens) in parse.enumerated() {
            starts[k] = at
            for t in tokens {
                switch t {
                case .literal(let b): lit[Int(b)] += 1
                case .match(let length, let back, let source, let target):
                    lit[257 + DeflateCodes.length(length).index] += 1
                    let d = back == 0 ? target - source : at + target - starts[k - back] - source
                    dist[DeflateCodes.distance(d).code] += 1
                }
            }
            var op = ops[k]
            let staticCount = Int(op.staticCount)
            op.staticCount = 0  // the value only, into the scratch buffer
            let n = scratch.withUnsafeMutableBytes { ExpositionPlan.renderOp(op, statics.baseAddress!, $0.baseAddress!, &acc) }
            for b in scratch[0..<n] { lit[Int(b)] += 1 }
            at += staticCount + n
        }
        lit[256] += 1
    }

    /// The dynamic block's header: BFINAL, BTYPE 2, the code counts, the
    /// code-length code, and both alphabets' lengths run-length coded.
    static func blockHeader(_ lit: HuffmanCode, _ dist: HuffmanCode) -> [(bits: UInt64, count: Int)] {
        let lengths = lit.lengths.map(Int.init) + dist.lengths.map(Int.init)
        // Run-length code the lengths: (symbol, extra bits, extra count).
        var rle: [(Int, Int, Int)] = []
        var i = 0
        while i < lengths.count {
            let l = lengths[i]
            var run = 1
            while i + run < lengths.count && lengths[i + run] == l { run += 1 }
            var left = run
            if l == 0 {
                while left >= 11 { let r = min(138, left); rle.append((18, r - 11, 7)); left -= r }
                if left >= 3 { rle.append((17, left - 3, 3)); left = 0 }
                while left > 0 { rle.append((0, 0, 0)); left -= 1 }
            } else {
                rle.append((l, 0, 0))
                left -= 1
                while left >= 3 { let r = min(6, left); rle.append((16, r - 3, 2)); left -= r }
                while left > 0 { rle.append((l, 0, 0)); left -= 1 }
            }
            i += run
        }
        var clFreq = [Int](repeating: 0, count: 19)
        for (s, _, _) in rle { clFreq[s] += 1 }
        let cl = HuffmanCode(frequencies: clFreq, maxLength: 7)
        var hclen = 19
        while hclen > 4 && cl.lengths[DeflateCodes.codeLengthOrder[hclen - 1]] == 0 { hclen -= 1 }

        var out: [(bits: UInt64, count: Int)] = []
        out.append((1, 1))  // BFINAL
        out.append((2, 2))  // BTYPE 2: dynamic Huffman codes
        out.append((UInt64(lit.lengths.count - 257), 5))
        out.append((UInt64(dist.lengths.count - 1), 5))
        out.append((UInt64(hclen - 4), 4))
        for k in 0..<hclen { out.append((UInt64(cl.lengths[DeflateCodes.codeLengthOrder[k]]), 3)) }
        for (s, extra, n) in rle {
            out.append((UInt64(cl.codes[s]), Int(cl.lengths[s])))
            if n > 0 { out.append((UInt64(extra), n)) }
        }
        return out
    }
}
