import Shared
import Supervisor

// tilectl with more tile kinds: `escape`, `escape_layered` and `escape_metric`
// attack their own sandbox; `chatter` logs numbered lines. Only the
// integration tests run this binary.
Tilectl.main(
    kinds: TileKinds(
        Registry.production.all + [
            TileKind(EscapeTile.self), TileKind(LayeredEscapeTile.self),
            TileKind(MetricEscapeTile.self), TileKind(ChatterTile.self),
        ]))
