#if canImport(Glibc)
import Glibc
#endif

/// Who reserved which huge pages, so that what tilectl reserved is released
/// by tilectl, even after a supervisor was killed before its own cleanup.
///
/// A text file `<hugetlbfs dir>/.reservations`, one line per reservation:
/// `owner size-kB count boot-id`. `owner` is `configure` (kept until
/// `configure fini`) or `run:<pid>:<start time>` (released when that run
/// exits; a later run or `configure fini` releases it if the run died). The
/// boot id makes entries from before a reboot harmless: the pages they
/// counted are gone.
public struct HugepageLedger {
    public struct Entry: Equatable, Sendable {
        public var owner: String
        public var pageSize: PageSize
        public var count: Int
        public var boot: String
    }

    public let directory: String
    public init(directory: String) { self.directory = directory }

    var path: String { directory + "/.reservations" }

    public static let configureOwner = "configure"

    /// `run:<pid>:<start time>` for the calling process.
    public static func runOwner(pid: pid_t = getpid()) -> String {
        "run:\(pid):\(processStartTime(pid) ?? "0")"
    }

    /// `runOwner()` of this process, read once (the first use is at boot,
    /// before the supervisor confines itself away from /proc).
    public static let selfOwner = runOwner()

    /// Whether the process an owner names is still the one that wrote it.
    public static func isAlive(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count == 3, parts[0] == "run", let pid = pid_t(parts[1]) else { return true }
        return processStartTime(pid) == String(parts[2])
    }

    /// Field 22 of /proc/<pid>/stat: distinguishes a reused pid.
    static func processStartTime(_ pid: pid_t) -> String? {
        guard let stat = try? Files.read("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may contain blanks and parentheses.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        return rest.count > 19 ? String(rest[19]) : nil
    }

    /// This boot's id, read once.
    static let bootId: String = (try? Files.read("/proc/sys/kernel/random/boot_id").trimmingWhitespace) ?? "unknown"

    /// Runs `body` on the entries under an exclusive lock and writes back
    /// what it leaves. Entries from an earlier boot are dropped on the way.
    /// The directory is reached without following a link and must be root's
    /// (or the caller's) alone; the files in it are opened with `O_NOFOLLOW`
    /// and owner checks, and replaced by rename.
    public func update<R>(_ body: (inout [Entry]) throws -> R) throws -> R {
        let dir = try TrustedDirectory.open(directory, create: 0o755)
        defer { dir.close() }
        let lock = try dir.openChecked(".reservations.lock", O_RDWR | O_CREAT, mode: 0o600)
        defer { lock.close() }
        try Sys.retry("flock(\(directory)/.reservations.lock)", flock(lock.rawValue, LOCK_EX))
        let boot = Self.bootId
        var entries = read(dir).filter { $0.boot == boot }
        let result = try body(&entries)
        if entries.isEmpty {
            dir.remove(".reservations")
        } else {
            let text = entries.map { "\($0.owner) \($0.pageSize.bytes / 1024) \($0.count) \($0.boot)\n" }.joined()
            let tmp = ".reservations.tmp"
            dir.remove(tmp)
            let fd = try dir.openChecked(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            do {
                try fd.writeAll(text)
                fd.close()
                try Sys.check("rename(\(directory)/\(tmp))", renameat(dir.fd.rawValue, tmp, dir.fd.rawValue, ".reservations"))
            } catch {
                fd.close()
                dir.remove(tmp)
                throw error
            }
        }
        return result
    }

    func read(_ dir: TrustedDirectory) -> [Entry] {
        guard let fd = try? dir.openChecked(".reservations", O_RDONLY) else { return [] }
        defer { fd.close() }
        guard let bytes = try? fd.readToEnd(limit: 1 << 20, what: path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 4, let kb = Int(f[1]), let size = PageSize(rawValue: kb * 1024), let n = Int(f[2]) else {
                return nil
            }
            return Entry(owner: String(f[0]), pageSize: size, count: n, boot: String(f[3]))
        }
    }

    /// The entries as they are now (nothing changed).
    func read() -> [Entry] {
        guard let dir = try? TrustedDirectory.open(directory) else { return [] }
        defer { dir.close() }
        return read(dir)
    }

    /// Grows the pool `pool` was read from by `count` free pages for
    /// `owner`, and records what it gained, so that `release` gives back
    /// exactly that. Returns the gain and the pool as it is now.
    public func reserve(owner: String, _ count: Int, from pool: HugepagePool) throws -> (gained: Int, now: HugepagePool) {
        let grown = try HugepagePool.grow(pool, by: count)
        do {
            try add(owner: owner, pool.pageSize, grown.gained)
        } catch {
            // Unrecorded pages would stay reserved for good.
            try? HugepagePool.shrink(pool.pageSize, by: grown.gained)
            throw error
        }
        return grown
    }

    /// Records that `owner` added `count` pages of `size`.
    public func add(owner: String, _ size: PageSize, _ count: Int) throws {
        guard count > 0 else { return }
        try update { entries in
            entries.append(Entry(owner: owner, pageSize: size, count: count, boot: Self.bootId))
        }
    }

    /// Removes the entries `release` selects and gives their pages back to
    /// the kernel (a page still mapped goes when it is unmapped). Returns
    /// what was released, per size.
    @discardableResult
    public func release(where select: (Entry) -> Bool) throws -> [PageSize: Int] {
        try update { entries in
            var released: [PageSize: Int] = [:]
            var kept: [Entry] = []
            for e in entries {
                if select(e) { released[e.pageSize, default: 0] += e.count } else { kept.append(e) }
            }
            for (size, count) in released {
                try HugepagePool.shrink(size, by: count)
            }
            entries = kept
            return released
        }
    }

    /// Takes over the reservations of runs that died without releasing
    /// them: their pages are still reserved, so the new run uses them and
    /// releases them when it exits. Returns what was adopted, per size.
    public func adoptDeadRuns(as owner: String) throws -> [PageSize: Int] {
        try update { entries in
            var adopted: [PageSize: Int] = [:]
            for i in entries.indices where entries[i].owner != Self.configureOwner && !Self.isAlive(entries[i].owner) {
                entries[i].owner = owner
                adopted[entries[i].pageSize, default: 0] += entries[i].count
            }
            return adopted
        }
    }

    /// Releases the pages of runs that died without releasing them.
    @discardableResult
    public func releaseDeadRuns() throws -> [PageSize: Int] {
        try release { $0.owner != Self.configureOwner && !Self.isAlive($0.owner) }
    }
}
