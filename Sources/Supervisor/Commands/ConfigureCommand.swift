#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shared

/// `tilectl configure init|check|fini [STAGE...] --config F`: prepares the
/// host for a topology, stage by stage (`ConfigureStages`), checks it, and
/// undoes it. No stage named means every stage.
struct ConfigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Prepare this host for a topology (huge pages, kernel settings), check, or undo.",
        discussion: "Stages, in order:\n"
            + ConfigureStages.Name.allCases.map { "  \($0.rawValue): \(ConfigureStages.summary($0))" }.joined(separator: "\n"),
        subcommands: [Init.self, Check.self, Fini.self])

    /// The stages named on the command line (all when none), in their order.
    struct StageOptions: ParsableArguments {
        @OptionGroup var config: ConfigOption
        @Argument(help: ArgumentHelp("The stages (default: all of them).", valueName: "stage"))
        var stages: [ConfigureStages.Name] = []

        func load(_ kinds: TileKinds) throws -> (Topology, [(ConfigureStages.Name, any ConfigureStage)]) {
            let topology = try config.load(kinds)
            let names = ConfigureStages.Name.allCases.filter { stages.isEmpty || stages.contains($0) }
            return (
                topology,
                names.map { ($0, ConfigureStages.make($0, topology: topology, kinds: kinds, configPath: config.config)) }
            )
        }
    }

    static func requireRoot(_ what: String) throws {
        guard geteuid() == 0 else {
            throw RuntimeError(
                "tilectl configure \(what) needs root (CAP_SYS_ADMIN to mount hugetlbfs, "
                    + "write access to /sys/kernel/mm/hugepages and /proc/sys); run it with sudo")
        }
    }

    struct Init: KindsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put every stage (or the ones named) in place. Needs root.")
        @OptionGroup var options: StageOptions

        func run(kinds: TileKinds) throws {
            let (_, stages) = try options.load(kinds)
            try requireRoot("init")
            for (name, stage) in stages {
                for line in try stage.initialize() { print("\(name.rawValue): \(line)") }
            }
        }
    }

    struct Check: KindsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether every stage (or the ones named) is in place. Exit 0 when all are, 1 when not.")
        @OptionGroup var options: StageOptions

        func run(kinds: TileKinds) throws {
            let (_, stages) = try options.load(kinds)
            var ready = true
            for (name, stage) in stages {
                let result = try stage.check()
                for line in result.lines { print("\(name.rawValue): \(line)") }
                ready = ready && result.ready
            }
            if !ready {
                let named = options.stages.map { " \($0.rawValue)" }.joined()
                print("fix: sudo tilectl configure init\(named) --config \(options.config.config)")
                throw ExitCode(1)
            }
        }
    }

    struct Fini: KindsCommand {
        static let configuration = CommandConfiguration(
            abstract: "Undo what `init` did, every stage (or the ones named). Needs root.")
        @OptionGroup var options: StageOptions

        func run(kinds: TileKinds) throws {
            let (_, stages) = try options.load(kinds)
            try requireRoot("fini")
            for (name, stage) in stages {
                for line in try stage.finish() { print("\(name.rawValue): \(line)") }
            }
        }
    }
}

extension ConfigureStages.Name: ExpressibleByArgument {}
