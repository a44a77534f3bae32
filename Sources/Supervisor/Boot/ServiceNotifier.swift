#if canImport(Glibc)
import Glibc
#endif
import CShim
import Shared

/// Tells whoever started the supervisor how the topology is doing, without
/// being polled:
///
/// - systemd, through the socket in `$NOTIFY_SOCKET` (sd_notify(3)'s
///   protocol: one datagram of `KEY=VALUE` lines): `READY=1` once every tile
///   runs, `STATUS=` a one-line summary when it changes, `STOPPING=1` on an
///   orderly stop, and `WATCHDOG=1` every half of `$WATCHDOG_USEC` while
///   every tile heartbeats, so a wedged tile gets the unit restarted;
/// - a parent process, through `run --ready-fd N`: `READY=1\n` written to
///   descriptor N once every tile runs, then N closed. A run that fails
///   before that closes N without writing, so the parent reads EOF.
///
/// Both are opened before the supervisor confines itself (its environment
/// is cleared and it leaves the host's network namespace then): the socket
/// is connected once, and each notification is one write(2) on it.
final class ServiceNotifier {
    static let socketRole = DescriptorRole("systemd notify socket")
    static let readyRole = DescriptorRole("ready descriptor")

    private let socket: FileDescriptor?
    private var readyFD: FileDescriptor?
    /// Half of `$WATCHDOG_USEC`, in nanoseconds.
    let watchdogInterval: Int64?
    private(set) var nextWatchdog: Int64 = 0
    private var lastStatus = ""

    /// Reads `$NOTIFY_SOCKET` and `$WATCHDOG_USEC` (and `$WATCHDOG_PID`: the
    /// watchdog is someone else's when it names another process). A socket
    /// that cannot be reached is a warning: systemd's start timeout then
    /// says the rest.
    init(readyFD: FileDescriptor?, environment: [String: String] = ServiceNotifier.environment()) {
        self.readyFD = readyFD
        var socket: FileDescriptor? = nil
        if let address = environment["NOTIFY_SOCKET"], !address.isEmpty {
            do {
                socket = try Self.connect(address)
            } catch {
                Log.warning("cannot reach systemd's notify socket \(address): \(error); systemd will not hear from this run")
            }
        }
        self.socket = socket
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if socket != nil, pidMatches, let usec = environment["WATCHDOG_USEC"].flatMap({ Int64($0) }), usec > 0 {
            watchdogInterval = max(usec * 1000 / 2, 1_000_000)
            nextWatchdog = Clock.monotonicNanos()
        } else {
            watchdogInterval = nil
        }
    }

    /// The variables systemd sets for a service, as this process has them.
    static func environment() -> [String: String] {
        var out: [String: String] = [:]
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let v = getenv(name) { out[name] = String(cString: v) }
        }
        return out
    }

    /// What the supervisor keeps through its confinement.
    var descriptors: [DescriptorRole: FileDescriptor] {
        var d: [DescriptorRole: FileDescriptor] = [:]
        if let socket { d[Self.socketRole] = socket }
        if let readyFD { d[Self.readyRole] = readyFD }
        return d
    }

    /// Whether systemd listens (then health is worth reporting as STATUS).
    var notifiesSystemd: Bool { socket != nil }

    /// Every tile runs: systemd's `READY=1`, and the ready descriptor.
    func ready(status: String) {
        lastStatus = status
        send("READY=1\nSTATUS=\(status)")
        if let fd = readyFD {
            _ = "READY=1\n".withCString { Glibc.write(fd.rawValue, $0, 8) }
            fd.close()
            readyFD = nil
        }
    }

    /// A new one-line summary, sent only when it differs from the last.
    func status(_ status: String) {
        guard status != lastStatus else { return }
        lastStatus = status
        send("STATUS=\(status)")
    }

    /// The orderly stop has begun.
    func stopping(status: String) {
        lastStatus = status
        send("STOPPING=1\nSTATUS=\(status)")
    }

    /// Whether a watchdog keep-alive is due at `now` (monotonic ns).
    func watchdogDue(now: Int64) -> Bool { watchdogInterval != nil && now >= nextWatchdog }

    /// Sends `WATCHDOG=1` when `healthy`; either way, schedules the next
    /// check. A topology that stays unhealthy for `$WATCHDOG_USEC` is
    /// restarted by systemd.
    func watchdog(now: Int64, healthy: Bool) {
        guard let interval = watchdogInterval else { return }
        if healthy { send("WATCHDOG=1") }
        nextWatchdog = now + interval
    }

    /// One datagram; a listener that went away is not the topology's problem.
    private func send(_ message: String) {
        guard let socket else { return }
        var bytes = Array(message.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(socket.rawValue, $0.baseAddress, $0.count) }
    }

    /// A datagram socket connected to `address`: a path (`/run/systemd/notify`)
    /// or, after `@`, a name in the abstract namespace.
    static func connect(_ address: String) throws -> FileDescriptor {
        var path = Array(address.utf8)
        guard path.first == UInt8(ascii: "/") || path.first == UInt8(ascii: "@") else {
            throw RuntimeError("not a socket path or an abstract name (@name)")
        }
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: sa.sun_path)
        guard path.count < capacity else { throw RuntimeError("longer than a socket address (\(capacity - 1) bytes)") }
        withUnsafeMutableBytes(of: &sa.sun_path) { $0.copyBytes(from: path) }
        let fd = try Sys.check("socket(AF_UNIX, SOCK_DGRAM)", Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | CSHIM_SOCK_CLOEXEC, 0))
        // The address's length counts the name's bytes exactly: an abstract
        // name is not NUL-terminated.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) } }
        if rc < 0 {
            let e = errno
            Glibc.close(fd)
            throw RuntimeError(call: "connect", errno: e)
        }
        return FileDescriptor(rawValue: fd)
    }
}
