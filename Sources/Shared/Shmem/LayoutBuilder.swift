/// Appends aligned parts one after another and says where each starts. The
/// same sequence of appends computes a footprint (before anything exists)
/// and places the parts (at init), so the two can never disagree.
public struct LayoutBuilder: Sendable {
    /// Where the next part would start, before alignment.
    public private(set) var end = 0

    /// An empty layout, starting at offset 0.
    public init() {}

    /// Reserves `size` bytes aligned to `align`; returns the part's offset.
    public mutating func append(_ size: Int, align: Int = 64) -> Int {
        let at = alignUp(end, align)
        end = at + size
        return at
    }

    /// The footprint once every part is appended, rounded to `align`.
    public func footprint(align: Int = 64) -> Int { alignUp(end, align) }
}
