import Shared
struct EscapeTile: Tile {
    static let kind = "escape"
    static let summary = "test only"
    static let fileLimit: UInt64 = 4
    static let schema = MetricSchema(prefix: "escape", [])
    static let seccompPolicy = SeccompPolicy([])
    init(privileged ctx: TileContext) throws {}
}
