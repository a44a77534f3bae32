import MetricTile
import Shared
import Tiles

/// The tile kinds this process knows.
public enum Registry {
    /// Every kind `tilectl` runs. Adding a kind is adding a line here.
    public static let production = TileKinds([
        TileKind(MetricTile.self),
        TileKind(SynthTile.self),
        TileKind(SourceTile.self),
        TileKind(VerifyTile.self),
        TileKind(DedupTile.self),
        TileKind(SinkTile.self),
    ])

    /// Set once by the executable's entry point, before any command runs;
    /// every process is single-threaded, so nothing races on it.
    nonisolated(unsafe) public internal(set) static var kinds = production
}

/// The kinds of this process, as everything in the supervisor reads them.
var tileKinds: TileKinds { Registry.kinds }
