#if canImport(Glibc)
import Glibc
#endif
import Shared

/// The uids and gids a run's tiles run as. With `user = "dynamic"` (the
/// default) every tile gets a uid and gid of its own, reserved for the
/// life of the run from `range`, in the spirit of systemd's `DynamicUser=`:
/// no other process on the host has it, so nothing else can signal,
/// ptrace or share files with a tile, and tiles cannot signal each other.
///
/// A uid is taken only when it is free everywhere tilectl can see: no
/// passwd or group entry (NSS, so LDAP and the like too), no running
/// process with it as a uid or gid, and no other run holding it. Runs hold
/// theirs with an flock on `<runtime>/uid/<uid>` for as long as they live;
/// the kernel drops it however the run ends, so a killed run's uids are
/// free again at once.
struct TileIdentities {
    /// 2047934464–2047999999 (0x7A110000–0x7A11FFFF): in the range systemd
    /// documents as unused by it and by container managers (above its
    /// container ranges, below its foreign range), and far from both the
    /// regular users and systemd's dynamic users (61184–65519).
    static let range: ClosedRange<UInt32> = 0x7A11_0000...0x7A11_FFFF

    let users: [TileUser]
    private let locks: [FileDescriptor]
    /// `<runtime>/uid/`, held for `release`.
    let directory: TrustedDirectory?

    /// Reserves one identity per tile of `topology` (or none, when the
    /// topology names a user: every tile is that user).
    static func reserve(_ topology: Topology) throws -> TileIdentities {
        switch topology.user {
        case .named(let user):
            return TileIdentities(users: Array(repeating: user, count: topology.tiles.count), locks: [], directory: nil)
        case .dynamic:
            break
        }
        let root = try RuntimeRoot.open(create: true)
        defer { root.close() }
        let dir: TrustedDirectory
        do { dir = try root.subdirectory("uid", create: 0o700) } catch let e as RuntimeError where e.path != nil {
            throw e.within("the tile uid locks")
        }
        let busy = ProcessIdentities.scan()
        let delegated = SubordinateIds.read()
        var users: [TileUser] = []
        var locks: [FileDescriptor] = []
        var candidate = start(for: topology.name)
        var tried = 0
        while users.count < topology.tiles.count {
            guard tried < range.count else {
                locks.forEach { $0.close() }
                dir.close()
                throw RuntimeError(
                    "no free uid left in \(range.lowerBound)–\(range.upperBound) for the tiles; "
                        + "stop another topology, or name a user with `user = \"...\"`")
            }
            tried += 1
            let uid = candidate
            candidate = candidate == range.upperBound ? range.lowerBound : candidate + 1
            guard !busy.contains(uid), !delegated.contains(uid), getpwuid(uid) == nil, getgrgid(uid) == nil else { continue }
            guard let lock = try? dir.openChecked(String(uid), O_RDWR | O_CREAT, mode: 0o600) else { continue }
            // Locked, and still the file at that name: a run letting the
            // uid go unlinks the file before it closes it, so a lock taken
            // on the unlinked file holds nothing.
            var held = stat()
            guard flock(lock.rawValue, LOCK_EX | LOCK_NB) == 0, fstat(lock.rawValue, &held) == 0,
                let named = dir.lstat(String(uid)), named.st_ino == held.st_ino, named.st_dev == held.st_dev
            else {
                lock.close()
                continue
            }
            let tile = topology.tiles[users.count]
            users.append(TileUser(name: "\(topology.name)/\(tile.name)", uid: uid, gid: uid))
            locks.append(lock)
        }
        return TileIdentities(users: users, locks: locks, directory: dir)
    }

    /// The uids `reserve` would try first, for `check` (nothing is taken).
    static func preview(_ topology: Topology) -> [UInt32] {
        let busy = ProcessIdentities.scan()
        let delegated = SubordinateIds.read()
        var out: [UInt32] = []
        var candidate = start(for: topology.name)
        while out.count < topology.tiles.count && out.count < range.count {
            if !busy.contains(candidate) && !delegated.contains(candidate) && getpwuid(candidate) == nil && getgrgid(candidate) == nil {
                out.append(candidate)
            }
            candidate = candidate == range.upperBound ? range.lowerBound : candidate + 1
        }
        return out
    }

    /// Where the search starts: a hash of the topology's name, so a
    /// topology tends to get the same uids run after run (as a log or an
    /// audit trail would want).
    static func start(for name: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return range.lowerBound + h % UInt32(range.count)
    }

    /// Lets the uids go, removing their lock files (the kernel drops the
    /// locks the same if the run is killed; the files then stay, harmless).
    /// Called once every tile is gone.
    func release() {
        for user in users where locks.count == users.count { directory?.remove(String(user.uid)) }
        locks.forEach { $0.close() }
        directory?.close()
    }

    /// The lock descriptors, which the reaper must not inherit.
    var descriptors: [FileDescriptor] { locks }
}

/// Every uid and gid some running process has, from /proc.
enum ProcessIdentities {
    static func scan() -> Set<UInt32> {
        var ids = Set<UInt32>()
        guard let proc = opendir("/proc") else { return ids }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.first?.isNumber == true, let status = try? Files.read("/proc/\(name)/status") else { continue }
            for line in status.split(separator: "\n") where line.hasPrefix("Uid:") || line.hasPrefix("Gid:") {
                for field in line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst() {
                    if let id = UInt32(field) { ids.insert(id) }
                }
            }
        }
        return ids
    }
}

/// uids and gids delegated to users for their own user namespaces
/// (/etc/subuid, /etc/subgid: `user:first:count`): a user may run processes
/// as any of them, so none is a tile's.
enum SubordinateIds {
    struct Ranges {
        var ranges: [ClosedRange<UInt64>] = []
        func contains(_ id: UInt32) -> Bool { ranges.contains { $0.contains(UInt64(id)) } }
    }

    static func read() -> Ranges {
        var r = Ranges()
        for file in ["/etc/subuid", "/etc/subgid"] {
            guard let text = try? Files.read(file) else { continue }
            for line in text.split(separator: "\n") {
                let f = line.split(separator: ":")
                guard f.count == 3, let first = UInt64(f[1]), let count = UInt64(f[2]), count > 0 else { continue }
                r.ranges.append(first...(first + count - 1))
            }
        }
        return r
    }
}
