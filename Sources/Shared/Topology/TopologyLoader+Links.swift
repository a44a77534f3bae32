import TOML

/// Links: `[links.<name>]` tables, and the tiles' `inputs` and `outputs`
/// that connect them.
extension Resolver {
    /// Consumers one link instance may have (per-consumer counters in its header).
    static let maxConsumers = LinkHeader.maxConsumers

    func resolveLinkSpecs(_ table: TOMLTable) throws -> [LinkSpec] {
        let names = table.keys
        var specs: [LinkSpec] = []
        for name in names {
            let pos = doc.keyPosition(["links", name])
            guard name.count <= 32, let f = name.unicodeScalars.first, f >= "a" && f <= "z",
                name.unicodeScalars.allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" })
            else {
                throw fail(pos, "link name \(shown(name)) must be 1 to 32 characters of a-z, 0-9 or '_', starting with a letter")
            }
            guard let t = table[name]?.table else {
                throw fail(
                    doc.valuePosition(["links", name]),
                    "links.\(name) must be a table, not \(table[name]!.typeName); write it as [links.\(name)]")
            }
            var r = TableReader(table: t, path: ["links", name], resolver: self)
            let depth = try r.integer(TopologyKeys.key(TopologyKeys.link, "depth"))
            guard depth & (depth - 1) == 0 else {
                var p = 4
                while p < depth { p <<= 1 }
                throw fail(
                    doc.valuePosition(["links", name, "depth"]),
                    "depth = \(depth) is not a power of two; use \(p / 2) or \(p)")
            }
            let mtu = try r.integer(TopologyKeys.key(TopologyKeys.link, "mtu"))
            let reliable = try r.boolean(TopologyKeys.key(TopologyKeys.link, "reliable"))
            try r.rejectUnknown(TopologyKeys.link.map(\.key))
            specs.append(LinkSpec(name: name, depth: depth, mtu: mtu, reliable: reliable))
        }
        return specs
    }

    /// Instantiates every link once per tile of its producing group, and
    /// fills each tile's in- and out-links. Rules: a link named in inputs or
    /// outputs is declared; each link has exactly one producing tile kind and
    /// at least one consumer; no tile consumes its own output.
    func connect(_ tiles: inout [TileSpec], _ groups: [TileGroup], _ specs: [LinkSpec]) throws -> [LinkInstance] {
        let declared = specs.map(\.name)
        func unknown(_ group: TileGroup, _ key: String, _ name: String) -> ConfigError {
            let list =
                declared.isEmpty
                ? "none are declared; add a [links.\(name)] table"
                : "declared links: " + declared.joined(separator: ", ")
            return fail(
                doc.valuePosition(["tiles", group.kind, key]), "unknown link \(shown(name)) in [tiles.\(group.kind)] \(key); \(list)")
        }
        for g in groups {
            for n in g.inputs where !declared.contains(n) { throw unknown(g, "inputs", n) }
            for n in g.outputs where !declared.contains(n) { throw unknown(g, "outputs", n) }
            if let loop = g.inputs.first(where: { g.outputs.contains($0) }) {
                throw fail(
                    doc.valuePosition(["tiles", g.kind, "inputs"]),
                    "[tiles.\(g.kind)] consumes its own output \(shown(loop)); a tile cannot read what it publishes")
            }
        }

        var links: [LinkInstance] = []
        for spec in specs {
            let pos = doc.keyPosition(["links", spec.name])
            let producers = groups.filter { $0.outputs.contains(spec.name) }
            guard let producer = producers.first else {
                throw fail(pos, "link \(shown(spec.name)) has no producer; add it to one tile's outputs, or remove it")
            }
            guard producers.count == 1 else {
                throw fail(
                    doc.valuePosition(["tiles", producers[1].kind, "outputs"]),
                    "link \(shown(spec.name)) is produced by [tiles.\(producers[0].kind)] and [tiles.\(producers[1].kind)]; "
                        + "a link has exactly one producer: declare one link per producer")
            }
            let consumers = groups.filter { $0.inputs.contains(spec.name) }
            guard !consumers.isEmpty else {
                throw fail(pos, "link \(shown(spec.name)) is never consumed; add it to a tile's inputs, or remove it")
            }
            let consumerTiles = consumers.reduce(0) { $0 + $1.count }
            guard consumerTiles <= Self.maxConsumers else {
                throw fail(pos, "link \(shown(spec.name)) has \(consumerTiles) consumer tiles; at most \(Self.maxConsumers)")
            }
            for id in 0..<producer.count {
                let p = producer.first + id
                links.append(
                    LinkInstance(
                        index: links.count, name: spec.name, kindId: id, depth: spec.depth, mtu: spec.mtu,
                        reliable: spec.reliable, producer: p, consumers: []))
                tiles[p].outLinks.append(links.count - 1)
            }
        }
        // Inputs in the order each tile lists them; every instance of a link.
        for g in groups {
            for t in g.first..<(g.first + g.count) {
                for name in g.inputs {
                    for i in links.indices where links[i].name == name {
                        links[i].consumers.append(
                            LinkInstanceConsumer(
                                tile: t, inIndex: tiles[t].inLinks.count,
                                slot: links[i].consumers.count, reliable: links[i].reliable))
                        tiles[t].inLinks.append(i)
                    }
                }
            }
            // Outputs too follow the order the tile lists them.
            for t in g.first..<(g.first + g.count) {
                tiles[t].outLinks.sort { g.outputs.firstIndex(of: links[$0].name)! < g.outputs.firstIndex(of: links[$1].name)! }
            }
        }
        return links
    }
}
