// The `Tilectl` library product: what a tile author's package imports
// (`import TilectlKit`) to define its own tile kinds and build an
// executable that runs them beside the shipped ones:
//
//     Tilectl.main(kinds: TileKinds(Registry.production.all + [TileKind(MyTile.self)]))
//
// It re-exports the module that defines the `Tile` protocol, options,
// metric schemas, seccomp policies, links and the stem's context
// (`Shared`), and the one that defines `Tilectl.main` and the production
// kinds (`Supervisor`). See Examples/CustomTile.
@_exported import Shared
@_exported import Supervisor
