/// Metric families, declared once in Swift: the single source of both the
/// shared-memory layout of a metrics region and of its exposition. No offset
/// is ever written by hand.
public enum MetricType: String, Codable, Sendable {
    /// Only goes up (until the tile restarts); exported with `_total`.
    case counter
    /// Goes up and down.
    case gauge
    /// Bucket counts and a sum over samples.
    case histogram
}

/// How a stored value becomes an exported one.
public enum MetricConverter: String, Codable, Sendable {
    /// Exported as stored.
    case none
    /// Stored in nanoseconds, exported in seconds (Prometheus base units).
    case nanosToSeconds
}

/// One metric family of a schema: its name, type, help, unit, label and
/// buckets. Declared as a `static let` beside the tile's code, listed in
/// its `schema`, bound to cells at init.
public struct MetricFamily: Sendable, Hashable {
    /// Name inside its schema, without the schema's prefix or a `_total`
    /// suffix: `iterations` in the `synth` schema exports as `synth_iterations_total`.
    public let name: String
    /// Counter, gauge or histogram.
    public let type: MetricType
    /// The `# HELP` text: one sentence on what is counted.
    public let help: String
    /// How the stored value is exported (nanoseconds as seconds).
    public let converter: MetricConverter
    /// OpenMetrics unit (`seconds`, `bytes`), if any.
    public let unit: String?
    /// For an enum-labelled family: the label's name and its values; one
    /// series (and one slot) per value.
    public let label: String?
    /// The label's values, in slot order; empty without a label.
    public let variants: [String]
    /// Histogram upper bounds in stored units, ascending; `+Inf` is implied.
    public let buckets: [UInt64]

    private init(
        name: String, type: MetricType, help: String, converter: MetricConverter, unit: String?,
        label: String?, variants: [String], buckets: [UInt64]
    ) {
        precondition(Self.isValidName(name), "metric name \(name) is not snake_case")
        precondition(buckets == buckets.sorted() && Set(buckets).count == buckets.count, "\(name): buckets must ascend")
        precondition(label == nil || !variants.isEmpty, "\(name): an enum family needs variants")
        self.name = name
        self.type = type
        self.help = help
        self.converter = converter
        self.unit = unit
        self.label = label
        self.variants = variants
        self.buckets = buckets
    }

    /// A counter exported as `<prefix>_<name>_total`. `name` is lowercase
    /// letters, digits and `_`, starting with a letter; a bad name stops the
    /// schema's creation with a precondition failure (at the first boot).
    public static func counter(
        _ name: String, _ help: String, unit: String? = nil,
        converter: MetricConverter = .none
    ) -> MetricFamily {
        MetricFamily(
            name: name, type: .counter, help: help, converter: converter, unit: unit, label: nil,
            variants: [], buckets: [])
    }

    /// A gauge exported as `<prefix>_<name>`; `name` as for `counter`.
    public static func gauge(
        _ name: String, _ help: String, unit: String? = nil,
        converter: MetricConverter = .none
    ) -> MetricFamily {
        MetricFamily(
            name: name, type: .gauge, help: help, converter: converter, unit: unit, label: nil,
            variants: [], buckets: [])
    }

    /// A counter with one series per value of `label`.
    public static func enumCounter(
        _ name: String, _ help: String, label: String, variants: [String],
        unit: String? = nil, converter: MetricConverter = .none
    ) -> MetricFamily {
        MetricFamily(
            name: name, type: .counter, help: help, converter: converter, unit: unit, label: label,
            variants: variants, buckets: [])
    }

    /// A histogram over stored values with the given upper bounds.
    public static func histogram(
        _ name: String, _ help: String, buckets: [UInt64], unit: String? = nil,
        converter: MetricConverter = .none
    ) -> MetricFamily {
        MetricFamily(
            name: name, type: .histogram, help: help, converter: converter, unit: unit, label: nil,
            variants: [], buckets: buckets)
    }

    /// Slots (UInt64 words) the family occupies in a region: one per series,
    /// or, for a histogram, one per bucket (including +Inf) plus the sum.
    package var slotCount: Int {
        switch type {
        case .histogram: buckets.count + 2
        case .counter, .gauge: label == nil ? 1 : variants.count
        }
    }

    static func isValidName(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, f >= "a" && f <= "z" else { return false }
        return s.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }
    }
}

/// An ordered set of families under one exported prefix (`tile`, `link`, or
/// a tile kind), with the slot offset of each computed once.
public struct MetricSchema: Sendable {
    /// The prefix every family exports under: the kind's name for a kind's
    /// own schema (enforced when the kind is registered).
    public let prefix: String
    /// The families, in the order they are laid out and exported.
    public let families: [MetricFamily]
    /// Slot offset of each family, parallel to `families`.
    package let offsets: [Int]
    package let slotCount: Int

    /// Lays out `families` under `prefix`: each family's slots follow the
    /// previous one's. Names must be unique within the schema (checked).
    public init(prefix: String, _ families: [MetricFamily]) {
        precondition(MetricFamily.isValidName(prefix), "metric prefix \(prefix) is not snake_case")
        precondition(Set(families.map(\.name)).count == families.count, "\(prefix): duplicate family names")
        var offsets: [Int] = []
        var at = 0
        for f in families {
            offsets.append(at)
            at += f.slotCount
        }
        self.prefix = prefix
        self.families = families
        self.offsets = offsets
        self.slotCount = at
    }

    /// The slot offset of `family`; a family that is not in this schema is a
    /// programming error caught at the tile's first boot.
    package func offset(of family: MetricFamily) -> Int {
        guard let i = families.firstIndex(of: family) else {
            preconditionFailure("metric \(family.name) is not in schema \(prefix)")
        }
        return offsets[i]
    }

    /// The exported family name: `<prefix>_<name>`, with `_total` for counters.
    package func exportedName(_ family: MetricFamily) -> String {
        let base = "\(prefix)_\(family.name)"
        return family.type == .counter ? base + "_total" : base
    }
}
