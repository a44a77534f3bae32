import CShim
import Shared

/// One tile's metrics as the renderer sees them: where its region is, and
/// the labels that identify it.
package struct RenderSource {
    package let tile: TileSpec
    package let reader: MetricsReader
    package let kindSchema: MetricSchema
    /// The link instances the tile consumes, in in-link order: (link_kind, link_kind_id).
    package let inLinks: [(name: String, kindId: Int)]

    package init(tile: TileSpec, reader: MetricsReader, kindSchema: MetricSchema, inLinks: [(name: String, kindId: Int)] = []) {
        self.tile = tile
        self.reader = reader
        self.kindSchema = kindSchema
        self.inLinks = inLinks
    }

    var labels: String { "kind=\"\(tile.kind)\",kind_id=\"\(tile.kindId)\"" }
}

/// An exposition of every tile's metrics, compiled once: every static byte
/// (HELP, TYPE and UNIT lines, metric names, label sets) is rendered at init
/// into one array, and a scrape only walks a list of operations that copy a
/// static run and format one value. Nothing is allocated per scrape.
package struct ExpositionPlan {
    /// The two text formats Prometheus reads.
    package enum Format: Sendable {
        /// The Prometheus text format 0.0.4: counters' TYPE names carry `_total`.
        case prometheus
        /// OpenMetrics 1.0.0: families are named without `_total` (the
        /// sample keeps it), UNIT where the name ends with its unit, `# EOF`.
        case openMetrics

        package var contentType: String {
            switch self {
            case .prometheus: "text/plain; version=0.0.4; charset=utf-8"
            case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }
    }

    /// How the value after a static run is formatted.
    enum ValueFormat: UInt8 {
        /// No value: the static run is the whole line (HELP, TYPE).
        case none
        /// The slot as an unsigned integer.
        case integer
        /// The slot, in nanoseconds, as decimal seconds.
        case seconds
        /// First bucket of a histogram: the accumulator restarts.
        case bucketFirst
        /// Later bucket: the accumulator grows (buckets are cumulative).
        case bucketNext
        /// `_count`: the accumulator (the +Inf bucket's cumulative value).
        case accumulated
    }

    struct Op {
        var staticStart: Int32
        var staticCount: Int32
        var format: ValueFormat
        var slot: UnsafePointer<UInt64>?
    }

    /// While the plan is built: the static bytes and the operations.
    private var building: (statics: [UInt8], ops: [Op]) = ([], [])
    /// The finished plan, in memory of its own: a scrape walks it with
    /// plain pointers (nothing retained, nothing allocated, even unoptimized).
    private(set) var storage = Storage([], [])

    final class Storage {
        let statics: UnsafeMutableRawBufferPointer
        let ops: UnsafeMutableBufferPointer<Op>

        init(_ statics: [UInt8], _ ops: [Op]) {
            // 64 bytes of slack: a short run is copied as a whole 64-byte block.
            self.statics = .allocate(byteCount: statics.count + 64, alignment: 64)
            self.statics.copyBytes(from: statics)
            (self.statics.baseAddress! + statics.count).initializeMemory(as: UInt8.self, repeating: 0, count: 64)
            self.ops = .allocate(capacity: ops.count)
            _ = self.ops.initialize(from: ops)
        }

        deinit {
            statics.deallocate()
            ops.deallocate()
        }
    }

    var ops: UnsafeMutableBufferPointer<Op> { storage.ops }
    var staticsCount: Int { storage.statics.count }
    /// Samples (lines with a value) per scrape.
    package private(set) var seriesCount = 0

    /// Lays out every family of every tile in `sources`: common `tile_*`
    /// families first, then `link_*` (one series per in-link of each tile),
    /// then each kind's families in the order kinds first appear. HELP and
    /// TYPE appear once per family.
    package init(sources: [RenderSource], format: Format = .prometheus) {
        /// One family: its HELP and TYPE, then a sample (or a histogram's
        /// lines) per series, each series a label set and where its slots start.
        func family(_ schema: MetricSchema, _ f: MetricFamily, _ series: [(labels: String, slots: UnsafePointer<UInt64>)]) {
            guard !series.isEmpty else { return }
            let name = schema.exportedName(f)
            switch format {
            case .prometheus:
                line("# HELP \(name) \(Self.escapeHelp(f.help))\n")
                line("# TYPE \(name) \(f.type.rawValue)\n")
            case .openMetrics:
                let family = "\(schema.prefix)_\(f.name)"
                line("# HELP \(family) \(Self.escapeLabel(f.help))\n")
                line("# TYPE \(family) \(f.type.rawValue)\n")
                if let unit = f.unit, family.hasSuffix("_" + unit) { line("# UNIT \(family) \(unit)\n") }
            }
            let baseName = "\(schema.prefix)_\(f.name)"
            for (labels, slots) in series {
                let first = slots + schema.offset(of: f)
                switch f.type {
                case .counter, .gauge:
                    let fmt: ValueFormat = f.converter == .nanosToSeconds ? .seconds : .integer
                    if let label = f.label {
                        for (i, v) in f.variants.enumerated() {
                            sample("\(name){\(labels),\(label)=\"\(Self.escapeLabel(v))\"} ", fmt, first + i)
                        }
                    } else {
                        sample("\(name){\(labels)} ", fmt, first)
                    }
                case .histogram:
                    for (i, bound) in f.buckets.enumerated() {
                        let le = f.converter == .nanosToSeconds ? Self.decimalSeconds(bound) : String(bound)
                        sample("\(baseName)_bucket{\(labels),le=\"\(le)\"} ", i == 0 ? .bucketFirst : .bucketNext, first + i)
                    }
                    let inf = f.buckets.count
                    sample("\(baseName)_bucket{\(labels),le=\"+Inf\"} ", inf == 0 ? .bucketFirst : .bucketNext, first + inf)
                    sample("\(baseName)_sum{\(labels)} ", f.converter == .nanosToSeconds ? .seconds : .integer, first + inf + 1)
                    sample("\(baseName)_count{\(labels)} ", .accumulated, nil)
                }
            }
        }

        // What serves these metrics, as Prometheus's own `*_build_info`: one
        // constant series (OpenMetrics has a type for it).
        let build = "{version=\"\(Self.escapeLabel(BuildInfo.version))\",commit=\"\(Self.escapeLabel(BuildInfo.commit))\"} 1\n"
        switch format {
        case .prometheus:
            line("# HELP tilectl_build_info The tilectl build serving these metrics: its version and git commit (value 1).\n")
            line("# TYPE tilectl_build_info gauge\n")
        case .openMetrics:
            line("# HELP tilectl_build The tilectl build serving these metrics: its version and git commit.\n")
            line("# TYPE tilectl_build info\n")
        }
        line("tilectl_build_info" + build)
        seriesCount += 1

        for f in CommonMetrics.schema.families {
            family(CommonMetrics.schema, f, sources.map { ($0.labels, $0.reader.base + $0.reader.layout.commonOffset) })
        }
        for f in LinkMetrics.schema.families {
            var series: [(labels: String, slots: UnsafePointer<UInt64>)] = []
            for src in sources {
                for (i, link) in src.inLinks.enumerated() {
                    series.append(
                        (
                            "\(src.labels),link_kind=\"\(link.name)\",link_kind_id=\"\(link.kindId)\"",
                            src.reader.base + src.reader.layout.linkOffset(i)
                        ))
                }
            }
            family(LinkMetrics.schema, f, series)
        }
        var kindsInOrder: [String] = []
        for s in sources where !kindsInOrder.contains(s.tile.kind) { kindsInOrder.append(s.tile.kind) }
        for kind in kindsInOrder {
            let members = sources.filter { $0.tile.kind == kind }
            let schema = members[0].kindSchema
            for f in schema.families {
                family(schema, f, members.map { ($0.labels, $0.reader.base + $0.reader.layout.kindOffset) })
            }
        }
        if format == .openMetrics { line("# EOF\n") }
        storage = Storage(building.statics, building.ops)
        building = ([], [])
    }

    private mutating func line(_ s: String) {
        let start = building.statics.count
        building.statics.append(contentsOf: s.utf8)
        building.ops.append(
            Op(
                staticStart: Int32(start), staticCount: Int32(building.statics.count - start),
                format: .none, slot: nil))
    }

    private mutating func sample(_ prefix: String, _ format: ValueFormat, _ slot: UnsafePointer<UInt64>?) {
        line(prefix)
        building.ops[building.ops.count - 1].format = format
        building.ops[building.ops.count - 1].slot = slot
        seriesCount += 1
    }

    /// Renders one scrape into `out`; returns the byte count, or nil when
    /// `out` is too small (nothing useful is left in it then).
    package func render(into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let base = out.baseAddress else { return nil }
        let cap = out.count
        let stBase = UnsafeRawPointer(storage.statics.baseAddress!)
        let ops = storage.ops.baseAddress!
        let count = storage.ops.count
        var at = 0
        var acc: UInt64 = 0
        var i = 0
        while i < count {
            let op = ops[i]
            i += 1
            // A value is at most 30 bytes ("18446744073.709551615\n").
            guard at + max(Int(op.staticCount), 64) + 32 <= cap else { return nil }
            at += Self.renderOp(op, stBase, base + at, &acc)
        }
        return at
    }

    /// One operation at `dst`: its static run, then its value and a newline
    /// if it has one; returns the bytes written. `acc` carries a histogram's
    /// cumulative count from one bucket to the next.
    @inline(__always)
    static func renderOp(_ op: Op, _ statics: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ acc: inout UInt64) -> Int {
        let n = Int(op.staticCount)
        copy(dst, statics + Int(op.staticStart), n)
        var at = n
        switch op.format {
        case .none: return n
        case .integer: at += writeInteger(cshim_load_relaxed_u64(op.slot!), dst + at)
        case .seconds: at += writeSeconds(cshim_load_relaxed_u64(op.slot!), dst + at)
        case .bucketFirst:
            acc = cshim_load_relaxed_u64(op.slot!)
            at += writeInteger(acc, dst + at)
        case .bucketNext:
            acc &+= cshim_load_relaxed_u64(op.slot!)
            at += writeInteger(acc, dst + at)
        case .accumulated: at += writeInteger(acc, dst + at)
        }
        dst.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: at, as: UInt8.self)
        return at + 1
    }

    /// Upper bound of a scrape's size with every value at its widest (and
    /// the slack the last block copy may write past the end).
    package var maxRenderedSize: Int { staticsCount + seriesCount * 32 + 64 }

    /// Copies `n` bytes. A run of up to 64 bytes (most sample prefixes) is
    /// copied as one whole 64-byte block, four 16-byte moves and no branch:
    /// the source has 64 bytes of slack, and what lands past `n` in the
    /// destination is overwritten by what follows (the caller leaves room).
    @inline(__always)
    static func copy(_ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int) {
        if n <= 64 {
            dst.storeBytes(of: src.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 16, as: SIMD16<UInt8>.self), toByteOffset: 16, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt8>.self), toByteOffset: 32, as: SIMD16<UInt8>.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 48, as: SIMD16<UInt8>.self), toByteOffset: 48, as: SIMD16<UInt8>.self)
        } else {
            dst.copyMemory(from: src, byteCount: n)
        }
    }

    /// "00" to "99": integers are written two digits at a time.
    nonisolated(unsafe) static let digitPairs: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 200)
        for i in 0..<100 {
            p[2 * i] = UInt8(48 + i / 10)
            p[2 * i + 1] = UInt8(48 + i % 10)
        }
        return UnsafePointer(p)
    }()

    /// 10^0 ... 10^19.
    nonisolated(unsafe) static let powersOf10: UnsafePointer<UInt64> = {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 20)
        var v: UInt64 = 1
        for i in 0..<20 {
            p[i] = v
            if i < 19 { v *= 10 }
        }
        return UnsafePointer(p)
    }()

    /// Decimal digits of `v` at `p`; returns the count. The width comes
    /// from the bit length (no division); the digits are written from the
    /// last one back, two at a time, with one division per pair.
    @inline(__always)
    package static func writeInteger(_ v: UInt64, _ p: UnsafeMutableRawPointer) -> Int {
        let bits = 64 - (v | 1).leadingZeroBitCount
        let guess = (bits * 1233) >> 12  // floor(bits * log10(2))
        let count = guess + 1 - ((v | 1) < powersOf10[guess] ? 1 : 0)
        let pairs = digitPairs
        var x = v
        var i = count
        while x >= 100 {
            let q = x / 100
            let r = Int(x &- q &* 100)
            x = q
            i -= 2
            p.storeBytes(of: pairs[2 * r], toByteOffset: i, as: UInt8.self)
            p.storeBytes(of: pairs[2 * r + 1], toByteOffset: i + 1, as: UInt8.self)
        }
        if x >= 10 {
            p.storeBytes(of: pairs[2 * Int(x)], toByteOffset: 0, as: UInt8.self)
            p.storeBytes(of: pairs[2 * Int(x) + 1], toByteOffset: 1, as: UInt8.self)
        } else {
            p.storeBytes(of: UInt8(truncatingIfNeeded: x) &+ 48, toByteOffset: 0, as: UInt8.self)
        }
        return count
    }

    /// `nanos` as exact decimal seconds: 1500000 → `0.0015`, 2000000000 → `2`.
    @inline(__always)
    static func writeSeconds(_ nanos: UInt64, _ p: UnsafeMutableRawPointer) -> Int {
        var n = writeInteger(nanos / 1_000_000_000, p)
        var frac = nanos % 1_000_000_000
        if frac == 0 { return n }
        // Nine fraction digits, trailing zeros dropped.
        var width = 9
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        p.storeBytes(of: UInt8(ascii: "."), toByteOffset: n, as: UInt8.self)
        n += 1
        var i = n + width
        var x = frac
        while i > n {
            i -= 1
            p.storeBytes(of: UInt8(truncatingIfNeeded: x % 10) &+ 48, toByteOffset: i, as: UInt8.self)
            x /= 10
        }
        return n + width
    }

    static func decimalSeconds(_ nanos: UInt64) -> String {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { writeSeconds(nanos, $0.baseAddress!) }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }

    /// HELP text escapes backslash and newline.
    static func escapeHelp(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    /// Label values (and OpenMetrics HELP text) escape backslash, double
    /// quote and newline.
    static func escapeLabel(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
