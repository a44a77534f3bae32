#if canImport(Glibc)
import Glibc
#endif

/// How a run's workspaces will be backed, and what was done to get there.
package struct ShmemPlan: Sendable {
    package let backing: Backing
    package let layout: TopologyLayout
    /// What the supervisor says at start: the page size chosen and why,
    /// pages it reserved, a fallback and its fix.
    package let notices: [String]
    /// Pages this run reserved itself, released when it exits.
    package let reserved: [PageSize: Int]
}

/// Decides the backing from the topology's page-size policy and the host.
package enum ShmemPlanner {
    /// `preview` changes nothing (for `check`); `run` may mount hugetlbfs and
    /// reserve pages when `privileged` and the policy is `auto`.
    package enum Mode: Sendable {
        case preview
        case run(privileged: Bool)
    }

    package static func plan(
        _ topology: Topology, kinds: TileKinds, configPath: String, mode: Mode,
        normalDirectory: String? = nil
    ) throws -> ShmemPlan {
        func layout(_ backing: Backing) -> TopologyLayout {
            TopologyLayout(topology: topology, kinds: kinds, backing: backing, normalDirectory: normalDirectory)
        }
        let base = topology.shmem.hugetlbfsMount
        switch topology.shmem.pageSize {
        case .normal:
            return ShmemPlan(
                backing: .normal, layout: layout(.normal),
                notices: ["page size normal (4 KiB, /dev/shm), as configured"], reserved: [:])
        case .huge, .gigantic:
            let backing: Backing = topology.shmem.pageSize == .huge ? .huge : .gigantic
            let layout = layout(backing)
            for need in layout.pageNeeds {
                if let shortage = shortage(need, base: base) {
                    if case .preview = mode {
                        return ShmemPlan(backing: backing, layout: layout, notices: ["not ready: \(shortage)"], reserved: [:])
                    }
                    throw RuntimeError(
                        "page_size = \"\(topology.shmem.pageSize.rawValue)\" needs \(need.count) free \(need.pool), "
                            + "but \(shortage); reserve them with `sudo tilectl configure init --config \(configPath)`")
                }
            }
            let notices = [PageSize.gigantic, .huge].filter { layout.pagesNeeded($0) > 0 }.map {
                chosen($0, needed: layout.pagesNeeded($0), mount: Hugetlbfs.mountPoint(base: base, $0), why: "as configured")
            }
            return ShmemPlan(backing: backing, layout: layout, notices: notices, reserved: [:])
        case .auto:
            return try planAuto(topology, configPath: configPath, mode: mode, layout: layout)
        }
    }

    /// The start-up line naming the page size and what this run takes of its pool.
    static func chosen(_ size: PageSize, needed: Int, mount: String, why: String) -> String {
        var line =
            "page size \(size == .huge ? "huge" : "gigantic") (\(size.label)), \(why): \(needed) pages "
            + "(\(formatBytes(needed * size.bytes))) from \(mount)"
        if let pool = try? HugepagePool.read(size) {
            line += "; the pool has \(pool.total), \(pool.available) free before this run maps them"
        }
        return line
    }

    /// Why the pages `need` asks for cannot be had right now, or nil.
    package static func shortage(_ need: PageNeed, base: String) -> String? {
        let size = need.pageSize
        let mount = Hugetlbfs.mountPoint(base: base, size)
        guard HugepagePool.supported(size) else { return "this kernel offers no \(size.label) pages" }
        guard Hugetlbfs.isMounted(at: mount, pageSize: size) else { return "no hugetlbfs (\(size.label)) is mounted at \(mount)" }
        guard let pool = try? HugepagePool.read(size, node: need.node) else { return "the \(need.pool) pool cannot be read" }
        return pool.available >= need.count ? nil : "only \(pool.available) are free" + (need.node.map { " on node \($0)" } ?? "")
    }

    /// Grows each pool `needs` names until it has what it needs free, for
    /// `owner`, in order (a node's pool first: its pages count in the
    /// system's too). Returns the pages gained, or why they fell short.
    package static func reserve(
        _ needs: [PageNeed], owner: String, ledger: HugepageLedger
    ) throws -> (gained: Int, shortage: String?) {
        var gained = 0
        for need in needs {
            let pool = try HugepagePool.read(need.pageSize, node: need.node)
            let missing = need.count - pool.available
            guard missing > 0 else { continue }
            // A failed reservation leaves the pool as it was: short.
            let (got, now) = (try? ledger.reserve(owner: owner, missing, from: pool)) ?? (0, pool)
            gained += got
            if now.available < need.count {
                return (
                    gained,
                    "asked the kernel for \(missing) more \(need.pool) and got \(max(0, now.available - pool.available)): "
                        + "memory is short or fragmented"
                )
            }
        }
        return (gained, nil)
    }

    static func planAuto(
        _ topology: Topology, configPath: String, mode: Mode,
        layout: (Backing) -> TopologyLayout
    ) throws -> ShmemPlan {
        let base = topology.shmem.hugetlbfsMount
        let huge = layout(.huge)
        let needed = huge.pagesNeeded(.huge)
        let mount = Hugetlbfs.mountPoint(base: base, .huge)
        func normal(_ why: String) -> ShmemPlan {
            ShmemPlan(
                backing: .normal, layout: layout(.normal),
                notices: [
                    "huge pages unavailable (\(why)); using normal pages in /dev/shm. "
                        + "For huge pages run `sudo tilectl configure init --config \(configPath)` first"
                ],
                reserved: [:])
        }
        // A run killed before its cleanup left pages reserved: this run
        // takes them over (and releases them at exit) rather than leaking them.
        let owner = HugepageLedger.selfOwner
        let ledger = HugepageLedger(directory: base)
        var notices: [String] = []
        var adopted = 0
        if case .run(true) = mode, let taken = try? ledger.adoptDeadRuns(as: owner), let n = taken[.huge], n > 0 {
            adopted = n
            notices.append("took over \(n) huge pages left reserved by a run that was killed; they are released when this one exits")
        }
        let needs = huge.pageNeeds
        guard let why = needs.lazy.compactMap({ shortage($0, base: base) }).first else {
            notices.insert(chosen(.huge, needed: needed, mount: mount, why: "page_size = \"auto\""), at: 0)
            return ShmemPlan(backing: .huge, layout: huge, notices: notices, reserved: adopted > 0 ? [.huge: adopted] : [:])
        }
        var gained = 0
        func fallBack(_ why: String) -> ShmemPlan {
            // What this run took over or got is not used: give it back now.
            if adopted + gained > 0 { _ = try? ledger.release { $0.owner == owner } }
            return normal(why)
        }
        guard case .run(let privileged) = mode else {
            return geteuid() == 0
                ? ShmemPlan(
                    backing: .huge, layout: huge,
                    notices: ["page size huge (2 MiB) once `run` reserves them: \(why)"], reserved: [:])
                : normal(why)
        }
        guard privileged, HugepagePool.supported(.huge) else { return fallBack(why) }

        // Privileged and short: make the pages available, saying what was done.
        if !Hugetlbfs.isMounted(at: mount, pageSize: .huge) {
            do {
                try Hugetlbfs.mount(at: mount, pageSize: .huge)
                notices.append(
                    "mounted hugetlbfs (2 MiB pages) at \(mount); it stays mounted, "
                        + "`tilectl configure fini` removes it")
            } catch {
                return fallBack("\(error)")
            }
        }
        let (got, short) = try reserve(needs, owner: owner, ledger: ledger)
        gained = got
        let reserved = adopted + got
        if let short { return fallBack(short) }
        if got > 0 {
            notices.append(
                "reserved \(got) huge pages (\(formatBytes(got * PageSize.huge.bytes))) for this run; "
                    + "they are released when it exits")
        }
        notices.insert(chosen(.huge, needed: needed, mount: mount, why: "page_size = \"auto\""), at: 0)
        return ShmemPlan(backing: .huge, layout: huge, notices: notices, reserved: reserved > 0 ? [.huge: reserved] : [:])
    }

    /// Gives back the pages `plan` reserved (called on every exit path).
    package static func release(_ plan: ShmemPlan, topology: Topology) {
        guard !plan.reserved.isEmpty else { return }
        let owner = HugepageLedger.selfOwner
        do {
            try HugepageLedger(directory: topology.shmem.hugetlbfsMount).release { $0.owner == owner }
        } catch {
            // Still in the ledger: the next run or `configure fini` gives them back.
            Log.warning("could not give back the huge pages this run reserved (\(error)); `tilectl configure fini` releases them")
        }
    }
}
