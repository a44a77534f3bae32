import Shared
import Supervisor

// tilectl with two more tile kinds, `escape` and `escape_layered`, that
// attack their own sandbox. Only the integration tests run this binary.
Tilectl.main(kinds: TileKinds(Registry.production.all + [TileKind(EscapeTile.self), TileKind(LayeredEscapeTile.self)]))
