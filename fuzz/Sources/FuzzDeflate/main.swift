// libFuzzer harness: ExpositionGzip (module MetricTile), the metric tile's
// structure-aware gzip encoder, differentially. The bytes choose (the
// bytes first, then a SplitMix64 stream seeded with their hash) one or more
// tile kinds, each a MetricSchema of counters, gauges, enum counters and
// histograms with random names, HELP texts (backslashes, newlines, bytes
// that are not ASCII, texts of several KB, and past 32 KiB and 64 KiB),
// variants and buckets (some in nanoseconds, exported as seconds); 1 to 300
// tiles with in-links; the format. Values of every width fill the regions,
// the encoder is built, and then values change for several rounds (much
// wider and much narrower than when it was built) and each round renders.
//
// Properties (any violation aborts, a crash for libFuzzer):
//  - render(plain:gz:) with a plain buffer of plan.maxRenderedSize and a gz
//    buffer of maxSize (both allocations of exactly that size, so
//    AddressSanitizer sees a write one byte past either) never returns nil;
//  - the plain text is byte for byte what plan.render(into:) writes for the
//    same values;
//  - the gzip is at most maxSize bytes; its 10-byte header is 1f 8b 08 00
//    with no optional fields;
//  - zlib inflates it as gzip (windowBits 15 + 16: zlib checks the header,
//    CRC-32 and ISIZE) to exactly the plain text, returns Z_STREAM_END and
//    has consumed the whole body: no byte after the trailer;
//  - zlib inflates the bytes between the header and the 8-byte trailer as
//    raw DEFLATE (windowBits -15) to the same text, ending exactly at the
//    trailer, and the trailer is the text's CRC-32 and length;
//  - render returns nil (and writes nothing out of bounds) given a gz buffer
//    one byte smaller than maxSize, or none, or a plain buffer smaller than
//    the text; plan.render(into:) then returns nil too. With a plain buffer
//    between the text's size and maxRenderedSize, a result that is not nil
//    is as correct as above. A refused render leaves nothing behind: the
//    next round renders correctly.
#if canImport(Glibc)
import Glibc
#endif
import CFuzzZlib
import FuzzSupport
@testable import MetricTile
@testable import Shared

// MARK: the choices

/// The decisions of one execution: the input's bytes, in order, then (once
/// they run out) a SplitMix64 stream seeded with an FNV-1a hash of the whole
/// input, so even a short input builds a large topology.
struct Choices {
    let data: UnsafeRawBufferPointer
    var at = 0
    var state: UInt64

    init(_ data: UnsafeRawBufferPointer) {
        self.data = data
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        state = h
    }

    mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func byte() -> UInt8 {
        if at < data.count {
            at += 1
            return data[at - 1]
        }
        return UInt8(truncatingIfNeeded: random())
    }

    mutating func u64() -> UInt64 {
        var v: UInt64 = 0
        for _ in 0..<8 { v = v << 8 | UInt64(byte()) }
        return v
    }

    /// A number in `r`: one byte for a span up to 256, two up to 65536.
    mutating func int(_ r: ClosedRange<Int>) -> Int {
        let span = UInt64(r.upperBound - r.lowerBound) + 1
        let raw: UInt64 = span <= 256 ? UInt64(byte()) : span <= 65536 ? UInt64(byte()) << 8 | UInt64(byte()) : u64()
        return r.lowerBound + Int(raw % span)
    }

    /// True `p` times in 100.
    mutating func percent(_ p: Int) -> Bool { Int(byte()) % 100 < p }

    mutating func pick<T>(_ a: [T]) -> T { a[int(0...(a.count - 1))] }
}

// MARK: values

/// How many value classes `value` knows.
let valueClasses = 10

/// A value of class `cls`: the widths a scrape meets, and their edges.
func value(_ cls: Int, _ c: inout Choices) -> UInt64 {
    switch cls {
    case 0: return 0
    case 1: return UInt64(c.int(1...99))
    case 2: return c.u64() % 1_000_000
    case 3:  // 10^k or 10^k - 1: one digit more or less (and, in seconds, the point moving)
        var p: UInt64 = 1
        for _ in 0..<c.int(1...19) { p *= 10 }
        return c.percent(50) ? p : p - 1
    case 4: return .max
    case 5: return .max - UInt64(c.byte())
    case 6: return 1_600_000_000_000_000_000 + c.u64() % 300_000_000_000_000_000  // a UNIX timestamp in nanoseconds
    case 7: return UInt64(c.int(0...1_000_000)) * c.pick([1_000_000_000, 100_000_000, 1_000_000, 1_000])  // trailing zeros
    case 8: return c.u64()
    default: return c.u64() >> UInt64(c.int(0...63))
    }
}

/// Every metrics region of the topology, one allocation per tile.
final class Regions {
    let slots: [UnsafeMutableBufferPointer<UInt64>]

    init(_ counts: [Int]) {
        slots = counts.map { n in
            let p = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: n)
            p.initialize(repeating: 0)
            return p
        }
    }

    deinit { slots.forEach { $0.deallocate() } }

    var total: Int { slots.reduce(0) { $0 + $1.count } }

    /// Changes the values as the bytes say; returns what it did, for messages.
    func fill(_ c: inout Choices) -> String {
        switch c.int(0...6) {
        case 0:
            for r in slots { r.update(repeating: 0) }
            return "all 0"
        case 1:
            for r in slots { r.update(repeating: .max) }
            return "all UInt64.max"
        case 2:
            let cls = c.int(0...(valueClasses - 1))
            for r in slots { for i in r.indices { r[i] = value(cls, &c) } }
            return "all of class \(cls)"
        case 3:
            for r in slots { for i in r.indices { r[i] = value(c.int(0...(valueClasses - 1)), &c) } }
            return "every width"
        case 4:
            let n = c.int(1...8)
            for _ in 0..<n {
                let r = slots[c.int(0...(slots.count - 1))]
                r[c.int(0...(r.count - 1))] = value(c.int(0...(valueClasses - 1)), &c)
            }
            return "\(n) slots changed"
        case 5:
            for r in slots { for i in r.indices { r[i] = UInt64(c.int(0...9)) } }
            return "one digit each"
        default:
            // Wide and narrow side by side: the distances of matches across
            // lines vary most.
            for r in slots { for i in r.indices { r[i] = c.percent(50) ? UInt64(c.int(0...9)) : .max - UInt64(c.byte()) } }
            return "1 or 20 digits"
        }
    }
}

// MARK: schemas

let lower = Array("abcdefghijklmnopqrstuvwxyz".utf8)

/// A metric name: [a-z][a-z_]*.
func name(_ c: inout Choices, _ maxLength: Int) -> String {
    var s = [c.pick(lower)]
    for _ in 0..<c.int(0...(maxLength - 1)) { s.append(c.percent(15) ? UInt8(ascii: "_") : c.pick(lower)) }
    return String(decoding: s, as: UTF8.self)
}

/// `base`, made different from every name in `taken` (and added to it).
func unique(_ base: String, _ taken: inout Set<String>) -> String {
    var s = base
    while taken.contains(s) { s += "_z" }
    taken.insert(s)
    return s
}

/// Characters a HELP text or label value may hold: the escaped ones
/// (backslash, newline, double quote), controls, and UTF-8 of 2 to 4 bytes.
let specials: [[UInt8]] = [
    Array("\\".utf8), Array("\n".utf8), Array("\"".utf8), Array("\\n".utf8), Array("\\\\".utf8), Array("\r".utf8),
    Array("\t".utf8), [0], [0x7F], Array(" ".utf8), Array("é".utf8), Array("日本".utf8), Array("🦀".utf8),
    Array("{".utf8), Array("}".utf8), Array("=".utf8), Array(",".utf8), Array("#".utf8),
]

func shortText(_ c: inout Choices, _ maxLength: Int) -> [UInt8] {
    var s: [UInt8] = []
    let n = c.int(0...maxLength)
    while s.count < n {
        switch c.int(0...9) {
        case 0...5: s.append(c.pick(lower))
        case 6: s.append(UInt8(ascii: " "))
        case 7: s.append(UInt8(ascii: "0") + UInt8(c.int(0...9)))
        default: s += c.pick(specials)
        }
    }
    return s
}

/// A long text of about `length` bytes: words of the exposition itself,
/// random words, specials, and copies of its own earlier bytes (up to 40,000
/// back), so the encoder finds matches at every distance, near and beyond
/// DEFLATE's 32 KiB window and an item's 16-bit offsets.
func longText(_ c: inout Choices, _ vocabulary: [[UInt8]], _ length: Int) -> [UInt8] {
    var s: [UInt8] = []
    s.reserveCapacity(length + 300)
    while s.count < length {
        switch c.int(0...15) {
        case 0...7: s += c.pick(vocabulary)
        case 8...9: s += shortText(&c, 12)
        case 10: s += c.pick(specials)
        case 11: s += String(c.u64() >> UInt64(c.int(0...63))).utf8
        default:
            guard s.count >= 4 else { continue }
            let back = c.int(1...min(s.count, 40_000))
            let n = c.int(4...300)
            for i in 0..<n { s.append(s[s.count - back + i % back]) }
        }
    }
    return Array(s.prefix(length))
}

/// The long texts one execution may still make: they are what makes an
/// execution slow (the encoder's parse), so few executions get the longest.
struct TextBudget {
    /// Texts of several KB, in bytes.
    var bytes = 40_000
    /// One text about as long as DEFLATE's window or an item's 16-bit offsets.
    var edge: Bool
    /// One text past 70,000 bytes: past both.
    var huge: Bool
    /// The longest HELP text made, for messages.
    var longest = 0
}

func helpText(_ c: inout Choices, _ vocabulary: [[UInt8]], _ budget: inout TextBudget) -> String {
    var bytes: [UInt8]
    if budget.huge && c.percent(40) {
        budget.huge = false
        bytes = longText(&c, vocabulary, c.int(70_000...100_000))
    } else if budget.edge && c.percent(40) {
        // A static run about as long as DEFLATE's window, or as far as an
        // item's 16-bit offsets reach ("# HELP <name> " comes before it).
        budget.edge = false
        bytes = longText(&c, vocabulary, (c.percent(50) ? 32_768 : 65_535) + c.int(0...600) - 300)
    } else {
        switch c.int(0...15) {
        case 0: bytes = []
        case 1...7: bytes = shortText(&c, 100)
        case 8...9:  // from the input itself, as it is (made valid UTF-8 by the String)
            let n = c.int(0...255)
            bytes = (0..<n).map { _ in c.byte() }
        case 10...11: bytes = Array(repeating: 0, count: c.int(1...40)).map { _ in c.pick(specials) }.flatMap { $0 }
        case 12...13 where budget.bytes > 0:
            bytes = longText(&c, vocabulary, c.int(200...6_000))
            budget.bytes -= bytes.count
        default: bytes = shortText(&c, 30)
        }
    }
    budget.longest = max(budget.longest, bytes.count)
    return String(decoding: bytes, as: UTF8.self)
}

func labelValue(_ c: inout Choices) -> String {
    String(decoding: c.percent(5) ? shortText(&c, 200) : shortText(&c, 12), as: UTF8.self)
}

/// Ascending distinct bucket bounds of every width.
func buckets(_ c: inout Choices) -> [UInt64] {
    let n = c.percent(8) ? c.int(0...48) : c.int(0...16)
    var set = Set<UInt64>()
    for _ in 0..<n { set.insert(value(c.int(0...(valueClasses - 1)), &c)) }
    return set.sorted()
}

/// Series (lines with a value) of one tile of `schema`.
func seriesCount(_ schema: MetricSchema) -> Int {
    schema.families.reduce(0) { n, f in n + (f.type == .histogram ? f.buckets.count + 3 : max(1, f.variants.count)) }
}

func schema(_ c: inout Choices, prefix: String, _ vocabulary: [[UInt8]], _ budget: inout TextBudget) -> MetricSchema {
    var names = Set<String>()
    var families: [MetricFamily] = []
    let count = c.percent(8) ? c.int(0...24) : c.int(0...5)
    for _ in 0..<count {
        let unit: String? = c.percent(30) ? c.pick(["seconds", "bytes", "nanoseconds", name(&c, 6)]) : nil
        var base = name(&c, 16)
        // OpenMetrics writes a UNIT line when the family's name ends with its unit.
        if let unit, c.percent(50) { base += "_" + unit }
        let n = unique(base, &names)
        let help = helpText(&c, vocabulary, &budget)
        let converter: MetricConverter = c.percent(30) ? .nanosToSeconds : .none
        switch c.int(0...3) {
        case 0: families.append(.counter(n, help, unit: unit, converter: converter))
        case 1: families.append(.gauge(n, help, unit: unit, converter: converter))
        case 2:
            let variants = (0..<(c.percent(8) ? c.int(1...24) : c.int(1...5))).map { _ in labelValue(&c) }
            families.append(.enumCounter(n, help, label: name(&c, 10), variants: variants, unit: unit, converter: converter))
        default:
            families.append(.histogram(n, help, buckets: buckets(&c), unit: unit, converter: converter))
        }
    }
    return MetricSchema(prefix: prefix, families)
}

// MARK: zlib

/// zlib's inflate of `input` into `out` in one call (Z_FINISH): its return
/// code, the bytes it wrote, the input bytes it left unread, its message.
func inflate(_ input: UnsafeRawBufferPointer, windowBits: Int32, into out: UnsafeMutableRawBufferPointer)
    -> (ret: Int32, produced: Int, unread: Int, message: String)
{
    var s = z_stream()
    let initRet = cfuzz_inflate_init2(&s, windowBits)
    guard initRet == Z_OK else { fuzzFailure("inflateInit2(\(windowBits)) returned \(initRet)") }
    defer { inflateEnd(&s) }
    s.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
    s.avail_in = uInt(input.count)
    s.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
    s.avail_out = uInt(out.count)
    let ret = CFuzzZlib.inflate(&s, Z_FINISH)
    let message = s.msg.map { String(cString: $0) } ?? "no message"
    return (ret, out.count - Int(s.avail_out), Int(s.avail_in), message)
}

/// The first offset where `a` and `b` differ (their common length if none).
func firstDifference(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 && memcmp(a.baseAddress!, b.baseAddress!, n) == 0 { return n }
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    return i
}

/// "…text around offset…", for a message.
func around(_ b: UnsafeRawBufferPointer, _ offset: Int) -> String {
    let lo = max(0, offset - 40), hi = min(b.count, offset + 40)
    return "\"\(escaped(UnsafeRawBufferPointer(rebasing: b[lo..<hi]), limit: 100))\""
}

/// An allocation of exactly `count` bytes (none: no base address), so
/// AddressSanitizer sees a write one byte past it.
func exact(_ count: Int) -> UnsafeMutableRawBufferPointer {
    count == 0 ? UnsafeMutableRawBufferPointer(start: nil, count: 0) : .allocate(byteCount: count, alignment: 1)
}

// MARK: the checks

/// One topology, its plan and its encoder, and the buffers a scrape uses.
final class Subject {
    let plan: ExpositionPlan
    let gzip: ExpositionGzip
    let plain: UnsafeMutableRawBufferPointer
    let reference: UnsafeMutableRawBufferPointer
    let gz: UnsafeMutableRawBufferPointer
    let inflated: UnsafeMutableRawBufferPointer
    /// The topology, the round and its values, for messages.
    var context = ""

    init(plan: ExpositionPlan) {
        self.plan = plan
        gzip = ExpositionGzip(plan: plan)
        plain = exact(plan.maxRenderedSize)
        reference = exact(plan.maxRenderedSize)
        gz = exact(gzip.maxSize)
        inflated = exact(plan.maxRenderedSize)
    }

    deinit {
        [plain, reference, gz, inflated].forEach { $0.deallocate() }
    }

    /// The plain renderer's text for the values as they are now.
    func expected(_ into: UnsafeMutableRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let n = plan.render(into: into) else {
            fuzzFailure("plan.render(into:) returned nil with \(into.count) = maxRenderedSize bytes; \(context)")
        }
        return UnsafeRawBufferPointer(rebasing: into[0..<n])
    }

    /// Checks one render's result (`sizes`, into `plainBuf` and `gz`) against
    /// the plain renderer and zlib.
    func check(_ sizes: (plain: Int, gz: Int), plainBuf: UnsafeMutableRawBufferPointer, _ what: String) {
        let ctx = { "\(what); \(self.context)" }
        let want = expected(reference)
        require(sizes.plain >= 0 && sizes.plain <= plainBuf.count, "plain size \(sizes.plain) outside 0...\(plainBuf.count); \(ctx())")
        let text = UnsafeRawBufferPointer(rebasing: plainBuf[0..<sizes.plain])
        let d = firstDifference(text, want)
        require(
            sizes.plain == want.count && d == want.count,
            "plain text (\(sizes.plain) bytes) differs from plan.render(into:) (\(want.count) bytes) at \(d): "
                + "\(around(text, d)) vs \(around(want, d)); \(ctx())")

        require(sizes.gz >= 18 && sizes.gz <= gzip.maxSize, "gzip size \(sizes.gz) outside 18...maxSize \(gzip.maxSize); \(ctx())")
        let body = UnsafeRawBufferPointer(rebasing: gz[0..<sizes.gz])
        require(
            body[0] == 0x1F && body[1] == 0x8B && body[2] == 8 && body[3] == 0,
            "gzip header \(escaped(UnsafeRawBufferPointer(rebasing: body[0..<10]))) is not 1f 8b 08 00 (deflate, no flags); \(ctx())")

        // 1. gzip, as any client inflates it: zlib checks CRC-32 and ISIZE.
        let g = inflate(body, windowBits: 15 + 16, into: inflated)
        let out = UnsafeRawBufferPointer(rebasing: inflated[0..<g.produced])
        require(
            g.ret == Z_STREAM_END,
            "zlib gzip inflate returned \(g.ret) (\(g.message)), not Z_STREAM_END, after \(g.produced) of \(want.count) bytes "
                + "with \(g.unread) of \(sizes.gz) unread; text differs at \(firstDifference(out, want)); \(ctx())")
        require(g.unread == 0, "\(g.unread) bytes after the gzip trailer (gz size \(sizes.gz)); \(ctx())")
        let dg = firstDifference(out, want)
        require(
            g.produced == want.count && dg == want.count,
            "gzip inflates to \(g.produced) bytes, the text is \(want.count); they differ at \(dg): "
                + "\(around(out, dg)) vs \(around(want, dg)); \(ctx())")

        // 2. The same DEFLATE stream raw, without the wrapper.
        let raw = inflate(UnsafeRawBufferPointer(rebasing: body[10..<(sizes.gz - 8)]), windowBits: -15, into: inflated)
        let rawOut = UnsafeRawBufferPointer(rebasing: inflated[0..<raw.produced])
        let dr = firstDifference(rawOut, want)
        require(
            raw.ret == Z_STREAM_END && raw.unread == 0 && raw.produced == want.count && dr == want.count,
            "raw inflate returned \(raw.ret) (\(raw.message)), \(raw.produced) of \(want.count) bytes, \(raw.unread) of "
                + "\(sizes.gz - 18) unread, differing at \(dr); \(ctx())")
        let crc = UInt32(crc32(0, want.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(want.count)))
        let trailerCRC = body.loadUnaligned(fromByteOffset: sizes.gz - 8, as: UInt32.self).littleEndian
        let trailerSize = body.loadUnaligned(fromByteOffset: sizes.gz - 4, as: UInt32.self).littleEndian
        require(
            trailerCRC == crc && trailerSize == UInt32(truncatingIfNeeded: want.count),
            "trailer CRC \(trailerCRC) ISIZE \(trailerSize), the text's are \(crc) \(want.count); \(ctx())")
    }

    /// A render with buffers of the sizes the encoder asks for.
    func round(_ what: String) {
        guard let sizes = gzip.render(plain: plain, gz: gz) else {
            fuzzFailure(
                "render returned nil with plain = maxRenderedSize \(plain.count) and gz = maxSize \(gz.count) bytes; "
                    + "\(what); \(context)")
        }
        check(sizes, plainBuf: plain, what)
    }

    /// Buffers too small are refused; one between the text and
    /// maxRenderedSize gives nil or a correct result.
    func refusals(_ c: inout Choices) {
        let need = expected(reference).count
        let small = exact(gzip.maxSize - 1)
        defer { small.deallocate() }
        require(
            gzip.render(plain: plain, gz: small) == nil, "render accepted a gz buffer of maxSize - 1 = \(small.count) bytes; \(context)")
        require(gzip.render(plain: plain, gz: exact(0)) == nil, "render accepted an empty gz buffer; \(context)")

        for cap in [c.int(0...max(0, need - 1)), max(0, need - 1), c.int(0...min(need, 200))] where cap < need {
            let p = exact(cap)
            defer { p.deallocate() }
            require(
                gzip.render(plain: p, gz: gz) == nil, "render accepted a plain buffer of \(cap) bytes for a \(need)-byte text; \(context)")
            require(plan.render(into: p) == nil, "plan.render(into:) accepted \(cap) bytes for a \(need)-byte text; \(context)")
        }
        let cap = c.int(need...max(need, plan.maxRenderedSize - 1))
        let p = exact(cap)
        defer { p.deallocate() }
        if let sizes = gzip.render(plain: p, gz: gz) { check(sizes, plainBuf: p, "a plain buffer of \(cap) bytes") }
    }
}

// MARK: the harness

func nowMs() -> Double { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6 }
let profiling = getenv("FD_PROFILE") != nil
func fuzzOne(_ data: UnsafeRawBufferPointer) {
    let t0 = nowMs()
    var c = Choices(data)
    let format: ExpositionPlan.Format = c.percent(50) ? .prometheus : .openMetrics
    var budget = TextBudget(edge: c.percent(4), huge: c.percent(2))

    // Kinds, each its schema. The vocabulary of long texts is the
    // exposition's own words, so they match the lines around them.
    var prefixes = Set(["tile", "link"])
    let kindNames = (0..<(c.percent(10) ? c.int(1...12) : c.int(1...4))).map { _ in unique(name(&c, 10), &prefixes) }
    let linkNames = (0..<c.int(1...6)).map { _ in name(&c, 12) }
    var vocabulary: [[UInt8]] = [
        "# HELP ", "# TYPE ", " counter\n", " gauge\n", " histogram\n", "_total", "_bucket{", "_sum{", "_count{", "{kind=\"",
        "\",kind_id=\"", "\",link_kind=\"", "\",link_kind_id=\"", ",le=\"", "+Inf", "\"} ", "tile_", "link_", "seconds", "0.",
        "\n", "\\", " ", "# UNIT ", "# EOF\n",
    ].map { Array($0.utf8) }
    vocabulary += (kindNames + linkNames).map { Array($0.utf8) }
    let schemas = kindNames.map { schema(&c, prefix: $0, vocabulary, &budget) }

    // Tiles: mostly few (a tile costs an instrumented encoder about 10 ms
    // to build), sometimes many, as long as the series stay bounded.
    let wanted: Int
    switch c.int(0...199) {
    case 0...99: wanted = 1
    case 100...149: wanted = c.int(2...3)
    case 150...189: wanted = c.int(4...12)
    case 190...198: wanted = c.int(13...48)
    default: wanted = c.int(49...300)
    }
    let perTile = 34 + 9 * 2 + schemas.map(seriesCount).max()!
    let tileCount = max(1, min(wanted, 20_000 / perTile))
    var kindIds = [Int](repeating: 0, count: schemas.count)
    var tiles: [(spec: TileSpec, schema: MetricSchema, layout: MetricsLayout, inLinks: [(name: String, kindId: Int)])] = []
    for i in 0..<tileCount {
        let k = c.int(0...(schemas.count - 1))
        let kindId = c.percent(3) ? c.int(0...Int(Int32.max)) : kindIds[k]
        kindIds[k] += 1
        let inLinks = (0..<(c.percent(10) ? c.int(0...12) : c.int(0...3))).map { _ in
            (name: c.pick(linkNames), kindId: c.percent(90) ? c.int(0...7) : c.int(0...65_535))
        }
        tiles.append(
            (
                TileSpec(index: i, kind: kindNames[k], kindId: kindId, options: [:]), schemas[k],
                MetricsLayout(inLinkCount: inLinks.count, kindSchema: schemas[k]), inLinks
            ))
    }
    let regions = Regions(tiles.map { $0.layout.slotCount })
    let sources = zip(tiles, regions.slots).map { t, r in
        RenderSource(
            tile: t.spec, reader: MetricsReader(base: UnsafePointer(r.baseAddress!), layout: t.layout),
            kindSchema: t.schema, inLinks: t.inLinks)
    }
    let plan = ExpositionPlan(sources: sources, format: format)

    // The encoder is built from the values as they are then.
    let t1 = nowMs()
    let built = regions.fill(&c)
    let subject = Subject(plan: plan)
    let t2 = nowMs()
    let topology =
        "\(format), \(tileCount) tiles of \(schemas.count) kinds, \(plan.seriesCount) series, "
        + "longest HELP \(budget.longest) bytes, maxRenderedSize \(plan.maxRenderedSize), maxSize \(subject.gzip.maxSize), "
        + "built with values \(built)"
    subject.context = topology
    #if !FUZZING
    eprint("  \(topology)\n")  // the reproducer says what the input built
    #endif
    subject.round("round 0 (the values the encoder was built with)")

    let rounds = c.int(1...3)
    let refuseAt = c.int(1...rounds)
    for r in 1...rounds {
        let values = regions.fill(&c)
        subject.context = "\(topology); round \(r): values \(values)"
        subject.round("round \(r)")
        // Refused renders, then the next round (or one more) renders correctly.
        if r == refuseAt {
            subject.refusals(&c)
            subject.round("round \(r) again, after refused renders")
        }
    }
    let t3 = nowMs()
    if profiling { eprint("PROF plan \(Int(t1 - t0)) enc \(Int(t2 - t1)) rounds \(Int(t3 - t2)) x\(rounds): \(topology)\n") }
}

fuzzMain(fuzzOne)
