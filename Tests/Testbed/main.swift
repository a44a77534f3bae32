import Shared
import Supervisor

// tilectl with one more tile kind, `escape`, that attacks its own sandbox.
// Only the integration tests run this binary.
Tilectl.main(kinds: TileKinds(Registry.production.all + [TileKind(EscapeTile.self)]))
