#if canImport(Glibc)
import Glibc
#endif
import CShim

/// How a tile started as root becomes its own user without ever being
/// dumpable, so no process (not even one sharing its uid) can ptrace it at
/// any point of its boot.
///
/// A process that writes its own user namespace's uid_map must be dumpable
/// (a non-dumpable process's /proc files belong to root), and a process
/// that switches uid is made non-dumpable by the kernel: the usual recipe
/// switches uid, sets dumpable back to 1, writes the maps and clears it
/// again, leaving a window in which anything running as that uid can
/// attach. Here the tile never asks to be dumpable. A helper forked while
/// the tile is still root stays root in the host and writes the maps for
/// it:
///
///     tile (root)                            helper (root, host namespaces)
///     setgroups(0); fork ─────────────────▶  waits
///     unshare(CLONE_NEWUSER)     ── map ──▶  uid_map/gid_map "1 <uid> 1" of the tile's namespace
///     setresgid(1), setresuid(1)             (the host sees <uid>; the kernel clears dumpable)
///     unshare(mount, net, …); limits
///     unshare(CLONE_NEWUSER)     ── map ──▶  setns(the tile's first namespace), then "1 1 1"
///     waitpid(helper)                        exits
///
/// The first namespace belongs to root (it was created by root), so a
/// process of the tile's uid has no capability in it either.
enum Identity {
    /// What the tile asks of the helper, one byte each.
    enum Request: UInt8 { case mapOuter = 1, mapNested = 2 }

    /// Set by `become`, used by `enterNestedNamespace`; a tile boots once.
    nonisolated(unsafe) static var helper: Helper?

    struct Helper {
        let pid: pid_t
        let requests: FileDescriptor
        let replies: FileDescriptor

        /// Asks for `request` and waits for it to be done.
        func perform(_ request: Request, step: String) throws {
            var byte = request.rawValue
            guard Glibc.write(requests.rawValue, &byte, 1) == 1 else {
                throw RuntimeError(sandboxStep: step, "the identity helper is gone (\(Errno.describe(errno)))", errno: errno)
            }
            var reply = (UInt32(0), Int32(0))
            let n = withUnsafeMutableBytes(of: &reply) { Glibc.read(replies.rawValue, $0.baseAddress, $0.count) }
            guard n == MemoryLayout.size(ofValue: reply) else {
                throw RuntimeError(sandboxStep: step, "the identity helper exited without an answer")
            }
            guard reply.0 == 0 else {
                let what = HelperStep(rawValue: reply.0)?.description ?? "step \(reply.0)"
                throw RuntimeError(sandboxStep: step, "the identity helper could not \(what): \(Errno.describe(reply.1))", errno: reply.1)
            }
        }

        func finish(step: String) throws {
            requests.close()
            replies.close()
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else {
                    throw RuntimeError(sandboxStep: step, "waitpid(identity helper): \(Errno.describe(errno))", errno: errno)
                }
            }
            guard status == 0 else { throw RuntimeError(sandboxStep: step, "the identity helper ended with status \(status)") }
        }
    }

    /// Steps of the helper, for its error replies.
    enum HelperStep: UInt32, CustomStringConvertible {
        case setgroups = 1, uidMap, gidMap, openNamespace, setns, nestedSetgroups, nestedUidMap, nestedGidMap
        var description: String {
            switch self {
            case .setgroups: "write setgroups"
            case .uidMap: "write uid_map"
            case .gidMap: "write gid_map"
            case .openNamespace: "open the tile's user namespace"
            case .setns: "setns(CLONE_NEWUSER)"
            case .nestedSetgroups: "write the nested setgroups"
            case .nestedUidMap: "write the nested uid_map"
            case .nestedGidMap: "write the nested gid_map"
            }
        }
    }

    /// Steps 4 (as root): drops supplementary groups, enters a user
    /// namespace whose maps the helper writes, and switches to uid and gid
    /// 1 inside it, which are `user` on the host.
    static func become(_ user: TileUser) throws {
        try Sandbox.step("4 setgroups(0)", setgroups(0, nil))
        // Opened now, while it names this process as root sees it: the
        // helper reaches the tile's /proc files through it.
        let proc = try Sandbox.openOrThrow("4 open(/proc/self)", "/proc/self", O_RDONLY | O_DIRECTORY)
        let (reqR, reqW) = try pipe(step: "4 pipe")
        let (repR, repW) = try pipe(step: "4 pipe")
        let pid = fork()
        if pid == 0 {
            reqW.close()
            repR.close()
            serve(proc: proc, requests: reqR, replies: repW, user: user)
        }
        proc.close()
        reqR.close()
        repW.close()
        guard pid > 0 else { throw RuntimeError(sandboxStep: "4 fork(identity helper)", errno: errno) }
        let helper = Helper(pid: pid, requests: reqW, replies: repR)
        self.helper = helper

        try Sandbox.step("4 unshare(CLONE_NEWUSER)", cshim_unshare(CSHIM_CLONE_NEWUSER))
        try helper.perform(.mapOuter, step: "4 user namespace maps")
        try Sandbox.step("4 setresgid(1) (host gid \(user.gid))", cshim_setresgid(1))
        try Sandbox.step("4 setresuid(1) (host uid \(user.uid))", cshim_setresuid(1))
        // The kernel cleared dumpable with the uid change (set it to
        // fs.suid_dumpable, 0 unless a host chose "debug"): make sure.
        try Sandbox.step("4 prctl(PR_SET_DUMPABLE, 0)", cshim_prctl_set_dumpable(0))
    }

    /// Step 5: the nested user namespace, mapped by the helper from inside
    /// the first one; then the helper is reaped.
    static func enterNestedNamespace() throws {
        guard let helper else { throw RuntimeError(sandboxStep: "5 nested user namespace", "no identity helper (a bug)") }
        try Sandbox.step("5 unshare(CLONE_NEWUSER) (nested)", cshim_unshare(CSHIM_CLONE_NEWUSER))
        try helper.perform(.mapNested, step: "5 nested user namespace maps")
        try helper.finish(step: "5 identity helper")
        self.helper = nil
    }

    static func pipe(step: String) throws -> (FileDescriptor, FileDescriptor) {
        do { return try FileDescriptor.pipe() } catch { throw RuntimeError(sandboxStep: step, error) }
    }

    /// The helper's whole life, in the forked child: answers the two
    /// requests, then exits. It holds nothing but its three descriptors.
    static func serve(proc: FileDescriptor, requests: FileDescriptor, replies: FileDescriptor, user: TileUser) -> Never {
        _ = cshim_prctl_set_pdeathsig(SIGKILL)
        closeAllDescriptors(except: [2, proc.rawValue, requests.rawValue, replies.rawValue])
        func reply(_ step: HelperStep?, _ err: Int32 = 0) {
            var r = (step?.rawValue ?? 0, err)
            _ = withUnsafeBytes(of: &r) { Glibc.write(replies.rawValue, $0.baseAddress, $0.count) }
            if step != nil { _exit(1) }
        }
        func put(_ file: String, _ text: String, _ step: HelperStep) {
            let fd = openat(proc.rawValue, file, O_WRONLY | CSHIM_O_CLOEXEC)
            guard fd >= 0 else { return reply(step, errno) }
            let ok = text.withCString { Glibc.write(fd, $0, strlen($0)) } == text.utf8.count
            let e = errno
            Glibc.close(fd)
            if !ok { reply(step, e) }
        }
        func next() -> Request? {
            var byte: UInt8 = 0
            return Glibc.read(requests.rawValue, &byte, 1) == 1 ? Request(rawValue: byte) : nil
        }

        guard next() == .mapOuter else { _exit(1) }
        put("setgroups", "deny", .setgroups)
        put("uid_map", "1 \(user.uid) 1\n", .uidMap)
        put("gid_map", "1 \(user.gid) 1\n", .gidMap)
        // The tile's first namespace, for the nested maps: they must be
        // written from inside it (the writer's namespace must be the
        // target's or its parent).
        let outer = openat(proc.rawValue, "ns/user", O_RDONLY | CSHIM_O_CLOEXEC)
        if outer < 0 { reply(.openNamespace, errno) }
        reply(nil)

        guard next() == .mapNested else { _exit(1) }
        // Joining a namespace root created gives root every capability in
        // it; the helper's uid stays 0, which owns the tile's /proc files.
        if cshim_setns(outer, CSHIM_CLONE_NEWUSER) != 0 { reply(.setns, errno) }
        put("setgroups", "deny", .nestedSetgroups)
        put("uid_map", "1 1 1\n", .nestedUidMap)
        put("gid_map", "1 1 1\n", .nestedGidMap)
        reply(nil)
        _exit(0)
    }

}

extension Sandbox {
    static func openOrThrow(_ step: String, _ path: String, _ flags: Int32) throws -> FileDescriptor {
        let fd = Glibc.open(path, flags | CSHIM_O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError(sandboxStep: step, "open(\(path)): \(Errno.describe(errno))", errno: errno) }
        return FileDescriptor(rawValue: fd)
    }
}
