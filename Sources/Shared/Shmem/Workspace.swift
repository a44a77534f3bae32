#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A mapped range of a workspace. Whoever joined it leaves it.
package struct WorkspaceMapping: @unchecked Sendable {
    package let base: UnsafeMutableRawPointer
    package let length: Int
    package let writable: Bool

    /// munmap; the mapping must not be used afterwards.
    package func leave() { munmap(base, length) }

    package func slots(at offset: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(offset >= 0 && offset % 8 == 0 && offset < length)
        return (base + offset).assumingMemoryBound(to: UInt64.self)
    }
}

/// Workspace lifecycle: `create` (new + map, by the supervisor), `join`
/// (map a range, by anyone), `WorkspaceMapping.leave`, `delete` (unlink).
/// The memory outlives the file name until the last mapping is gone.
package enum Workspace {
    /// Creates the backing file (it must not exist), sizes it, allocates
    /// every page now so a shortage fails here with a clear message and not
    /// later with SIGBUS, and maps it read-write. New pages read as zero.
    /// `configPath` is named in the fix when hugepages run short.
    package static func create(_ spec: WorkspaceSpec, configPath: String) throws -> WorkspaceMapping {
        // O_EXCL|O_NOFOLLOW: never an existing file, never through a link
        // (the directory is checked by the supervisor; this is the last guard).
        let fd = try FileDescriptor.open(spec.path, O_RDWR | O_CREAT | O_EXCL | CSHIM_O_NOFOLLOW, mode: 0o600)
        defer { fd.close() }
        do {
            try Sys.retry("ftruncate(\(spec.path), \(spec.footprint))", ftruncate(fd.rawValue, off_t(spec.footprint)))
            // hugetlbfs and tmpfs take a file's pages where the calling
            // thread's policy says when the file has none of its own: bound
            // to the node for as long as fallocate takes them.
            if let node = spec.node {
                try Sys.check("set_mempolicy(MPOL_BIND, node \(node))", cshim_set_mempolicy_node(Int32(node)))
            }
            defer { if spec.node != nil { _ = cshim_set_mempolicy_node(-1) } }
            try Sys.retry(
                "fallocate(\(spec.path), \(spec.footprint))",
                cshim_fallocate(fd.rawValue, 0, Int64(spec.footprint)))
            return try bound(map(fd, spec, offset: 0, length: spec.footprint, writable: true), spec)
        } catch let e as RuntimeError {
            unlink(spec.path)
            if spec.pageSize != .normal && (e.errno == ENOSPC || e.errno == ENOMEM) {
                throw notEnoughPages(spec, configPath: configPath)
            }
            throw e
        }
    }

    /// The mapping, bound: the workspace's node recorded as its policy (so
    /// any later fault obeys it, and /proc/PID/numa_maps shows `bind:N`),
    /// and every page already there checked to be on that node
    /// (MPOL_MF_STRICT: EIO otherwise). Left as it is for a workspace bound
    /// to no node; unmapped when binding fails.
    static func bound(_ mapping: WorkspaceMapping, _ spec: WorkspaceSpec) throws -> WorkspaceMapping {
        guard let node = spec.node else { return mapping }
        guard cshim_mbind_node(mapping.base, UInt(mapping.length), Int32(node), 1) == 0 else {
            let e = errno
            mapping.leave()
            throw RuntimeError(
                call: "mbind(\(spec.path), MPOL_BIND, node \(node))", errno: e,
                fix: e == EIO ? "its pages are not all on node \(node): it was not created by this topology's run" : nil)
        }
        return mapping
    }

    private static func notEnoughPages(_ spec: WorkspaceSpec, configPath: String) -> RuntimeError {
        RuntimeError(
            "not enough free \(spec.pageSize.label) pages\(spec.node.map { " on node \($0)" } ?? "") for workspace "
                + "\(spec.name) (\(spec.pageCount) needed)",
            errno: ENOMEM, fix: "reserve them with `sudo tilectl configure init --config \(configPath)`")
    }

    /// Maps `[offset, offset + length)` of an existing workspace. A
    /// read-only join opens the file read-only, so the mapping can never be
    /// made writable later (mprotect fails with EACCES). A writer (the
    /// tile that owns it, a link's producer) binds its mapping to the
    /// workspace's node too, which checks the pages are there.
    package static func join(
        _ spec: WorkspaceSpec, offset: Int = 0, length: Int? = nil,
        writable: Bool
    ) throws -> WorkspaceMapping {
        let fd = try FileDescriptor.open(spec.path, (writable ? O_RDWR : O_RDONLY) | CSHIM_O_NOFOLLOW)
        defer { fd.close() }
        let mapping = try map(fd, spec, offset: offset, length: length ?? spec.footprint - offset, writable: writable)
        return writable ? try bound(mapping, spec) : mapping
    }

    /// Unlinks the backing file; a file that is already gone is not an error.
    package static func delete(_ spec: WorkspaceSpec) {
        unlink(spec.path)
    }

    private static func map(
        _ fd: FileDescriptor, _ spec: WorkspaceSpec, offset: Int, length: Int,
        writable: Bool
    ) throws -> WorkspaceMapping {
        precondition(
            offset % spec.pageSize.bytes == 0 && length > 0 && length % spec.pageSize.bytes == 0,
            "mapping of \(spec.name) not page-aligned")
        let prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ
        let p = mmap(nil, length, prot, MAP_SHARED, fd.rawValue, off_t(offset))
        guard let p, p != MAP_FAILED else {
            let e = errno
            throw RuntimeError(call: "mmap(\(spec.path), offset \(offset), \(length) bytes, \(writable ? "rw" : "ro"))", errno: e)
        }
        return WorkspaceMapping(base: p, length: length, writable: writable)
    }

    /// Removes what a run of topology `name` killed before its cleanup left:
    /// its workspace files in the hugetlbfs directories `hugetlbfs`, and its
    /// run directories in /dev/shm (`NormalPages`). Only what this user owns
    /// is touched, and no link is followed. Only called while holding the
    /// topology's lock, so no live run owns them.
    @discardableResult
    package static func removeLeftovers(topologyName name: String, hugetlbfs: [String]) -> [String] {
        let prefix = TopologyLayout.filePrefix(name)
        var removed: [String] = []
        for path in hugetlbfs {
            guard let dir = try? TrustedDirectory.open(path) else { continue }
            defer { dir.close() }
            for file in dir.entries() where file.hasPrefix(prefix) && file.hasSuffix(".wksp") {
                if let st = dir.lstat(file), st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid(), dir.remove(file) {
                    removed.append("\(path)/\(file)")
                }
            }
        }
        guard let shm = try? TrustedDirectory.open(NormalPages.base, sharedLast: true) else { return removed }
        defer { shm.close() }
        for entry in shm.entries() where entry.hasPrefix(prefix) && NormalPages.isAbandoned(entry, in: shm) {
            shm.removeTree(entry)
            removed.append("\(NormalPages.base)/\(entry)")
        }
        return removed
    }
}

/// Workspaces on normal pages live in a directory of the run's own in
/// /dev/shm, `tilectl.<name>.<16 random hex digits>`, mode 0700: /dev/shm is
/// writable by every user, and a name nobody can guess cannot be taken or
/// planted there before the run creates it.
package enum NormalPages {
    package static let base = "/dev/shm"

    /// A run's directory, and /dev/shm as it was checked when the run made
    /// it: removing it later goes through these descriptors, not a path
    /// (the supervisor may by then be in a user namespace of its own, where
    /// root's directories no longer look like root's).
    package struct RunDirectory {
        package let shm: TrustedDirectory
        package let directory: TrustedDirectory
        package let entry: String
        /// An flock on `.lock` inside, for the run's life: what tells a live
        /// run's directory from a killed one's, whichever runtime directory
        /// (and so topology lock) each run used.
        let lock: FileDescriptor
        package var path: String { "\(base)/\(entry)" }

        /// Removes the directory and what it holds, and lets go of both.
        package func remove() {
            shm.removeTree(entry)
            lock.close()
            directory.close()
            shm.close()
        }
    }

    static let lockFile = ".lock"

    /// Whether run directory `entry` belongs to no live run: ours (never
    /// another user's), not a link, and its lock not held (or, without a
    /// lock file, made more than 10 s ago: a run killed as it made it).
    static func isAbandoned(_ entry: String, in shm: TrustedDirectory) -> Bool {
        guard let st = shm.lstat(entry), st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid(),
            let dir = try? shm.subdirectory(entry)
        else { return false }
        defer { dir.close() }
        guard let lock = try? dir.openChecked(lockFile, O_RDONLY) else {
            return Clock.wallclockNanos() / 1_000_000_000 - Int64(st.st_mtim.tv_sec) > 10
        }
        defer { lock.close() }
        return flock(lock.rawValue, LOCK_EX | LOCK_NB) == 0
    }

    /// Creates the run's directory.
    package static func createRunDirectory(topologyName name: String) throws -> RunDirectory {
        let shm: TrustedDirectory
        do { shm = try TrustedDirectory.open(base, sharedLast: true) } catch {
            throw RuntimeError(call: "open(\(base)): \(error)", errno: EACCES)
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<16 {
            let suffix = String(rng.next() as UInt64, radix: 16)
            let entry = TopologyLayout.filePrefix(name) + String(repeating: "0", count: 16 - suffix.count) + suffix
            guard shm.lstat(entry) == nil else { continue }
            do {
                try TrustedDirectory.makeDirectory(in: shm.fd.rawValue, entry, mode: 0o700, shown: "\(base)/\(entry)")
            } catch {
                shm.close()
                throw error
            }
            // Ours only if it is what a trusted open finds now.
            if let dir = try? shm.subdirectory(entry), dir.owner == geteuid() {
                do {
                    let lock = try dir.openChecked(lockFile, O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
                    guard flock(lock.rawValue, LOCK_EX | LOCK_NB) == 0 else { throw RuntimeError(call: "flock(\(lockFile))", errno: errno) }
                    return RunDirectory(shm: shm, directory: dir, entry: entry, lock: lock)
                } catch {
                    dir.close()
                    shm.close()
                    throw error
                }
            }
        }
        shm.close()
        throw RuntimeError(call: "mkdir(\(base)/\(TopologyLayout.filePrefix(name))*)", errno: EEXIST)
    }

    /// Removes a run directory a killed run left (named in its description).
    package static func removeRunDirectory(_ path: String) {
        guard path.hasPrefix(base + "/"), let shm = try? TrustedDirectory.open(base, sharedLast: true) else { return }
        defer { shm.close() }
        let entry = String(path.dropFirst(base.count + 1))
        if isAbandoned(entry, in: shm) { shm.removeTree(entry) }
    }
}
