#if canImport(Glibc)
import Glibc
#endif
import Shared

/// `hugetlbfs`: the mounts the workspaces live on and the huge pages they
/// need, in the pools they need them from (a NUMA node's own pool for the
/// workspaces bound to it).
struct HugepageStage: ConfigureStage {
    static let name = "hugetlbfs"
    static let summary = "mount hugetlbfs, reserve the huge pages (per NUMA node for pinned tiles)"

    let topology: Topology
    let kinds: TileKinds
    let configPath: String

    /// The topology's layout under the page-size policy it asks for
    /// (`auto` counts as `huge`); nil for normal pages.
    var layout: TopologyLayout? {
        let backing: Backing
        switch topology.shmem.pageSize {
        case .normal: return nil
        case .auto, .huge: backing = .huge
        case .gigantic: backing = .gigantic
        }
        return TopologyLayout(topology: topology, kinds: kinds, backing: backing)
    }

    var base: String { topology.shmem.hugetlbfsMount }
    var sizes: [PageSize] { Set(layout?.pageNeeds.map(\.pageSize) ?? []).sorted { $0.bytes < $1.bytes } }

    func check() throws -> StageCheck {
        guard let layout else { return StageCheck(ready: true, lines: ["page_size = \"normal\": nothing to configure"]) }
        var result = StageCheck(ready: true, lines: [])
        for size in sizes {
            let mount = Hugetlbfs.mountPoint(base: base, size)
            if !Hugetlbfs.isMounted(at: mount, pageSize: size) {
                result.lines.append("not ready: no hugetlbfs (\(size.label)) mounted at \(mount)")
                result.ready = false
            }
        }
        guard result.ready else { return result }
        for need in layout.pageNeeds {
            let pool = try HugepagePool.read(need.pageSize, node: need.node)
            if pool.available < need.count {
                result.lines.append("not ready: \(pool.available) free \(need.pool), \(need.count) needed")
                result.ready = false
            } else {
                let mount = Hugetlbfs.mountPoint(base: base, need.pageSize)
                result.lines.append(
                    "ready: hugetlbfs (\(need.pageSize.label)) at \(mount), \(pool.available) free \(need.pool), \(need.count) needed")
            }
        }
        return result
    }

    func initialize() throws -> [String] {
        guard let layout else { return ["page_size = \"normal\": nothing to configure"] }
        var lines: [String] = []
        let ledger = HugepageLedger(directory: base)
        try ledger.releaseDeadRuns()
        for size in sizes {
            guard HugepagePool.supported(size) else {
                throw RuntimeError("this kernel offers no \(size.label) pages; use page_size = \"huge\" or \"auto\"")
            }
            let mount = Hugetlbfs.mountPoint(base: base, size)
            if Hugetlbfs.isMounted(at: mount, pageSize: size) {
                lines.append("hugetlbfs (\(size.label)) already mounted at \(mount)")
            } else {
                try Hugetlbfs.mount(at: mount, pageSize: size)
                lines.append("mounted hugetlbfs (\(size.label)) at \(mount)")
            }
        }
        for need in layout.pageNeeds {
            let before = try HugepagePool.read(need.pageSize, node: need.node)
            let (got, short) = try ShmemPlanner.reserve([need], owner: HugepageLedger.configureOwner, ledger: ledger)
            if let short { throw RuntimeError(short + "; free memory or reserve at boot (hugepages= on the kernel command line)") }
            if got == 0 {
                lines.append("\(before.available) free \(need.pool), \(need.count) needed: nothing to reserve")
            } else {
                lines.append("reserved \(got) \(need.pool) (\(need.count) needed); `tilectl configure fini` releases them")
            }
        }
        return lines
    }

    func finish() throws -> [String] {
        var lines: [String] = []
        for size in [PageSize.huge, .gigantic] {
            let mount = Hugetlbfs.mountPoint(base: base, size)
            guard Hugetlbfs.isMounted(at: mount, pageSize: size) else { continue }
            let files =
                (try? TrustedDirectory.open(mount)).map { dir in
                    defer { dir.close() }
                    return dir.entries()
                } ?? []
            if !files.isEmpty {
                throw RuntimeError(
                    "\(mount) still holds \(files.count) workspace files (\(files[0]), ...): "
                        + "a topology is running; stop it first")
            }
            try Hugetlbfs.unmount(at: mount)
            lines.append("unmounted \(mount)")
        }
        let ledger = HugepageLedger(directory: base)
        let released = try ledger.release { entry in
            entry.owner == HugepageLedger.configureOwner || !HugepageLedger.isAlive(entry.owner)
        }
        for (size, n) in released.sorted(by: { $0.key < $1.key }) { lines.append("released \(n) \(size.label) pages") }
        ledger.file.removeLockIfUnused()
        if TrustedDirectory.removeEmpty(base) { lines.append("removed \(base)") }
        return lines
    }
}
