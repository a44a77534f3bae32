/// Metrics every tile has, refreshed by the tile itself in housekeeping.
/// Names follow Firedancer's so existing dashboards work.
public enum CommonMetrics {
    public static let pid = MetricFamily.gauge("pid", "The process ID of the tile.")
    public static let status = MetricFamily.gauge(
        "status", "The current status of the tile. 0 is booting, 1 is running, 2 is shut down.")
    public static let heartbeat = MetricFamily.gauge(
        "heartbeat_timestamp_nanos", "The last UNIX timestamp in nanoseconds that the tile heartbeated.")
    public static let contextSwitchVoluntary = MetricFamily.counter(
        "context_switch_voluntary", "The number of voluntary context switches.")
    public static let contextSwitchInvoluntary = MetricFamily.counter(
        "context_switch_involuntary", "The number of involuntary context switches.")
    public static let pageFaultMajor = MetricFamily.counter(
        "page_fault_major", "The number of major page faults (served by I/O).")
    public static let pageFaultMinor = MetricFamily.counter(
        "page_fault_minor", "The number of minor page faults (served without I/O).")

    public static let schema = MetricSchema(prefix: "tile", [
        pid, status, heartbeat, contextSwitchVoluntary, contextSwitchInvoluntary, pageFaultMajor, pageFaultMinor,
    ])
}

/// `tile_status` values.
public enum TileStatus: UInt64, Sendable {
    case booting = 0
    case running = 1
    case shutdown = 2
}

/// Metrics of each input link of a tile, repeated once per in-link at the
/// start of its region. The links issue fills them; the layout reserves
/// their place from the start so a region never changes shape.
public enum LinkMetrics {
    public static let schema = MetricSchema(prefix: "link", [])
}
