/// The contract every tile kind meets. The supervisor, `run1`, the sandbox
/// and the metric renderer only ever talk to this protocol; adding a kind is
/// one type conforming to it and one line in the registry of kinds.
///
/// Lifecycle, in one process, single-threaded:
///   `init(privileged:)`   before the sandbox: bind sockets, open files, map memory
///   sandbox entry         by the runner, from `descriptors` and `seccompPolicy`
///   `unprivilegedInit`    inside the sandbox
///   stem loop             the callbacks below, until the supervisor halts it
///
/// Inside the sandbox (`unprivilegedInit` and every callback) a tile must
/// never make a syscall its `seccompPolicy` does not list: the kernel kills
/// the process with SIGSYS and the supervisor stops the whole topology,
/// naming the tile. It has no file system, no network beyond descriptors it
/// kept, and an address-space limit (`memoryAllowance`): allocate in
/// `init(privileged:)`, not in the loop. The callbacks run on one thread
/// and must not block (except `idle`): a tile that stops heartbeating is
/// reported stale by `/healthz` and `tilectl ready`.
///
/// The type is part of tilectl's public API (semantic versioning, see the
/// README): a conforming type in another package keeps compiling across
/// minor versions.
public protocol Tile: SendableMetatype {
    /// What the tile keeps in its preallocated scratch memory (offsets from
    /// `layoutScratch`); `Void` for a tile without scratch.
    associatedtype Scratch = Void

    /// The kind's name: the `[tiles.<kind>]` table, the `kind` label and the
    /// prefix of its metrics.
    static var kind: String { get }
    /// One line for `tilectl check` and the reference.
    static var summary: String { get }
    /// Options accepted in `[tiles.<kind>]`, besides `count`.
    static var options: [TileOption] { get }
    /// How many tiles of this kind a topology may have.
    static var maxCount: Int { get }
    /// How many links the kind consumes: `[tiles.<kind>] inputs` must list
    /// a number in this range (the loader says so otherwise). Default `0...0`.
    static var inputs: ClosedRange<Int> { get }
    /// How many links the kind produces, checked like `inputs`. Default `0...0`.
    static var outputs: ClosedRange<Int> { get }
    /// Fragments the tile may publish per step (one `afterCredit` call, or
    /// one fragment it handles) on each output: the credits it needs before
    /// each step.
    static var burst: Int { get }
    /// The kind's own metric families (exported as `<kind>_*`).
    static var schema: MetricSchema { get }
    /// Descriptors the tile opens inside its sandbox (connections it
    /// accepts); RLIMIT_NOFILE leaves room for exactly that many.
    static var openedInSandbox: Int { get }
    /// Bytes of address space and of heap the tile may take beyond what it
    /// has mapped when it enters its sandbox (RLIMIT_AS, RLIMIT_DATA).
    static var memoryAllowance: Int { get }
    /// The syscalls the tile may make after its sandbox is entered, as data.
    static var seccompPolicy: SeccompPolicy { get }
    /// Roles of the descriptors the tile keeps beyond stderr, the log file
    /// and the death pipe. They are kept at 5, 6, … in this order (the
    /// numbers its filter is compiled for): privileged init opens each and
    /// hands it to `TileContext.keep(_:as:)`, which moves it there.
    static var descriptorRoles: [DescriptorRole] { get }

    /// Why every topology must have a tile of this kind, as the end of the
    /// loader's error when it has none ("… add a [tiles.<kind>] table
    /// <this>"); nil for a kind a topology may leave out.
    static var requiredBecause: String? { get }
    /// Whether its tiles float by default when `[layout] affinity` pins
    /// tiles: they share the CPUs no pinned tile took (a tile that mostly
    /// sleeps, such as the metric tile, need not own a core).
    static var floating: Bool { get }
    /// Lines the topology graph shows under the tile's name (where it
    /// serves, what it reads); nil for none.
    static func graphLabel(_ tile: TileSpec) -> String?

    /// Places the tile's scratch parts; called once to compute the
    /// footprint and again at init to find the parts (same code, same result).
    static func layoutScratch(_ tile: TileSpec, _ layout: inout LayoutBuilder) -> Scratch

    /// Checks the supervisor runs before creating anything, for failures a
    /// user can fix (a port already in use).
    static func preflight(_ tile: TileSpec, in topology: Topology) throws

    /// Checks of the tile against the rest of the topology (a link's mtu
    /// too small for what it sends); reported like any topology-file error.
    static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue?

    /// Privileged init, before the sandbox, as root or the invoking user:
    /// read options (`ctx.tile[option]`), bind metric cells
    /// (`ctx.metrics`), open what the tile keeps (`ctx.keep(_:as:)`),
    /// allocate everything the loop will use. Throwing stops the topology's
    /// boot with this tile's name and the error.
    init(privileged ctx: TileContext) throws

    /// Descriptors the tile keeps through its sandbox beyond stderr, the log
    /// file and the death pipe, by role (the roles its policy refers to).
    var descriptors: [DescriptorRole: FileDescriptor] { get }

    /// Inside the sandbox, before the loop: only the calls of
    /// `seccompPolicy`, no file system, no new privileges. Throwing stops
    /// the topology's boot. Default: nothing.
    mutating func unprivilegedInit(_ ctx: TileContext) throws

    // MARK: stem callbacks (each has a default that does nothing)

    /// Called every loop iteration, even when backpressured (a tile that
    /// serves sockets keeps serving). Returns true when it did work.
    mutating func beforeCredit(_ stem: inout StemContext) -> Bool
    /// Called at each step of an iteration, when every output has credits
    /// for `burst` fragments, before input is polled: where a source
    /// publishes. Returns true when it did work; the stem calls it again in
    /// the same iteration (same `now`) until it returns false or the
    /// iteration's step limit is reached, so do one unit of work per call.
    mutating func afterCredit(_ stem: inout StemContext) -> Bool
    /// A fragment arrived on input `input`; return true to skip it without
    /// reading its payload (counted as filtered).
    mutating func beforeFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) -> Bool
    /// Read the payload: copy what is needed, it may be overwritten as soon
    /// as this returns (then `afterFrag` is not called and the loss is counted).
    mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer)
    /// The fragment was read whole: act on what `duringFrag` copied.
    mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta)
    /// Called on the housekeeping schedule.
    mutating func housekeeping(_ stem: inout StemContext)
    /// Publishes the tile's local counters into its metrics region; called
    /// after housekeeping and once more before the tile stops.
    mutating func writeMetrics()
    /// Blocks until there may be work, or until `deadline` (monotonic ns),
    /// whichever is first. Only called when the topology idles by sleeping.
    mutating func idle(until deadline: Int64)
    /// The supervisor asked for an orderly stop; the tile exits after this.
    mutating func shutdown()
}

extension Tile where Scratch == Void {
    /// No scratch: a tile whose state fits in its own stored properties.
    public static func layoutScratch(_ tile: TileSpec, _ layout: inout LayoutBuilder) {}
}

extension Tile {
    public static var options: [TileOption] { [] }
    public static var maxCount: Int { 64 }
    public static var inputs: ClosedRange<Int> { 0...0 }
    public static var outputs: ClosedRange<Int> { 0...0 }
    public static var burst: Int { 1 }
    public static func validate(_ tile: TileSpec, in topology: Topology) -> TopologyIssue? { nil }
    public static var openedInSandbox: Int { 0 }
    public static var memoryAllowance: Int { 32 << 20 }
    public static var descriptorRoles: [DescriptorRole] { [] }
    public static func preflight(_ tile: TileSpec, in topology: Topology) throws {}
    public static var requiredBecause: String? { nil }
    public static var floating: Bool { false }
    public static func graphLabel(_ tile: TileSpec) -> String? { nil }
    public var descriptors: [DescriptorRole: FileDescriptor] { [:] }
    public mutating func unprivilegedInit(_ ctx: TileContext) throws {}
    public mutating func beforeCredit(_ stem: inout StemContext) -> Bool { false }
    public mutating func afterCredit(_ stem: inout StemContext) -> Bool { false }
    public mutating func beforeFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) -> Bool { false }
    public mutating func duringFrag(_ stem: inout StemContext, input: Int, meta: FragMeta, payload: UnsafeRawBufferPointer) {}
    public mutating func afterFrag(_ stem: inout StemContext, input: Int, meta: FragMeta) {}
    public mutating func housekeeping(_ stem: inout StemContext) {}
    public mutating func writeMetrics() {}
    public mutating func idle(until deadline: Int64) { sleepUntil(monotonicNanos: deadline) }
    public mutating func shutdown() {}

    /// Bytes of scratch the tile needs, from the same appends its init walks.
    package static func scratchFootprint(_ tile: TileSpec) -> Int {
        var l = LayoutBuilder()
        _ = layoutScratch(tile, &l)
        return l.footprint()
    }
}
