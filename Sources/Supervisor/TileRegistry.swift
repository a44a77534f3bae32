import MetricTile
import Shared
import Tiles

/// Every tile kind this binary can run. Adding a kind is adding a line here.
let tileKinds = TileKinds([
    TileKind(MetricTile.self),
    TileKind(SynthTile.self),
])
