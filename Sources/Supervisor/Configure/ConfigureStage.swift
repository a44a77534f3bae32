import Shared

/// One thing `tilectl configure` prepares on the host, as fdctl's stages
/// are: `check` says whether it is in place and changes nothing;
/// `initialize` puts it in place and may run again (what is in place stays
/// as it is); `finish` undoes what `initialize` did, and only that.
protocol ConfigureStage {
    /// What operators type: `tilectl configure init sysctl`.
    static var name: String { get }
    /// One line for `--help`.
    static var summary: String { get }
    func check() throws -> StageCheck
    /// What it did, one line each.
    func initialize() throws -> [String]
    /// What it undid, one line each.
    func finish() throws -> [String]
}

/// What `check` found: each line says what is or is not in place.
struct StageCheck {
    var ready: Bool
    var lines: [String]
}

/// The stages, in the order `init` runs them. Each is independent of the
/// others, so `fini` runs them in the same order: the huge pages first,
/// which refuse while a topology still uses them.
enum ConfigureStages {
    enum Name: String, CaseIterable {
        case hugetlbfs, sysctl
    }

    static func make(_ name: Name, topology: Topology, kinds: TileKinds, configPath: String) -> any ConfigureStage {
        switch name {
        case .hugetlbfs: HugepageStage(topology: topology, kinds: kinds, configPath: configPath)
        case .sysctl: SysctlStage()
        }
    }

    static func summary(_ name: Name) -> String {
        switch name {
        case .hugetlbfs: HugepageStage.summary
        case .sysctl: SysctlStage.summary
        }
    }
}
