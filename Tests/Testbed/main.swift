import Shared
import Supervisor

// tilectl with three more tile kinds, `escape`, `escape_layered` and `escape_metric`, that
// attack their own sandbox. Only the integration tests run this binary.
Tilectl.main(
    kinds: TileKinds(
        Registry.production.all + [
            TileKind(EscapeTile.self), TileKind(LayeredEscapeTile.self),
            TileKind(MetricEscapeTile.self),
        ]))
