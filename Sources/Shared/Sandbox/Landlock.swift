#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Landlock, the kernel's unprivileged access control, which a process
/// applies to itself: what a tile, the reaper and the supervisor give up.
/// A ruleset *handles* a set of rights; whatever it handles and no rule
/// allows is denied. Which rights exist depends on the running kernel's
/// ABI version, so every mask here is trimmed to that version: a right an
/// older kernel does not know would make it refuse the whole ruleset.
package enum Landlock {
    /// Filesystem rights (`LANDLOCK_ACCESS_FS_*`).
    package struct FileAccess: OptionSet, Sendable {
        package let rawValue: UInt64
        package init(rawValue: UInt64) { self.rawValue = rawValue }

        package static let writeFile = FileAccess(rawValue: 1 << 1)
        package static let readFile = FileAccess(rawValue: 1 << 2)
        package static let readDir = FileAccess(rawValue: 1 << 3)
        package static let removeDir = FileAccess(rawValue: 1 << 4)
        package static let removeFile = FileAccess(rawValue: 1 << 5)
        package static let makeReg = FileAccess(rawValue: 1 << 8)
        package static let truncate = FileAccess(rawValue: 1 << 14)

        /// Every filesystem right ABI `abi` knows: ABI 1 has EXECUTE to
        /// MAKE_SYM (bits 0–12), 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV.
        package static func known(abi: Int32) -> FileAccess {
            var bits: UInt64 = (1 << 13) - 1
            if abi >= 2 { bits |= 1 << 13 }
            if abi >= 3 { bits |= 1 << 14 }
            if abi >= 5 { bits |= 1 << 15 }
            return FileAccess(rawValue: bits)
        }
    }

    /// The running kernel's ABI version, or -1 with errno: ENOSYS when
    /// Landlock is not built in, EOPNOTSUPP when it is disabled.
    package static func abiVersion() -> Int32 {
        cshim_landlock_create_ruleset(nil, 0, createRulesetVersion)
    }

    /// Enters a domain that denies everything the kernel can deny: every
    /// filesystem access, TCP bind and connect (ABI 4+), signals to and
    /// abstract UNIX sockets of processes outside it (ABI 6+). For a tile,
    /// which opens nothing and talks only through what it already holds.
    /// Returns the ABI enforced, or -1 with errno.
    package static func restrictAll() -> Int32 {
        let (fd, abi) = ruleset(scoped: true)
        guard fd >= 0 else { return -1 }
        return enforce(fd) < 0 ? -1 : abi
    }

    /// A ruleset handling every filesystem right and TCP bind and connect
    /// (ABI 4+) the kernel knows, with no scope (a supervisor must still
    /// signal its reaper): rules then allow what cleanup needs. Returns its
    /// descriptor, or -1 with errno.
    package static func filesystemRuleset() -> Int32 { ruleset(scoped: false).fd }

    /// Allows `access` beneath the directory (or file) `fd`.
    package static func allow(_ access: FileAccess, beneath fd: Int32, in ruleset: Int32) -> Int32 {
        let abi = abiVersion()
        guard abi >= 0 else { return -1 }
        return cshim_landlock_add_path_rule(ruleset, fd, access.intersection(.known(abi: abi)).rawValue)
    }

    /// Enforces `ruleset` on this process (irreversibly) and closes it.
    package static func enforce(_ ruleset: Int32) -> Int32 {
        let rc = cshim_landlock_restrict_self(ruleset, 0)
        let saved = errno
        close(ruleset)
        errno = saved
        return rc
    }

    /// `landlock_create_ruleset`'s flag asking for the ABI version.
    static let createRulesetVersion: UInt32 = 1 << 0
    /// `handled_access_net`: BIND_TCP, CONNECT_TCP (ABI 4).
    static let netBindAndConnect: UInt64 = 0b11
    /// `scoped`: ABSTRACT_UNIX_SOCKET, SIGNAL (ABI 6).
    static let scopeSocketsAndSignals: UInt64 = 0b11

    /// The ruleset attribute as of ABI 6 (handled fs, handled net,
    /// scoped); an older kernel gets the prefix it knows, which the size
    /// argument says.
    private static func ruleset(scoped: Bool) -> (fd: Int32, abi: Int32) {
        let abi = abiVersion()
        guard abi >= 0 else { return (-1, abi) }
        var attr: [UInt64] = [FileAccess.known(abi: abi).rawValue, 0, 0]
        var fields = 1
        if abi >= 4 { attr[1] = netBindAndConnect; fields = 2 }
        if scoped && abi >= 6 { attr[2] = scopeSocketsAndSignals; fields = 3 }
        let fd = attr.withUnsafeBytes { cshim_landlock_create_ruleset($0.baseAddress, fields * 8, 0) }
        return (fd, abi)
    }
}
