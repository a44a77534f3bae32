#if canImport(Glibc)
import Glibc
#endif

/// Runs one tile in this process, in the order the design requires:
/// privileged init, sandbox entry, unprivileged init, the stem. A failure
/// before the stem logs the exact step and exits 1; the supervisor reports
/// the tile and its exit code.
@usableFromInline package enum TileRunner {
    /// Inlinable so that the kind's registration (`TileKind(SomeTile.self)`,
    /// in the module that names the type) compiles the stem's loop
    /// specialised for it: the callbacks are direct calls, not witness-table
    /// calls through a generic loop.
    @inlinable
    package static func run<T: Tile>(_ type: T.Type, _ ctx: TileContext) -> Never {
        let (common, pid) = boot(ctx)
        var tile: T
        do {
            tile = try T(privileged: ctx)
        } catch {
            fatal("privileged init failed: \(error)")
        }
        // The tick clock is calibrated while /proc says whether the
        // counter is invariant.
        let clock = TickClock.calibrate()
        let memoryLimit = confine(ctx, kind: T.kind, descriptors: tile.descriptors)
        do {
            try tile.unprivilegedInit(ctx)
        } catch {
            fatal("unprivileged init failed: \(error)")
        }
        common.status.set(TileStatus.running.rawValue)
        tile.writeMetrics()
        common.refresh()
        announceRunning(pid: pid, memoryLimit: memoryLimit)
        Stem.run(&tile, ctx, common, clock)
    }

    // The steps that do not depend on the kind's type: compiled once, here,
    // rather than in every module that registers a kind.

    /// Pins the tile to its CPUs and marks it booting.
    @usableFromInline
    static func boot(_ ctx: TileContext) -> (CommonCells, Int32) {
        // On its CPUs before anything else: boot and the sandbox run there too.
        if !ctx.tile.cpus.isEmpty {
            do { try Affinity.pin(to: ctx.tile.cpus) } catch { fatal("cannot pin to CPUs \(Affinity.format(ctx.tile.cpus)): \(error)") }
        }
        let common = CommonCells(ctx.metrics)
        // Read while /proc is still there: the sandbox takes it away.
        let pid = hostPid()
        common.status.set(TileStatus.booting.rawValue)
        common.pid.set(UInt64(pid))
        common.refresh()
        return (common, pid)
    }

    @usableFromInline
    static func announceRunning(pid: Int32, memoryLimit: UInt64?) {
        Log.info("running (pid \(pid))" + (memoryLimit.map { "; address space limit \(formatBytes(Int($0)))" } ?? ""))
    }

    /// Enters the kind's sandbox keeping exactly `descriptors` plus stderr
    /// and the death pipe; returns the address-space limit it set.
    @usableFromInline
    static func confine(
        _ ctx: TileContext, kind: String, descriptors: [DescriptorRole: FileDescriptor]
    ) -> UInt64? {
        var keep: [DescriptorRole: FileDescriptor] = [.stderr: .standardError, .deathPipe: ctx.deathPipe]
        keep.merge(descriptors) { a, _ in a }
        guard ctx.sandboxed else {
            Log.warning("NOT SANDBOXED (--no-sandbox): this tile keeps every privilege of the supervisor")
            return nil
        }
        do {
            if getuid() == 0 && ctx.identity == nil { throw RuntimeError("started as root without an identity to become") }
            let report = try Sandbox.enter(
                SandboxProfile(kind: ctx.kinds[kind]!, topology: ctx.topology), keep: keep, identity: ctx.identity)
            return report.addressSpaceLimit
        } catch {
            fatal("\(error)")
        }
    }

    /// Logs why the tile cannot go on and exits 1.
    @usableFromInline package static func fatal(_ message: String) -> Never {
        Log.error(message)
        exit(1)
    }

    /// The pid as the host sees it (getpid() answers inside the PID
    /// namespace), read from the /proc the tile still sees before its sandbox.
    static func hostPid() -> Int32 {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { readlink("/proc/self", $0.baseAddress!, $0.count - 1) }
        if n > 0, let pid = Int32(String(decoding: buf[0..<n], as: UTF8.self)) { return pid }
        return getpid()
    }
}
