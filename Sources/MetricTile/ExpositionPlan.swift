import CShim
import Shared

/// One tile's metrics as the renderer sees them: where its region is, and
/// the labels that identify it.
public struct RenderSource {
    public let tile: TileSpec
    public let reader: MetricsReader
    public let kindSchema: MetricSchema
    /// The link instances the tile consumes, in in-link order: (link_kind, link_kind_id).
    public let inLinks: [(name: String, kindId: Int)]

    public init(tile: TileSpec, reader: MetricsReader, kindSchema: MetricSchema, inLinks: [(name: String, kindId: Int)] = []) {
        self.tile = tile
        self.reader = reader
        self.kindSchema = kindSchema
        self.inLinks = inLinks
    }

    var labels: String { "kind=\"\(tile.kind)\",kind_id=\"\(tile.kindId)\"" }
}

/// The Prometheus text exposition (format 0.0.4), compiled once: every
/// static byte (HELP and TYPE lines, metric names, label sets) is rendered at
/// init into one array, and a scrape only walks a list of operations that
/// copy a static run and format one value. Nothing is allocated per scrape.
public struct ExpositionPlan {
    /// How the value after a static run is formatted.
    enum Format: UInt8 {
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
        var format: Format
        var slot: UnsafePointer<UInt64>?
    }

    var statics: [UInt8] = []
    var ops: [Op] = []
    /// Samples (lines with a value) per scrape.
    public private(set) var seriesCount = 0

    /// Lays out every family of every tile in `sources`: common `tile_*`
    /// families first, then `link_*` (one series per in-link of each tile),
    /// then each kind's families in the order kinds first appear. HELP and
    /// TYPE appear once per family.
    public init(sources: [RenderSource]) {
        /// One family: its HELP and TYPE, then a sample (or a histogram's
        /// lines) per series, each series a label set and where its slots start.
        func family(_ schema: MetricSchema, _ f: MetricFamily, _ series: [(labels: String, slots: UnsafePointer<UInt64>)]) {
            guard !series.isEmpty else { return }
            let name = schema.exportedName(f)
            line("# HELP \(name) \(Self.escapeHelp(f.help))\n")
            line("# TYPE \(name) \(f.type.rawValue)\n")
            let baseName = "\(schema.prefix)_\(f.name)"
            for (labels, slots) in series {
                let first = slots + schema.offset(of: f)
                switch f.type {
                case .counter, .gauge:
                    let fmt: Format = f.converter == .nanosToSeconds ? .seconds : .integer
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

        for f in CommonMetrics.schema.families {
            family(CommonMetrics.schema, f, sources.map { ($0.labels, $0.reader.base + $0.reader.layout.commonOffset) })
        }
        for f in LinkMetrics.schema.families {
            var series: [(labels: String, slots: UnsafePointer<UInt64>)] = []
            for src in sources {
                for (i, link) in src.inLinks.enumerated() {
                    series.append(("\(src.labels),link_kind=\"\(link.name)\",link_kind_id=\"\(link.kindId)\"",
                                   src.reader.base + src.reader.layout.linkOffset(i)))
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
    }

    private mutating func line(_ s: String) {
        let start = statics.count
        statics.append(contentsOf: s.utf8)
        ops.append(Op(staticStart: Int32(start), staticCount: Int32(statics.count - start), format: .none, slot: nil))
    }

    private mutating func sample(_ prefix: String, _ format: Format, _ slot: UnsafePointer<UInt64>?) {
        line(prefix)
        ops[ops.count - 1].format = format
        ops[ops.count - 1].slot = slot
        seriesCount += 1
    }

    /// Renders one scrape into `out`; returns the byte count, or nil when
    /// `out` is too small (nothing useful is left in it then).
    public func render(into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let base = out.baseAddress else { return nil }
        let cap = out.count
        var at = 0
        var acc: UInt64 = 0
        return statics.withUnsafeBytes { st -> Int? in
            let stBase = st.baseAddress!
            for op in ops {
                let n = Int(op.staticCount)
                // A value is at most 30 bytes ("18446744073.709551615\n").
                guard at + n + 32 <= cap else { return nil }
                (base + at).copyMemory(from: stBase + Int(op.staticStart), byteCount: n)
                at += n
                switch op.format {
                case .none: continue
                case .integer: at += Self.writeInteger(cshim_load_relaxed_u64(op.slot!), base + at)
                case .seconds: at += Self.writeSeconds(cshim_load_relaxed_u64(op.slot!), base + at)
                case .bucketFirst:
                    acc = cshim_load_relaxed_u64(op.slot!)
                    at += Self.writeInteger(acc, base + at)
                case .bucketNext:
                    acc &+= cshim_load_relaxed_u64(op.slot!)
                    at += Self.writeInteger(acc, base + at)
                case .accumulated: at += Self.writeInteger(acc, base + at)
                }
                base.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: at, as: UInt8.self)
                at += 1
            }
            return at
        }
    }

    /// Upper bound of a scrape's size with every value at its widest.
    public var maxRenderedSize: Int { statics.count + seriesCount * 32 }

    /// Decimal digits of `v` at `p`; returns the count.
    @inline(__always)
    static func writeInteger(_ v: UInt64, _ p: UnsafeMutableRawPointer) -> Int {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes of scratch
        return withUnsafeMutableBytes(of: &digits) { tmp in
            var x = v
            var i = 32
            repeat {
                i -= 1
                tmp[i] = UInt8(truncatingIfNeeded: x % 10) + 48
                x /= 10
            } while x != 0
            let n = 32 - i
            p.copyMemory(from: tmp.baseAddress! + i, byteCount: n)
            return n
        }
    }

    /// `nanos` as exact decimal seconds: 1500000 → `0.0015`, 2000000000 → `2`.
    @inline(__always)
    static func writeSeconds(_ nanos: UInt64, _ p: UnsafeMutableRawPointer) -> Int {
        var n = writeInteger(nanos / 1_000_000_000, p)
        var frac = nanos % 1_000_000_000
        if frac == 0 { return n }
        var width = 9
        while frac % 10 == 0 { frac /= 10; width -= 1 }
        p.storeBytes(of: UInt8(ascii: "."), toByteOffset: n, as: UInt8.self)
        n += 1
        var div: UInt64 = 1
        for _ in 1..<width { div *= 10 }
        for _ in 0..<width {
            p.storeBytes(of: UInt8(truncatingIfNeeded: (frac / div) % 10) + 48, toByteOffset: n, as: UInt8.self)
            n += 1
            div /= 10
        }
        return n
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

    /// Label values escape backslash, double quote and newline.
    static func escapeLabel(_ s: String) -> String {
        s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
