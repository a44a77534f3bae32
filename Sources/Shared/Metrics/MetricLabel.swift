import CShim

/// The values of an enum-labelled counter family, as a Swift enum: its
/// cases, in declaration order, are the family's series and slots, and code
/// counts by case. Reordering, adding or renaming a case moves its slot and
/// its label together: nothing can mislabel a series.
///
/// The raw value is the slot (Swift numbers `Int` cases 0, 1, … in
/// declaration order); `labelValue` is what the series is exported as.
public protocol MetricLabel: CaseIterable, RawRepresentable, Hashable, Sendable
where RawValue == Int, AllCases == [Self] {
    /// The exported label value; by default the case's name in snake_case
    /// (`badSignature` → `bad_signature`).
    var labelValue: String { get }
}

extension MetricLabel {
    public var labelValue: String { snakeCased(String(describing: self)) }

    /// The label values in slot order, checked to be the cases' raw values
    /// 0, 1, …: what a family of this label is declared with.
    static var variants: [String] {
        for (i, c) in allCases.enumerated() {
            precondition(c.rawValue == i, "\(Self.self).\(c) has raw value \(c.rawValue) at position \(i): its slot must be its place")
        }
        return allCases.map(\.labelValue)
    }
}

/// `caughtUpHousekeeping` → `caught_up_housekeeping`.
func snakeCased(_ name: String) -> String {
    var out = ""
    for ch in name {
        if ch.isUppercase {
            if !out.isEmpty { out.append("_") }
            out += ch.lowercased()
        } else {
            out.append(ch)
        }
    }
    return out
}

extension MetricFamily {
    /// A counter with one series per case of `L`, labelled `label`.
    public static func enumCounter<L: MetricLabel>(
        _ name: String, _ help: String, label: String, _ cases: L.Type,
        unit: String? = nil, converter: MetricConverter = .none
    ) -> MetricFamily {
        enumCounter(name, help, label: label, variants: L.variants, unit: unit, converter: converter)
    }
}

/// A tile-local count per case of `L`, published in housekeeping; read as
/// a collection, in slot order.
public struct VariantCounts<L: MetricLabel>: RandomAccessCollection {
    @usableFromInline var counts = [UInt64](repeating: 0, count: L.allCases.count)

    /// Every count zero. Allocates its storage: create it at init.
    public init() {}

    /// The count of `variant`; settable, without allocating.
    @inlinable
    public subscript(_ variant: L) -> UInt64 {
        @inline(__always) get { counts[variant.rawValue] }
        @inline(__always) set { counts[variant.rawValue] = newValue }
    }

    /// Every count, in slot order.
    public var all: [UInt64] { counts }

    public var startIndex: Int { 0 }
    /// How many cases `L` has. (`L.allCases` builds an array on each use.)
    public var endIndex: Int { counts.count }
    /// The count in slot `slot` (the case whose raw value it is).
    public subscript(_ slot: Int) -> UInt64 { counts[slot] }
}

/// The region's slots of an enum-labelled counter bound to `L`.
public struct LabelledCounterCell<L: MetricLabel> {
    let slots: UnsafeMutablePointer<UInt64>

    /// Stores the running total of `variant`; one relaxed store.
    @inline(__always) public func set(_ variant: L, _ value: UInt64) {
        cshim_store_relaxed_u64(slots + variant.rawValue, value)
    }

    /// Copies every count into the region. By slot, not through
    /// `L.allCases` (an array built on each use): nothing is allocated.
    public func publish(_ counts: VariantCounts<L>) {
        let all = counts.all
        for i in 0..<all.count { cshim_store_relaxed_u64(slots + i, all[i]) }
    }

    /// Copies `count` counts (one per case of `L`) from `counts`,
    /// converted (ticks to nanoseconds), into the region.
    @usableFromInline package func publish(_ counts: UnsafePointer<UInt64>, count: Int, _ convert: (UInt64) -> UInt64) {
        for i in 0..<count { cshim_store_relaxed_u64(slots + i, convert(counts[i])) }
    }
}

extension MetricsWriter {
    /// Binds `f` to `L`; `f` must have been declared with `L`'s cases.
    public func enumCounter<L: MetricLabel>(_ f: MetricFamily, _ cases: L.Type) -> LabelledCounterCell<L> {
        precondition(f.variants == L.variants, "\(f.name) was not declared with \(L.self)'s cases")
        return LabelledCounterCell(slots: enumCounter(f).slots)
    }
}

extension MetricsReader {
    /// The current value of each case of a common or kind family bound to `L`.
    package func values<L: MetricLabel>(_ f: MetricFamily, in schema: MetricSchema, at regionOffset: Int, _ cases: L.Type) -> VariantCounts<
        L
    > {
        var out = VariantCounts<L>()
        let base = regionOffset + schema.offset(of: f)
        for i in 0..<out.count { out[L(rawValue: i)!] = load(base + i) }
        return out
    }
}
