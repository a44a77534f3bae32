#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Log levels, lowest first. Names match what operators type in the
/// topology file (`[log] level_stderr = "notice"`).
public enum LogLevel: String, Codable, CaseIterable, Comparable, Sendable {
    /// Detail for whoever debugs a tile; off by default.
    case debug
    /// A normal event worth a line in the log file (a tile booted).
    case info
    /// A normal event an operator sees on stderr by default.
    case notice
    /// Something degraded that still works (a tile fell behind).
    case warning
    /// Something failed.
    case error

    /// Orders levels by severity: `.debug` is the lowest, `.error` the highest.
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
    var rank: Int { LogLevel.allCases.firstIndex(of: self)! }
    /// How a line shows it, padded to 7 columns.
    public var label: String {
        switch self {
        case .debug: "DEBUG  "
        case .info: "INFO   "
        case .notice: "NOTICE "
        case .warning: "WARNING"
        case .error: "ERR    "
        }
    }
}

/// The process's log: one line per event, `time level who: message`, written
/// with a single write(2) so lines from different tiles never interleave.
/// Every process (supervisor or tile) is single-threaded and configures it
/// once at start, which is what makes the unsynchronised global safe.
public enum Log {
    nonisolated(unsafe) private static var who = "tilectl"
    nonisolated(unsafe) private static var stderrLevel = LogLevel.notice
    nonisolated(unsafe) private static var fileLevel = LogLevel.info
    nonisolated(unsafe) private static var file: FileDescriptor?
    /// Where the file is, kept open so that `reopen` needs no path walk
    /// (and a confined process can be allowed exactly that directory).
    nonisolated(unsafe) private static var directory: TrustedDirectory?
    nonisolated(unsafe) private static var fileName = ""

    /// The open log file, if any (the supervisor's: tiles log through it).
    package static var fileDescriptor: FileDescriptor? { file }
    /// The log file's directory, if there is a log file.
    package static var directoryDescriptor: FileDescriptor? { directory?.fd }
    /// The log file as configured (`/var/log/tilectl/validator.log`).
    package static var path: String? { directory.map { $0.path == "/" ? "/" + fileName : $0.path + "/" + fileName } }

    /// Sets who speaks (`supervisor`, `metric:0`) and where lines go. Opens
    /// the log file for appending when a path is given; the caller keeps
    /// running without a file if opening fails (the error says why).
    package static func configure(who: String, stderrLevel: LogLevel, fileLevel: LogLevel, path: String?) throws {
        self.who = who
        self.stderrLevel = stderrLevel
        self.fileLevel = fileLevel
        if let path, !path.isEmpty {
            let (dir, name) = try openDirectory(path)
            let fd: FileDescriptor
            do { fd = try dir.openChecked(name, O_WRONLY | O_APPEND | O_CREAT, mode: 0o640) } catch {
                dir.close()
                throw error
            }
            file?.close()
            directory?.close()
            file = fd
            directory = dir
            fileName = name
        }
    }

    /// Opens the log file's path again, as after logrotate moved it away,
    /// and puts it in place of the old one under the same descriptor
    /// number (dup3), so what holds that number (a seccomp rule) still
    /// holds. Lines written before are in the old file, whole; none is lost.
    package static func reopen() throws {
        guard let directory, let file else { return }
        let fd = try directory.openChecked(fileName, O_WRONLY | O_APPEND | O_CREAT, mode: 0o640)
        defer { fd.close() }
        guard cshim_dup3(fd.rawValue, file.rawValue, CSHIM_O_CLOEXEC) >= 0 else {
            throw RuntimeError(call: "dup3(log file)", errno: errno)
        }
    }

    /// The flags `reopen` opens with, as the kernel sees them (for a
    /// seccomp rule that allows exactly that open).
    package static var reopenFlags: Int32 { O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | CSHIM_O_NOFOLLOW | CSHIM_O_CLOEXEC }

    /// Opens (or creates) the log file for appending as root would safely:
    /// its directory reached without following a link, the file itself
    /// never a link, a FIFO or someone else's (`TrustedDirectory`). The
    /// directory may be shared (/tmp, /var/log): the checks on the file are
    /// what make that safe.
    static func openDirectory(_ path: String) throws -> (TrustedDirectory, String) {
        guard let slash = path.lastIndex(of: "/"), path.hasPrefix("/"), slash != path.index(before: path.endIndex) else {
            throw RuntimeError(path: path, "is not an absolute path to a file")
        }
        let dir = try TrustedDirectory.open(slash == path.startIndex ? "/" : String(path[..<slash]), sharedLast: true)
        return (dir, String(path[path.index(after: slash)...]))
    }

    package static func setWho(_ name: String) { who = name }

    /// Drops the log file descriptor without closing it (for a child that
    /// inherited it by accident; never called on a tile's path).
    package static func closeFile() {
        file?.close()
        file = nil
        directory?.close()
        directory = nil
    }

    /// Logs `message` at this level, to stderr and to the log file when each
    /// one's configured level admits it. The message is built only then.
    /// One write(2) per line, allowed by `RuntimePolicy.logging`: safe inside
    /// the sandbox. Never call it per fragment on a hot path (format a
    /// counter instead and let housekeeping log it).
    public static func debug(_ message: @autoclosure () -> String) { emit(.debug, message) }
    /// Logs `message` at `.info`; see `debug(_:)`.
    public static func info(_ message: @autoclosure () -> String) { emit(.info, message) }
    /// Logs `message` at `.notice`; see `debug(_:)`.
    public static func notice(_ message: @autoclosure () -> String) { emit(.notice, message) }
    /// Logs `message` at `.warning`; see `debug(_:)`.
    public static func warning(_ message: @autoclosure () -> String) { emit(.warning, message) }
    /// Logs `message` at `.error`; see `debug(_:)`.
    public static func error(_ message: @autoclosure () -> String) { emit(.error, message) }

    /// Whether a line at `level` would be written anywhere: guard work that
    /// only builds a log line.
    public static func enabled(_ level: LogLevel) -> Bool {
        level >= stderrLevel || (file != nil && level >= fileLevel)
    }

    private static func emit(_ level: LogLevel, _ message: () -> String) {
        guard enabled(level) else { return }
        var line = timestamp(Clock.wallclockNanos())
        line += " "
        line += level.label
        line += " "
        line += who
        line += ": "
        line += message()
        write(level, line)
    }

    /// A whole line someone else formatted (a tile's, relayed by the
    /// supervisor), to where lines of its level go.
    package static func relay(_ level: LogLevel, _ line: String) {
        guard enabled(level) else { return }
        write(level, line)
    }

    private static func write(_ level: LogLevel, _ text: String) {
        var line = text
        line += "\n"
        line.withUTF8 { bytes in
            if level >= stderrLevel { _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
            if let file, level >= fileLevel {
                _ = Glibc.write(file.rawValue, bytes.baseAddress, bytes.count)
                // Warnings and errors must survive a crash that follows them.
                if level >= .warning { _ = fsync(file.rawValue) }
            }
        }
    }

    /// `2026-11-24 19:05:00.123456` (UTC), computed by hand: glibc's
    /// gmtime_r reads /etc/localtime on first use, which a sandboxed tile
    /// can neither open nor should try to.
    static func timestamp(_ nanos: Int64) -> String {
        let secs = nanos / 1_000_000_000
        let micros = Int((nanos % 1_000_000_000) / 1000)
        let (y, m, d) = civilFromDays(Int(secs / 86400))
        let daySecs = Int(secs % 86400)
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) "
            + "\(pad(daySecs / 3600, 2)):\(pad(daySecs / 60 % 60, 2)):\(pad(daySecs % 60, 2)).\(pad(micros, 6))"
    }

    /// Year, month, day of a count of days since 1970-01-01 (proleptic
    /// Gregorian; H. Hinnant's days_from_civil inverse).
    package static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
