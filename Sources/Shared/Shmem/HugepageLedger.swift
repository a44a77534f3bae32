#if canImport(Glibc)
import Glibc
#endif

/// Who reserved which huge pages, so that what tilectl reserved is released
/// by tilectl, even after a supervisor was killed before its own cleanup.
///
/// A `RecordFile`, `<hugetlbfs dir>/.reservations`, one line per
/// reservation: `owner size-kB count [node]`. `owner` is `configure` (kept
/// until `configure fini`) or `run:<pid>:<start time>` (released when that
/// run exits; a later run or `configure fini` releases it if the run died).
/// `node` names the NUMA node's own pool the pages were added to (absent:
/// the system-wide pool), so they go back to the pool they came from.
package struct HugepageLedger {
    package struct Entry: Equatable, Sendable {
        package var owner: String
        package var pageSize: PageSize
        package var count: Int
        /// The NUMA node whose pool they were added to; nil: the system's.
        package var node: Int?

        var record: [String] { [owner, "\(pageSize.bytes / 1024)", "\(count)"] + (node.map { ["\($0)"] } ?? []) }

        init(owner: String, pageSize: PageSize, count: Int, node: Int?) {
            self.owner = owner
            self.pageSize = pageSize
            self.count = count
            self.node = node
        }

        init?(record f: [String]) {
            guard f.count == 3 || f.count == 4, let kb = Int(f[1]), let size = PageSize(rawValue: kb * 1024),
                let n = Int(f[2])
            else { return nil }
            let node = f.count == 4 ? Int(f[3]) : nil
            if f.count == 4 && node == nil { return nil }
            self.init(owner: f[0], pageSize: size, count: n, node: node)
        }
    }

    package let directory: String
    package init(directory: String) { self.directory = directory }

    package static let configureOwner = "configure"

    /// `run:<pid>:<start time>` for the calling process.
    package static func runOwner(pid: pid_t = getpid()) -> String {
        "run:\(pid):\(processStartTime(pid) ?? "0")"
    }

    /// `runOwner()` of this process, read once (the first use is at boot,
    /// before the supervisor confines itself away from /proc).
    package static let selfOwner = runOwner()

    /// Whether the process an owner names is still the one that wrote it.
    package static func isAlive(_ owner: String) -> Bool {
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

    /// The file, `.reservations` in the hugetlbfs directory.
    package var file: RecordFile { RecordFile(directory: directory, name: ".reservations") }

    /// Runs `body` on the entries under the file's lock and writes back
    /// what it leaves (entries from an earlier boot are dropped on the way).
    package func update<R>(_ body: (inout [Entry]) throws -> R) throws -> R {
        try file.update { records in
            var entries = records.compactMap(Entry.init(record:))
            let result = try body(&entries)
            records = entries.map(\.record)
            return result
        }
    }

    /// The entries as they are now (nothing changed).
    func read() -> [Entry] { file.read().compactMap(Entry.init(record:)) }

    /// Grows the pool `pool` was read from by `count` free pages for
    /// `owner`, and records what it gained, so that `release` gives back
    /// exactly that. Returns the gain and the pool as it is now.
    package func reserve(owner: String, _ count: Int, from pool: HugepagePool) throws -> (gained: Int, now: HugepagePool) {
        let grown = try HugepagePool.grow(pool, by: count)
        do {
            try add(owner: owner, pool.pageSize, node: pool.node, grown.gained)
        } catch {
            // Unrecorded pages would stay reserved for good.
            try? HugepagePool.shrink(pool.pageSize, node: pool.node, by: grown.gained)
            throw error
        }
        return grown
    }

    /// Records that `owner` added `count` pages of `size` (to `node`'s pool).
    package func add(owner: String, _ size: PageSize, node: Int? = nil, _ count: Int) throws {
        guard count > 0 else { return }
        try update { entries in
            entries.append(Entry(owner: owner, pageSize: size, count: count, node: node))
        }
    }

    /// Removes the entries `release` selects and gives their pages back to
    /// the kernel (a page still mapped goes when it is unmapped). Returns
    /// what was released, per size.
    @discardableResult
    package func release(where select: (Entry) -> Bool) throws -> [PageSize: Int] {
        var failure: (any Error)?
        let released = try update { entries in
            var released: [PageSize: Int] = [:]
            var kept: [Entry] = []
            for e in entries {
                guard select(e), failure == nil else {
                    kept.append(e)
                    continue
                }
                do {
                    try HugepagePool.shrink(e.pageSize, node: e.node, by: e.count)
                    released[e.pageSize, default: 0] += e.count
                } catch {
                    // Still reserved: still recorded, for the next release.
                    failure = error
                    kept.append(e)
                }
            }
            entries = kept
            return released
        }
        if let failure { throw failure }
        return released
    }

    /// Takes over the reservations of runs that died without releasing
    /// them: their pages are still reserved, so the new run uses them and
    /// releases them when it exits. Returns what was adopted, per size.
    package func adoptDeadRuns(as owner: String) throws -> [PageSize: Int] {
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
    package func releaseDeadRuns() throws -> [PageSize: Int] {
        try release { $0.owner != Self.configureOwner && !Self.isAlive($0.owner) }
    }
}
