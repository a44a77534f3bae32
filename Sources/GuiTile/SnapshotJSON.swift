import MetricTile
import Shared

/// The gui's snapshot (`urn:tilectl:schema:gui-snapshot:1`): every tile's
/// status, heartbeat, regime shares and backpressure, and every link's
/// rates per consumer, over the last update interval. The quantities are
/// the terminal monitor's (`TileSample`, `TileActivity`, `LinkRates` in
/// Shared); staleness is `/healthz`'s (`HealthCheck`).
///
/// Rendered once per interval as one line of JSON into preallocated bytes:
/// what never changes (names, kinds, keys) is escaped and laid out at init;
/// a render writes values between those parts, formatting numbers by hand.
/// The two readings it compares live in arrays sized at init and swapped.
/// Nothing is allocated after init.
final class SnapshotJSON {
    static let schema = "urn:tilectl:schema:gui-snapshot:1"

    struct TileEntry {
        /// `{"name":"verify:0","kind":"verify","kind_id":0,"pid":`
        let prefix: UnsafeRawBufferPointer
        let reader: MetricsReader
        /// Where its in-links' readings start in the flat link arrays.
        let firstLink: Int
        let inLinks: Int
    }

    struct LinkEntry {
        /// `{"link":"verify_dedup","producer":"verify:0","consumer":"dedup:0","frags_per_second":`
        let prefix: UnsafeRawBufferPointer
        /// Index in the flat link arrays (the consumer's in-link).
        let reading: Int
    }

    let tiles: [TileEntry]
    let links: [LinkEntry]
    let health: HealthCheck
    /// `{"schema":…,"topology":"…","seq":`
    let head: UnsafeRawBufferPointer
    /// `,"interval_ms":250,"stale_after_ms":2000,"sampled_at":`
    let settings: UnsafeRawBufferPointer
    /// The most bytes a render writes.
    let maxSize: Int

    private var previous: [TileSample]
    private var current: [TileSample]
    private var previousLinks: [LinkSample]
    private var currentLinks: [LinkSample]
    private var previousAt: Int64 = 0
    private var currentAt: Int64 = 0
    private var wallclock: Int64 = 0
    /// Renders so far; the `seq` of the next one.
    private(set) var seq: UInt64 = 0

    init(topology: Topology, readers: [MetricsReader], intervalMs: Int, maxAgeNanos: Int64) {
        precondition(readers.count == topology.tiles.count, "one reader per tile")
        health = HealthCheck(tiles: Array(zip(topology.tiles, readers)), maxAgeNanos: maxAgeNanos)
        var first: [Int] = []
        var n = 0
        for t in topology.tiles {
            first.append(n)
            n += t.inLinks.count
        }
        tiles = topology.tiles.enumerated().map { i, t in
            TileEntry(
                prefix: GuiResponses.bytes(
                    "{\"name\":\(Self.quoted(t.name)),\"kind\":\(Self.quoted(t.kind)),\"kind_id\":\(t.kindId),\"pid\":"),
                reader: readers[i], firstLink: first[i], inLinks: t.inLinks.count)
        }
        links = topology.links.flatMap { link in
            link.consumers.map { c in
                LinkEntry(
                    prefix: GuiResponses.bytes(
                        "{\"link\":\(Self.quoted(link.name)),\"producer\":\(Self.quoted(topology.tiles[link.producer].name)),"
                            + "\"consumer\":\(Self.quoted(topology.tiles[c.tile].name)),\"frags_per_second\":"),
                    reading: first[c.tile] + c.inIndex)
            }
        }
        head = GuiResponses.bytes("{\"schema\":\(Self.quoted(Self.schema)),\"topology\":\(Self.quoted(topology.name)),\"seq\":")
        settings = GuiResponses.bytes(
            ",\"interval_ms\":\(intervalMs),\"stale_after_ms\":\(maxAgeNanos / 1_000_000),\"sampled_at\":")
        previous = [TileSample](repeating: TileSample(), count: tiles.count)
        current = previous
        previousLinks = [LinkSample](repeating: LinkSample(), count: n)
        currentLinks = previousLinks

        // The bound: every static part, and the widest each value can be.
        let tileKeys: [StaticString] = [
            K.status, K.age, K.stale, K.busy, K.caughtUp, K.processing, K.backpressured, K.housekeeping, K.inBackpressure,
            K.events, K.close,
        ]
        let linkKeys: [StaticString] = [K.bytes, K.filtered, K.lostRate, K.lost, K.close]
        let tileBytes = tileKeys.reduce(0) { $0 + $1.utf8CodeUnitCount } + 6 * Self.maxValue + 4 * Self.maxShare + 20
        let linkBytes = linkKeys.reduce(0) { $0 + $1.utf8CodeUnitCount } + 5 * Self.maxValue + 1
        maxSize =
            head.count + settings.count + 3 * Self.maxValue + 64
            + tiles.reduce(0) { $0 + $1.prefix.count + tileBytes } + links.reduce(0) { $0 + $1.prefix.count + linkBytes }
    }

    /// The widest number a render writes: 20 digits (UInt64.max), or 16
    /// digits, a point and 4 decimals (values are clamped below 1e15).
    static let maxValue = 24
    static let maxShare = 8

    /// The static parts of the template, in the order a render writes them.
    enum K {
        static let status: StaticString = ",\"status\":\""
        static let age: StaticString = "\",\"heartbeat_age_ms\":"
        static let stale: StaticString = ",\"stale\":"
        static let busy: StaticString = ",\"busy\":"
        static let caughtUp: StaticString = ",\"regime_shares\":{\"caught_up\":"
        static let processing: StaticString = ",\"processing\":"
        static let backpressured: StaticString = ",\"backpressured\":"
        static let housekeeping: StaticString = "},\"housekeeping_share\":"
        static let inBackpressure: StaticString = ",\"in_backpressure\":"
        static let events: StaticString = ",\"backpressure_events\":"
        static let bytes: StaticString = ",\"bytes_per_second\":"
        static let filtered: StaticString = ",\"filtered_per_second\":"
        static let lostRate: StaticString = ",\"lost_per_second\":"
        static let lost: StaticString = ",\"lost\":"
        static let close: StaticString = "}"
    }

    /// Takes a reading of every tile at monotonic `now` (ns), wall-clock
    /// `wallclock`; the one before becomes the one it is compared with.
    func sample(now: Int64, wallclock: Int64) {
        swap(&previous, &current)
        swap(&previousLinks, &currentLinks)
        previousAt = currentAt
        currentAt = now
        self.wallclock = wallclock
        for i in 0..<tiles.count {
            let t = tiles[i]
            current[i] = TileSample(t.reader)
            for j in 0..<t.inLinks { currentLinks[t.firstLink + j] = LinkSample(t.reader, in: j) }
        }
    }

    /// The first reading, twice: the first render has rates of 0.
    func start(now: Int64, wallclock: Int64) {
        sample(now: now, wallclock: wallclock)
        sample(now: now, wallclock: wallclock)
    }

    /// Writes the snapshot of the last two readings into `out`; returns
    /// its length, or nil when `out` is too small (it is not when it holds
    /// `maxSize` bytes).
    func render(into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = JSONWriter(out)
        let seconds = sampleSeconds(from: previousAt, to: currentAt)
        var healthy = true
        for i in 0..<tiles.count where verdict(i) != .healthy { healthy = false }

        w.raw(head)
        w.integer(seq)
        w.raw(settings)
        w.seconds(wallclock)
        w.raw(",\"healthy\":")
        w.bool(healthy)
        w.raw(",\"tiles\":[")
        for i in 0..<tiles.count {
            let t = tiles[i]
            let s = current[i]
            let activity = TileActivity(from: previous[i], to: s, seconds: seconds)
            if i > 0 { w.raw(",") }
            w.raw(t.prefix)
            w.integer(s.pid)
            w.raw(K.status)
            w.raw(Self.statusName(s.status))
            w.raw(K.age)
            w.integer(UInt64(s.heartbeatAgeNanos(at: wallclock) / 1_000_000))
            w.raw(K.stale)
            w.bool(verdict(i) == .stale)
            w.raw(K.busy)
            w.decimal(activity.busy, 4)
            w.raw(K.caughtUp)
            w.decimal(activity.caughtUp, 4)
            w.raw(K.processing)
            w.decimal(activity.processing, 4)
            w.raw(K.backpressured)
            w.decimal(activity.backpressured, 4)
            w.raw(K.housekeeping)
            w.decimal(activity.housekeeping, 4)
            w.raw(K.inBackpressure)
            w.bool(s.inBackpressure)
            w.raw(K.events)
            w.integer(s.backpressureEvents)
            w.raw(K.close)
        }
        w.raw("],\"links\":[")
        for i in 0..<links.count {
            let l = links[i]
            let now = currentLinks[l.reading]
            let rates = LinkRates(from: previousLinks[l.reading], to: now, seconds: seconds)
            if i > 0 { w.raw(",") }
            w.raw(l.prefix)
            w.decimal(rates.fragsPerSecond, 1)
            w.raw(K.bytes)
            w.decimal(rates.bytesPerSecond, 1)
            w.raw(K.filtered)
            w.decimal(rates.filteredPerSecond, 1)
            w.raw(K.lostRate)
            w.decimal(rates.lostPerSecond, 1)
            w.raw(K.lost)
            w.integer(now.lost)
            w.raw(K.close)
        }
        w.raw("]}")
        guard !w.overflow else { return nil }
        seq &+= 1
        return w.count
    }

    private func verdict(_ i: Int) -> HealthCheck.TileVerdict {
        health.verdict(status: current[i].status, heartbeat: current[i].heartbeat, nowNanos: wallclock)
    }

    /// `booting`, `running`, `shutdown`, or `unknown` (a value no tile writes).
    static func statusName(_ raw: UInt64) -> StaticString {
        switch TileStatus(rawValue: raw) {
        case .booting: "booting"
        case .running: "running"
        case .shutdown: "shutdown"
        case nil: "unknown"
        }
    }

    /// `s` as a JSON string (RFC 8259 §7), quotes included.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20 || u.value == 0x7F || u.value == 0x2028 || u.value == 0x2029:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// Bytes written into a fixed buffer, bounds checked: past its end nothing
/// more is written and `overflow` says so.
struct JSONWriter {
    let base: UnsafeMutableRawPointer?
    let capacity: Int
    private(set) var count = 0
    private(set) var overflow = false

    init(_ out: UnsafeMutableRawBufferPointer) {
        base = out.baseAddress
        capacity = out.count
    }

    @inline(__always) private mutating func room(_ n: Int) -> UnsafeMutableRawPointer? {
        guard !overflow, let base, count + n <= capacity else {
            overflow = true
            return nil
        }
        return base + count
    }

    mutating func raw(_ b: UnsafeRawBufferPointer) {
        guard let p = room(b.count) else { return }
        if let src = b.baseAddress { p.copyMemory(from: src, byteCount: b.count) }
        count += b.count
    }

    mutating func raw(_ s: StaticString) {
        raw(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    mutating func bool(_ v: Bool) { raw(v ? "true" : "false") }

    mutating func integer(_ v: UInt64) {
        guard let p = room(20) else { return }
        count += ExpositionPlan.writeInteger(v, p)
    }

    /// `v` with at most `decimals` (1...6) digits after the point, at least
    /// one: `0.42`, `1000.0`. NaN and negatives are 0, and values are
    /// clamped below 1e15 (a counter a tile wrote can be any 64 bits).
    mutating func decimal(_ v: Double, _ decimals: Int) {
        var scale: UInt64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let x = v >= 0 ? min(v, 1e15) : 0
        let scaled = UInt64((x * Double(scale)).rounded())
        integer(scaled / scale)
        var fraction = scaled % scale
        var digits = decimals
        while digits > 1 && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        guard let p = room(1 + digits) else { return }
        p.storeBytes(of: UInt8(ascii: "."), as: UInt8.self)
        for k in stride(from: digits, through: 1, by: -1) {
            (p + k).storeBytes(of: UInt8(48 + fraction % 10), as: UInt8.self)
            fraction /= 10
        }
        count += 1 + digits
    }

    /// Wall-clock nanoseconds as seconds with milliseconds: `1764489600.123`.
    mutating func seconds(_ nanos: Int64) {
        let n = UInt64(max(0, nanos))
        integer(n / 1_000_000_000)
        let ms = n / 1_000_000 % 1000
        guard let p = room(4) else { return }
        p.storeBytes(of: UInt8(ascii: "."), as: UInt8.self)
        (p + 1).storeBytes(of: UInt8(48 + ms / 100), as: UInt8.self)
        (p + 2).storeBytes(of: UInt8(48 + ms / 10 % 10), as: UInt8.self)
        (p + 3).storeBytes(of: UInt8(48 + ms % 10), as: UInt8.self)
        count += 4
    }
}
