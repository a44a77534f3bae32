import GuiTile
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
        TileKind(GuiTile.self),
    ])
}
