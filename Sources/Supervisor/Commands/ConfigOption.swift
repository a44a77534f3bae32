import ArgumentParser
import Shared

/// `--config FILE`, shared by every command that reads a topology.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The topology file (TOML).", valueName: "file"))
    var config: String

    /// Loads and validates the topology; a bad file throws a `ConfigError`.
    func load(_ kinds: TileKinds) throws -> Topology {
        try TopologyLoader(kinds: kinds).load(path: config)
    }
}
