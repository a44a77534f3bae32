#if canImport(Glibc)
import Glibc
#endif

/// A small text file of records, one per line, that tilectl keeps in a
/// trusted directory (root's, or the caller's alone) and changes only under
/// an exclusive lock: read, changed, and written back whole by rename, so a
/// reader never sees half a file and two writers never lose each other's
/// change. Each record carries this boot's id: what a record counted (pages
/// reserved, a kernel setting changed) did not survive a reboot, so records
/// from an earlier boot are dropped unread.
package struct RecordFile: Sendable {
    package let directory: String
    package let name: String

    package init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    package var path: String { directory + "/" + name }

    /// This boot's id, read once.
    package static let bootId: String =
        (try? Files.read("/proc/sys/kernel/random/boot_id").trimmingWhitespace) ?? "unknown"

    /// Runs `body` on the records (their fields, without the boot id) under
    /// the lock, and writes back what it leaves; no record left removes the
    /// file. The directory is created (0755) when missing.
    package func update<R>(_ body: (inout [[String]]) throws -> R) throws -> R {
        let dir = try TrustedDirectory.open(directory, create: 0o755)
        defer { dir.close() }
        let lock = try dir.openChecked(name + ".lock", O_RDWR | O_CREAT, mode: 0o600)
        defer { lock.close() }
        try Sys.retry("flock(\(path).lock)", flock(lock.rawValue, LOCK_EX))
        var records = read(dir)
        let result = try body(&records)
        if records.isEmpty {
            dir.remove(name)
            return result
        }
        let text = records.map { ($0 + [Self.bootId]).joined(separator: " ") + "\n" }.joined()
        let tmp = name + ".tmp"
        dir.remove(tmp)
        let fd = try dir.openChecked(tmp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        do {
            try fd.writeAll(text)
            fd.close()
            try Sys.check("rename(\(directory)/\(tmp))", renameat(dir.fd.rawValue, tmp, dir.fd.rawValue, name))
        } catch {
            fd.close()
            dir.remove(tmp)
            throw error
        }
        return result
    }

    /// The records of this boot as they are now (nothing changed).
    package func read() -> [[String]] {
        guard let dir = try? TrustedDirectory.open(directory) else { return [] }
        defer { dir.close() }
        return read(dir)
    }

    /// Removes the lock file once nothing is recorded (for a directory
    /// that is about to be removed).
    package func removeLockIfUnused() {
        guard let dir = try? TrustedDirectory.open(directory) else { return }
        defer { dir.close() }
        if dir.lstat(name) == nil { dir.remove(name + ".lock") }
    }

    private func read(_ dir: TrustedDirectory) -> [[String]] {
        guard let fd = try? dir.openChecked(name, O_RDONLY) else { return [] }
        defer { fd.close() }
        guard let bytes = try? fd.readToEnd(limit: 1 << 20, what: path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 2, fields.last == Self.bootId else { return nil }
            return Array(fields.dropLast())
        }
    }
}
