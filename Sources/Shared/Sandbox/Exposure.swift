/// An exposure score for a sandboxed process, computed the way
/// `systemd-analyze security` scores a unit: a list of checks, each with a
/// weight and an exposure between 0 (fully confined in that respect) and 1
/// (not at all); the score is `10 × Σ(weight × exposure) / Σ weight`, from
/// 0.0 (nothing exposed) to 10.0 (nothing confined).
///
/// The weights follow systemd's for the settings that do the same thing
/// (its `security.c`: PrivateNetwork 2500, User/DynamicUser 2000,
/// CapabilityBoundingSet and NoNewPrivileges 1000 each, SystemCallFilter,
/// the Protect* and Private* file system settings 1000 each,
/// RestrictNamespaces 500, …); the checks systemd has no setting for
/// (Landlock, argument filters, rlimits) carry the weight of the systemd
/// setting nearest in effect. The table is in `checks(…)` below and in the
/// README's sandbox section.
package struct ExposureReport: Sendable {
    package struct Check: Sendable {
        package let name: String
        package let weight: Int
        /// 0...1.
        package let exposure: Double
        package let detail: String
    }

    package let checks: [Check]

    package var score: Double {
        let total = checks.reduce(0) { $0 + $1.weight }
        let exposed = checks.reduce(0.0) { $0 + Double($1.weight) * $1.exposure }
        return total == 0 ? 10 : (10 * exposed / Double(total) * 10).rounded() / 10
    }

    /// systemd-analyze's words for a score.
    package var level: String {
        switch score {
        case ...0.1: "PERFECT"
        case ...1.0: "SAFE"
        case ...5.0: "OK"
        case ...7.5: "MEDIUM"
        case ...9.0: "EXPOSED"
        default: "UNSAFE"
        }
    }

    /// The checks that cost points.
    package var costs: [Check] { checks.filter { $0.exposure > 0 } }
}

/// Who a confined process runs as, for the identity check.
package enum ExposedIdentity: Sendable {
    /// A uid and gid no other process has (the tiles' default).
    case own
    /// An existing user other processes may share (`user = "nobody"`).
    case shared(String)
    /// The user who started tilectl without root.
    case invokingUser
    /// Root's uid without capabilities (the supervisor, the reaper).
    case rootWithoutCapabilities
}

package enum Exposure {
    /// Calls that reach outside the process's own memory and descriptors:
    /// any one allowed costs exposure on the syscall-filter check.
    package static let dangerous: Set<String> = [
        "open", "openat", "openat2", "creat", "execve", "execveat", "fork", "vfork", "clone", "clone3", "socket",
        "socketpair", "connect", "bind", "listen", "ptrace", "process_vm_readv", "process_vm_writev", "kill", "tkill",
        "tgkill", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "mount", "umount2", "pivot_root", "chroot", "unshare",
        "setns", "setuid", "setgid", "setresuid", "setresgid", "setgroups", "capset", "prctl", "seccomp", "bpf",
        "perf_event_open", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
        "swapon", "swapoff", "keyctl", "add_key", "request_key", "io_uring_setup", "userfaultfd", "personality",
        "ioctl", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat", "rename", "renameat", "renameat2",
        "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat",
        "truncate", "ftruncate", "memfd_create", "shmget", "shmat", "msgget", "semget", "mq_open", "sched_setattr",
        "sched_setscheduler", "setpriority", "mbind", "migrate_pages", "move_pages", "set_mempolicy", "mlock", "mlockall",
    ]

    /// The checks for one confined process.
    /// - Parameter filesystemLimited: without an empty root, a Landlock
    ///   domain still limits the process to the directories it lists.
    package static func report(
        identity: ExposedIdentity, namespaces: [String], emptyRoot: Bool, filesystemLimited: Bool = false,
        policy: SeccompPolicy,
        argumentFilters: Bool, badArchitectureKills: Bool, landlockABI: Int32?, memoryLimited: Bool,
        noExec: Bool, capabilitiesDropped: Bool, noNewPrivileges: Bool, notDumpable: Bool,
        ownKeyring: Bool, noTerminal: Bool, environmentCleared: Bool, exactDescriptors: Bool,
        noRealtime: Bool
    ) -> ExposureReport {
        typealias C = ExposureReport.Check
        func c(_ name: String, _ weight: Int, _ exposed: Double, _ detail: String) -> C {
            C(name: name, weight: weight, exposure: exposed, detail: detail)
        }
        let own = Set(namespaces)
        let syscalls = Set(policy.syscalls)
        let risky = syscalls.intersection(dangerous).sorted()
        // The filesystem checks: an empty root answers them all; a Landlock
        // domain listing a few directories, most of them.
        let fs: (Double, String, String) =
            emptyRoot
            ? (0, "an empty read-only root", "unreachable")
            : filesystemLimited && landlockABI != nil
                ? (0.2, "Landlock: only the directories it cleans up", "unreachable (Landlock)")
                : (1, "the host's root", "reachable")
        let identityExposure: (Double, String) =
            switch identity {
            case .own: (0, "a uid and gid of its own, reserved for the run")
            case .shared(let name): (0.6, "\(name), which other processes on the host may share")
            case .invokingUser: (0.8, "the invoking user (no root to switch users)")
            case .rootWithoutCapabilities: (0.7, "uid 0 without any capability")
            }
        return ExposureReport(checks: [
            c("User", 2000, identityExposure.0, identityExposure.1),
            c("SupplementaryGroups", 200, 0, "none"),
            c("CapabilityBoundingSet", 1500, capabilitiesDropped ? 0 : 1, capabilitiesDropped ? "empty" : "kept"),
            c("AmbientCapabilities", 500, capabilitiesDropped ? 0 : 1, capabilitiesDropped ? "empty, securebits locked" : "kept"),
            c("NoNewPrivileges", 1000, noNewPrivileges ? 0 : 1, noNewPrivileges ? "set" : "not set"),
            c(
                "PrivateNetwork", 2500, own.contains("network") ? 0 : 1,
                own.contains("network") ? "own network namespace" : "the host's network namespace"),
            c("PrivateUsers", 1000, own.contains("user") ? 0 : 1, own.contains("user") ? "own user namespace" : "the host's"),
            c("PrivateMounts", 1000, own.contains("mount") ? 0 : 1, own.contains("mount") ? "own mount namespace" : "the host's"),
            c("ProtectSystem", 1000, fs.0, fs.1),
            c("ProtectHome", 1000, fs.0, fs.2),
            c("PrivateTmp", 1000, fs.0, fs.2),
            c("PrivateDevices", 1000, fs.0, emptyRoot ? "no device node" : fs.2),
            c("PrivateIPC", 100, own.contains("ipc") ? 0 : 1, own.contains("ipc") ? "own IPC namespace" : "the host's"),
            c("ProtectHostname", 50, own.contains("uts") ? 0 : 1, own.contains("uts") ? "own UTS namespace" : "the host's"),
            c("ProtectControlGroups", 1000, own.contains("cgroup") ? 0 : 1, own.contains("cgroup") ? "own cgroup namespace" : "the host's"),
            c(
                "RestrictNamespaces", 500, syscalls.contains("unshare") || syscalls.contains("setns") ? 1 : 0,
                "no unshare or setns in the filter; namespace limits 0"),
            c(
                "SystemCallFilter", 1500, min(1, Double(risky.count) * 0.2),
                risky.isEmpty
                    ? "\(syscalls.count) calls allowed, none reaching outside the process" : "allows \(risky.joined(separator: ", "))"),
            c("SystemCallArchitectures", 1000, badArchitectureKills ? 0 : 1, badArchitectureKills ? "native only (others kill)" : "any"),
            c(
                "SystemCallArguments", 500, argumentFilters ? 0 : 0.5,
                argumentFilters ? "descriptors, flags and modes filtered on their low 32 bits" : "not filtered"),
            c(
                "RestrictAddressFamilies", 1000, syscalls.contains("socket") || syscalls.contains("socketpair") ? 1 : 0,
                syscalls.contains("socket") ? "socket allowed" : "no socket can be created"),
            c(
                "Landlock", 500, landlockABI == nil ? 1 : 0,
                landlockABI.map { "ABI \($0): its domain denies every filesystem access it does not list" }
                    ?? "not available on this kernel"),
            c("MemoryLimit", 500, memoryLimited ? 0 : 1, memoryLimited ? "RLIMIT_AS and RLIMIT_DATA finite" : "unlimited"),
            c("MemoryDenyWriteExecute", 100, noExec ? 0 : 1, noExec ? "no PROT_EXEC in mmap or mprotect" : "executable memory possible"),
            c(
                "ProtectProc", 1000, notDumpable && !syscalls.contains("ptrace") ? 0 : 1,
                notDumpable
                    ? "not dumpable, no ptrace"
                    : identity == .invokingUser ? "the invoking user owns its user namespace and can ptrace it" : "dumpable"),
            c("KeyringMode", 1000, ownKeyring ? 0 : 1, ownKeyring ? "a fresh session keyring" : "inherited"),
            c("NoControllingTerminal", 100, noTerminal ? 0 : 1, noTerminal ? "own session" : "the operator's terminal"),
            c("Environment", 100, environmentCleared ? 0 : 1, environmentCleared ? "empty, the exec-time block zeroed" : "inherited"),
            c("Descriptors", 200, exactDescriptors ? 0 : 1, exactDescriptors ? "exactly the declared ones" : "not checked"),
            c("RestrictRealtime", 500, noRealtime ? 0 : 1, noRealtime ? "RLIMIT_RTPRIO and RLIMIT_RTTIME 0" : "allowed"),
        ])
    }

    /// A tile of `profile`'s kind, as its sandbox makes it.
    package static func tile(_ profile: SandboxProfile, identity: ExposedIdentity, landlockABI: Int32?) -> ExposureReport {
        let noExec = profile.policy.rules.filter { $0.syscall == "mmap" || $0.syscall == "mprotect" }.allSatisfy { rule in
            rule.conditions.contains { if case .maskedEqual(let m) = $0.comparison, $0.index == 2, m & 4 != 0 { true } else { false } }
        }
        // Without root the invoking user owns the tiles' user namespace:
        // it can ptrace them, dumpable or not.
        return report(
            identity: identity, namespaces: SandboxProfile.unsharedNamespaces, emptyRoot: true, policy: profile.policy,
            argumentFilters: true, badArchitectureKills: true, landlockABI: landlockABI, memoryLimited: true,
            noExec: noExec, capabilitiesDropped: true, noNewPrivileges: true, notDumpable: identity != .invokingUser,
            ownKeyring: true,
            noTerminal: true, environmentCleared: true, exactDescriptors: true, noRealtime: true)
    }
}

extension ExposedIdentity: Equatable {}
