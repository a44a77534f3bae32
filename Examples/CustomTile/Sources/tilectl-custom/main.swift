import TilectlKit

// tilectl, with every shipped tile kind and one of this package's own.
Tilectl.main(kinds: TileKinds(Registry.production.all + [TileKind(TickerTile.self)]))
