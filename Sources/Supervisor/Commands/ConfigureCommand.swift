#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shared

/// `tilectl configure init|check|fini --config F`: prepares the host's
/// huge pages for a topology, checks them, and undoes it.
struct ConfigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Prepare this host's huge pages for a topology (mount hugetlbfs, reserve pages), check, or undo.",
        subcommands: [Init.self, Check.self, Fini.self])

    /// The page sizes and counts a topology needs, from its layout under
    /// the policy it asks for (`auto` counts as `huge`).
    static func needs(_ topology: Topology, kinds: TileKinds) -> [(PageSize, Int)] {
        let backing: Backing
        switch topology.shmem.pageSize {
        case .normal: return []
        case .auto, .huge: backing = .huge
        case .gigantic: backing = .gigantic
        }
        let layout = TopologyLayout(topology: topology, kinds: kinds, backing: backing)
        return [PageSize.huge, .gigantic].map { ($0, layout.pagesNeeded($0)) }.filter { $0.1 > 0 }
    }

    static func requireRoot(_ what: String) throws {
        guard geteuid() == 0 else {
            throw RuntimeError(
                "tilectl configure \(what) needs root (CAP_SYS_ADMIN to mount hugetlbfs, "
                    + "write access to /sys/kernel/mm/hugepages); run it with sudo")
        }
    }

    struct Init: KindsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mount hugetlbfs and reserve the huge pages the topology needs. Needs root.")
        @OptionGroup var config: ConfigOption

        func run(kinds: TileKinds) throws {
            let topology = try config.load(kinds)
            try requireRoot("init")
            let needs = ConfigureCommand.needs(topology, kinds: kinds)
            if needs.isEmpty { print("page_size = \"normal\": nothing to configure"); return }
            let base = topology.shmem.hugetlbfsMount
            let ledger = HugepageLedger(directory: base)
            try ledger.releaseDeadRuns()
            for (size, needed) in needs {
                guard HugepagePool.supported(size) else {
                    throw RuntimeError("this kernel offers no \(size.label) pages; use page_size = \"huge\" or \"auto\"")
                }
                let mount = Hugetlbfs.mountPoint(base: base, size)
                if Hugetlbfs.isMounted(at: mount, pageSize: size) {
                    print("hugetlbfs (\(size.label)) already mounted at \(mount)")
                } else {
                    try Hugetlbfs.mount(at: mount, pageSize: size)
                    print("mounted hugetlbfs (\(size.label)) at \(mount)")
                }
                let pool = try HugepagePool.read(size)
                let missing = needed - pool.available
                guard missing > 0 else {
                    print("\(pool.available) free \(size.label) pages, \(needed) needed: nothing to reserve")
                    continue
                }
                let (got, now) = try ledger.reserve(owner: HugepageLedger.configureOwner, missing, from: pool)
                guard now.available >= needed else {
                    throw RuntimeError(
                        "asked the kernel for \(missing) more \(size.label) pages and got \(max(0, now.available - pool.available)): "
                            + "memory is short or fragmented; free memory or reserve at boot (hugepages= on the kernel command line)")
                }
                print("reserved \(got) \(size.label) pages (\(needed) needed); `tilectl configure fini` releases them")
            }
        }
    }

    struct Check: KindsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether the huge pages the topology needs are ready. Exit 0 when ready, 1 when not.")
        @OptionGroup var config: ConfigOption

        func run(kinds: TileKinds) throws {
            let topology = try config.load(kinds)
            let needs = ConfigureCommand.needs(topology, kinds: kinds)
            if needs.isEmpty { print("page_size = \"normal\": nothing to configure"); return }
            var ready = true
            for (size, needed) in needs {
                let mount = Hugetlbfs.mountPoint(base: topology.shmem.hugetlbfsMount, size)
                if !Hugetlbfs.isMounted(at: mount, pageSize: size) {
                    print("not ready: no hugetlbfs (\(size.label)) mounted at \(mount)")
                    ready = false
                    continue
                }
                let pool = try HugepagePool.read(size)
                if pool.available < needed {
                    print("not ready: \(pool.available) free \(size.label) pages, \(needed) needed")
                    ready = false
                } else {
                    print("ready: hugetlbfs (\(size.label)) at \(mount), \(pool.available) free pages, \(needed) needed")
                }
            }
            if !ready {
                print("fix: sudo tilectl configure init --config \(config.config)")
                throw ExitCode(1)
            }
        }
    }

    struct Fini: KindsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release the pages `init` reserved and unmount hugetlbfs. Needs root.")
        @OptionGroup var config: ConfigOption

        func run(kinds: TileKinds) throws {
            let topology = try config.load(kinds)
            try requireRoot("fini")
            let base = topology.shmem.hugetlbfsMount
            for size in [PageSize.huge, .gigantic] {
                let mount = Hugetlbfs.mountPoint(base: base, size)
                guard Hugetlbfs.isMounted(at: mount, pageSize: size) else { continue }
                let files =
                    (try? TrustedDirectory.open(mount)).map { dir in
                        defer { dir.close() }; return dir.entries()
                    } ?? []
                if !files.isEmpty {
                    throw RuntimeError(
                        "\(mount) still holds \(files.count) workspace files (\(files[0]), ...): "
                            + "a topology is running; stop it first")
                }
                try Hugetlbfs.unmount(at: mount)
                print("unmounted \(mount)")
            }
            let released = try HugepageLedger(directory: base).release { entry in
                entry.owner == HugepageLedger.configureOwner || !HugepageLedger.isAlive(entry.owner)
            }
            for (size, n) in released.sorted(by: { $0.key < $1.key }) { print("released \(n) \(size.label) pages") }
            if let dir = try? TrustedDirectory.open(base) {
                dir.remove(".reservations.lock")
                dir.close()
                if TrustedDirectory.removeEmpty(base) { print("removed \(base)") }
            }
        }
    }
}
