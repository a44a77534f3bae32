import CShim

/// Where one family's slots live in the owning tile's writable region. A
/// tile binds its cells once, at init, and publishes through them in its
/// metrics-write callback: stores are relaxed atomics, so a reader may see a
/// value from the previous publication but never a torn one.
public struct CounterCell {
    let slot: UnsafeMutablePointer<UInt64>
    /// Stores the counter's running total (not an increment): keep the count
    /// in a local variable on the hot path and store it in `writeMetrics`.
    /// One relaxed store; never allocates, never traps.
    @inline(__always) public func set(_ value: UInt64) { cshim_store_relaxed_u64(slot, value) }
}

/// A gauge's one slot in the owning tile's region. Bound once, at init.
public struct GaugeCell {
    let slot: UnsafeMutablePointer<UInt64>
    /// Stores the gauge's current value; one relaxed store.
    @inline(__always) public func set(_ value: UInt64) { cshim_store_relaxed_u64(slot, value) }
}

/// A counter with one series per enum variant.
public struct EnumCounterCell {
    let slots: UnsafeMutablePointer<UInt64>
    /// Variants of the label, hence slots.
    public let count: Int
    /// Stores the running total of variant `variant` (its index among the
    /// family's variants, below `count`).
    @inline(__always) public func set(_ variant: Int, _ value: UInt64) {
        precondition(variant >= 0 && variant < count)
        cshim_store_relaxed_u64(slots + variant, value)
    }
}

/// A histogram's slots (bucket counts and the sum) in the owning tile's
/// region. Bound once, at init; filled from a `LocalHistogram`.
public struct HistogramCell {
    let slots: UnsafeMutablePointer<UInt64>
    /// Buckets, including +Inf.
    public let bucketCount: Int  // including +Inf

    /// Copies a tile-local histogram into the region.
    @inline(__always) public func publish(_ h: LocalHistogram) {
        precondition(h.counts.count == bucketCount, "histogram shape mismatch")
        for i in 0..<bucketCount { cshim_store_relaxed_u64(slots + i, h.counts[i]) }
        cshim_store_relaxed_u64(slots + bucketCount, h.sum)
    }

    /// Copies `bucketCount` counts from `counts`, and the sum.
    @usableFromInline package func publish(counts: UnsafePointer<UInt64>, sum: UInt64) {
        for i in 0..<bucketCount { cshim_store_relaxed_u64(slots + i, counts[i]) }
        cshim_store_relaxed_u64(slots + bucketCount, sum)
    }
}

/// A histogram a tile fills locally on its hot path (no shared-memory
/// traffic) and publishes in housekeeping. Storage is allocated once.
public struct LocalHistogram {
    @usableFromInline package let bounds: [UInt64]
    /// Non-cumulative counts, one per bound plus +Inf.
    @inlinable package var counts: [UInt64] { bucketCounts }
    @inlinable package var sum: UInt64 { total }
    @usableFromInline var bucketCounts: [UInt64]
    @usableFromInline var total: UInt64 = 0

    /// Empty counts for `family`, a histogram. Allocates: call it in
    /// `init(privileged:)`, never in the loop.
    public init(_ family: MetricFamily) {
        precondition(family.type == .histogram)
        bounds = family.buckets
        bucketCounts = [UInt64](repeating: 0, count: family.buckets.count + 1)
    }

    /// Counts `value` (in stored units) in its bucket and adds it to the sum.
    /// No allocation, no shared memory: safe on the hot path.
    @inlinable @inline(__always) public mutating func sample(_ value: UInt64) {
        var i = 0
        while i < bounds.count && value > bounds[i] { i += 1 }
        bucketCounts[i] &+= 1
        total &+= value
    }
}

/// The owning tile's writable view of its metrics region.
public struct MetricsWriter {
    package let base: UnsafeMutablePointer<UInt64>
    package let layout: MetricsLayout
    package let kindSchema: MetricSchema

    package init(base: UnsafeMutablePointer<UInt64>, layout: MetricsLayout, kindSchema: MetricSchema) {
        self.base = base
        self.layout = layout
        self.kindSchema = kindSchema
    }

    private func slots(_ family: MetricFamily, _ type: MetricType) -> UnsafeMutablePointer<UInt64> {
        precondition(family.type == type, "\(family.name) is a \(family.type), not a \(type)")
        if let i = CommonMetrics.schema.families.firstIndex(of: family) {
            return base + layout.commonOffset + CommonMetrics.schema.offsets[i]
        }
        return base + layout.kindOffset + kindSchema.offset(of: family)
    }

    /// Binds counter `f` (declared in this kind's schema or the common one)
    /// to its slot. Call it in `init(privileged:)`; a family that is not in
    /// the schema, or is not a plain counter, stops the boot with its name.
    public func counter(_ f: MetricFamily) -> CounterCell {
        precondition(f.label == nil, "\(f.name) is enum-labelled: bind it with enumCounter")
        return CounterCell(slot: slots(f, .counter))
    }
    /// Binds gauge `f` to its slot; like `counter(_:)`.
    public func gauge(_ f: MetricFamily) -> GaugeCell { GaugeCell(slot: slots(f, .gauge)) }
    /// Binds enum-labelled counter `f` to its slots, one per variant in
    /// declaration order; like `counter(_:)`.
    public func enumCounter(_ f: MetricFamily) -> EnumCounterCell {
        precondition(f.label != nil, "\(f.name) has no enum label")
        return EnumCounterCell(slots: slots(f, .counter), count: f.variants.count)
    }
    /// Link family `f` (a one-slot counter) of in-link `link`.
    package func linkCounter(_ f: MetricFamily, in link: Int) -> CounterCell {
        precondition(f.type == .counter && f.label == nil, "\(f.name) is not a plain counter")
        precondition(link >= 0 && link < layout.inLinkCount, "in-link \(link) of \(layout.inLinkCount)")
        return CounterCell(slot: base + layout.linkOffset(link) + LinkMetrics.schema.offset(of: f))
    }
    /// Binds histogram `f` to its slots; like `counter(_:)`.
    public func histogram(_ f: MetricFamily) -> HistogramCell {
        HistogramCell(slots: slots(f, .histogram), bucketCount: f.buckets.count + 1)
    }
}

/// A read-only view of any tile's metrics region (the metric tile, monitor).
package struct MetricsReader {
    package let base: UnsafePointer<UInt64>
    package let layout: MetricsLayout

    package init(base: UnsafePointer<UInt64>, layout: MetricsLayout) {
        self.base = base
        self.layout = layout
    }

    @inline(__always) package func load(_ slot: Int) -> UInt64 { cshim_load_relaxed_u64(base + slot) }

    package func common(_ f: MetricFamily) -> UInt64 {
        load(layout.commonOffset + CommonMetrics.schema.offset(of: f))
    }

    /// Link family `f` of in-link `link`.
    package func link(_ f: MetricFamily, in link: Int) -> UInt64 {
        load(layout.linkOffset(link) + LinkMetrics.schema.offset(of: f))
    }
}
