import MetricTile
import Shared
import Tiles
import Testing

@testable import Supervisor

/// Every bad topology gets one error: the position a user should look at
/// and a message that says what is wrong and how to fix it.
struct ConfigValidationTests {
    let loader = TopologyLoader(kinds: Registry.production)

    static let metric = "[tiles.metric]\nprometheus_listen_port = 7999\n"

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let toml: String
        /// "line:column"
        let at: String
        let says: [String]
        var testDescription: String { name }
    }

    static let badInputs: [Case] = [
        Case(
            name: "syntax error", toml: "name = \"x\"\n[tiles.metric\n", at: "2:14",
            says: ["TOML syntax error", "expected \"]\" to close the header, found the end of the line"]),
        Case(
            name: "duplicate tile table", toml: metric + "[tiles.metric]\n", at: "3:8",
            says: ["TOML syntax error", "table metric is already defined at line 1", "define each table once"]),
        Case(
            name: "duplicate key", toml: "name = \"a\"\nname = \"b\"\n" + metric, at: "2:1",
            says: ["TOML syntax error", "name is already defined at line 1"]),
        Case(
            name: "unknown top-level key", toml: "nmae = \"x\"\n" + metric, at: "1:1",
            says: ["unknown key \"nmae\" in the top level", "did you mean \"name\"", "allowed keys:"]),
        Case(
            name: "name has a wrong type", toml: "name = 5\n" + metric, at: "1:8",
            says: ["name must be a string, not an integer"]),
        Case(
            name: "name has bad characters", toml: "name = \"My Topology\"\n" + metric, at: "1:8",
            says: ["name \"My Topology\" must be 1 to 32 characters"]),
        Case(
            name: "name too long", toml: "name = \"\(String(repeating: "a", count: 33))\"\n" + metric, at: "1:8",
            says: ["must be 1 to 32 characters"]),
        Case(
            name: "unknown user", toml: "user = \"no-such-user-here\"\n" + metric, at: "1:8",
            says: ["user \"no-such-user-here\" does not exist", "write \"dynamic\""]),
        Case(
            name: "root user", toml: "user = \"root\"\n" + metric, at: "1:8",
            says: ["is root", "unprivileged"]),
        Case(
            name: "unknown log level", toml: "[log]\nlevel_stderr = \"loud\"\n" + metric, at: "2:16",
            says: ["level_stderr = \"loud\" is not valid", "\"debug\", \"info\", \"notice\", \"warning\", \"error\""]),
        Case(
            name: "relative log path", toml: "[log]\npath = \"tilectl.log\"\n" + metric, at: "2:8",
            says: ["must be absolute"]),
        Case(
            name: "unknown key in log", toml: "[log]\nfile = \"/tmp/x\"\n" + metric, at: "2:1",
            says: ["unknown key \"file\" in [log]", "allowed keys: level_logfile, level_stderr, path"]),
        Case(
            name: "log is not a table", toml: "log = \"stderr\"\n" + metric, at: "1:7",
            says: ["log must be a table, not a string"]),
        Case(
            name: "bad page size", toml: "[shmem]\npage_size = \"large\"\n" + metric, at: "2:13",
            says: ["page_size = \"large\" is not valid", "\"auto\", \"huge\", \"gigantic\", \"normal\""]),
        Case(
            name: "relative hugetlbfs mount", toml: "[shmem]\nhugetlbfs_mount = \"mnt\"\n" + metric, at: "2:19",
            says: ["must be an absolute directory path"]),
        Case(
            name: "hugetlbfs mount with dot-dot", toml: "[shmem]\nhugetlbfs_mount = \"/mnt/../etc\"\n" + metric,
            at: "2:19", says: ["without \"..\""]),
        Case(
            name: "bad idle strategy", toml: "[layout]\nidle = \"nap\"\n" + metric, at: "2:8",
            says: ["idle = \"nap\" is not valid", "\"spin\", \"sleep\""]),
        Case(
            name: "no metric tile", toml: "name = \"x\"\n[tiles.synth]\ncount = 1\n", at: "2:2",
            says: ["no metric tile", "add a [tiles.metric] table"]),
        Case(name: "no tiles at all", toml: "name = \"x\"\n", at: "2:1", says: ["no metric tile"]),
        Case(
            name: "unknown tile kind", toml: metric + "[tiles.verifier]\ncount = 2\n", at: "3:8",
            says: ["unknown tile kind \"verifier\"", "known kinds: metric, synth"]),
        Case(
            name: "tile is not a table", toml: "[tiles]\nmetric = 1\n", at: "2:10",
            says: ["tiles.metric must be a table, not an integer"]),
        Case(
            name: "port out of range", toml: "[tiles.metric]\nprometheus_listen_port = 70000\n", at: "2:26",
            says: ["prometheus_listen_port = 70000 is out of range", "from 1 to 65535"]),
        Case(
            name: "port zero", toml: "[tiles.metric]\nprometheus_listen_port = 0\n", at: "2:26",
            says: ["out of range"]),
        Case(
            name: "port is a string", toml: "[tiles.metric]\nprometheus_listen_port = \"7999\"\n", at: "2:26",
            says: ["prometheus_listen_port must be an integer from 1 to 65535, not a string"]),
        Case(
            name: "bad address", toml: "[tiles.metric]\nprometheus_listen_address = \"localhost\"\n", at: "2:29",
            says: ["\"localhost\" is not an IPv4 address"]),
        Case(
            name: "address with a leading zero", toml: "[tiles.metric]\nprometheus_listen_address = \"127.0.0.01\"\n",
            at: "2:29", says: ["is not an IPv4 address"]),
        Case(
            name: "two metric tiles", toml: "[tiles.metric]\ncount = 2\n", at: "2:9",
            says: ["count = 2 is out of range", "from 1 to 1"]),
        Case(
            name: "unknown tile option", toml: metric + "[tiles.synth]\nrate = 10\nwork_byte = 100\n", at: "5:1",
            says: ["unknown key \"work_byte\" in [tiles.synth]", "did you mean \"work_bytes\""]),
        Case(
            name: "negative rate", toml: metric + "[tiles.synth]\nrate = -1\n", at: "4:8",
            says: ["rate = -1 is out of range"]),
        Case(
            name: "float where an integer goes", toml: metric + "[tiles.synth]\nwork_bytes = 64.5\n", at: "4:14",
            says: ["work_bytes must be an integer", "not a float"]),
        Case(
            name: "count zero", toml: metric + "[tiles.synth]\ncount = 0\n", at: "4:9",
            says: ["count = 0 is out of range"]),
        Case(
            name: "too many tiles", toml: metric + "[tiles.synth]\ncount = 512\n", at: "4:9",
            says: ["more than 512 tiles"]),
        Case(
            name: "dotted key into a tile", toml: "tiles.metric.prometheus_listen_port = 99999\n", at: "1:39",
            says: ["out of range"]),
        Case(
            name: "inline table", toml: "tiles = { metric = { prometheus_listen_port = -5 } }\n", at: "1:47",
            says: ["out of range"]),
        Case(
            name: "position after non-ASCII text", toml: "# caf\u{E9} \u{2615}\nname = 5 # \u{E9}\n" + metric, at: "2:8",
            says: ["name must be a string"]),
        // Links.
        Case(
            name: "depth not a power of two", toml: metric + "[links.a]\ndepth = 1000\n", at: "4:9",
            says: ["depth = 1000 is not a power of two; use 512 or 1024"]),
        Case(name: "depth too small", toml: metric + "[links.a]\ndepth = 2\n", at: "4:9", says: ["out of range"]),
        Case(
            name: "mtu too large", toml: metric + "[links.a]\nmtu = 70000\n", at: "4:7",
            says: ["mtu = 70000 is out of range; use an integer from 1 to 65535"]),
        Case(
            name: "reliable not a boolean", toml: metric + "[links.a]\nreliable = \"yes\"\n", at: "4:12",
            says: ["reliable must be true or false, not a string"]),
        Case(
            name: "unknown link key", toml: metric + "[links.a]\nsize = 3\n", at: "4:1",
            says: ["unknown key \"size\" in [links.a]", "allowed keys: depth, mtu, reliable"]),
        Case(name: "bad link name", toml: metric + "[links.A-b]\n", at: "3:8", says: ["link name \"A-b\" must be"]),
        Case(
            name: "link without producer", toml: metric + "[links.a]\n[tiles.sink]\ninputs = [\"a\"]\n", at: "3:8",
            says: ["link \"a\" has no producer; add it to one tile's outputs"]),
        Case(
            name: "link never consumed", toml: metric + "[links.a]\n[tiles.source]\noutputs = [\"a\"]\n", at: "3:8",
            says: ["link \"a\" is never consumed"]),
        Case(
            name: "two producers",
            toml: metric + "[links.a]\n[tiles.source]\noutputs = [\"a\"]\n[tiles.verify]\ninputs = [\"b\"]\noutputs = [\"a\"]\n[links.b]\n",
            at: "8:11", says: ["produced by [tiles.source] and [tiles.verify]; a link has exactly one producer"]),
        Case(
            name: "unknown link in inputs", toml: metric + "[tiles.sink]\ninputs = [\"nope\"]\n", at: "4:10",
            says: ["unknown link \"nope\" in [tiles.sink] inputs; none are declared"]),
        Case(
            name: "missing required output", toml: metric + "[tiles.source]\nrate = 1\n", at: "3:8",
            says: ["[tiles.source] takes exactly 1 output in outputs; it lists 0"]),
        Case(
            name: "inputs where none are taken", toml: metric + "[links.a]\n[tiles.synth]\ninputs = [\"a\"]\n", at: "5:10",
            says: ["[tiles.synth] takes exactly 0 inputs in inputs; it lists 1"]),
        Case(
            name: "inputs not an array", toml: metric + "[tiles.sink]\ninputs = \"a\"\n", at: "4:10",
            says: ["inputs must be an array of link names"]),
        Case(
            name: "a link listed twice",
            toml: metric + "[links.a]\n[tiles.source]\noutputs = [\"a\"]\n[tiles.sink]\ninputs = [\"a\", \"a\"]\n",
            at: "7:10", says: ["inputs names link \"a\" twice"]),
        Case(
            name: "mtu too small for the source",
            toml: metric + "[links.a]\nmtu = 100\n[tiles.source]\noutputs = [\"a\"]\n[tiles.sink]\ninputs = [\"a\"]\n",
            at: "4:7", says: ["mtu = 100 is smaller than the 296-byte transactions [tiles.source] publishes; raise it to at least 296"]),
        Case(
            name: "dedup cache too small for the reordering upstream",
            toml: metric
                + "[links.a]\ndepth = 512\n[links.b]\n[tiles.source]\noutputs = [\"a\"]\n[tiles.dedup]\ninputs = [\"a\"]\noutputs = [\"b\"]\ncache_size = 256\n[tiles.sink]\ninputs = [\"b\"]\n",
            at: "11:14",
            says: [
                "cache_size = 256 cannot catch every duplicate: transactions can arrive up to 512 fragments out of order",
                "use at least 640",
            ]),
        Case(
            name: "source pool too small for dedup",
            toml: metric
                + "[links.a]\ndepth = 512\n[links.b]\n[tiles.source]\noutputs = [\"a\"]\npool_size = 4096\n[tiles.dedup]\ninputs = [\"a\"]\noutputs = [\"b\"]\ncache_size = 4096\n[tiles.sink]\ninputs = [\"b\"]\n",
            at: "8:13", says: ["pool_size = 4096 would make the pool's next round count as duplicates", "use more than 4608"]),
        Case(
            name: "affinity is not a CPU list", toml: "[layout]\naffinity = \"0-x\"\n" + metric, at: "2:12",
            says: ["affinity = \"0-x\" is not a CPU list (\"0-x\" is not a CPU or a range)", "\"1,3,5-9\"", "\"auto\""]),
        Case(
            name: "affinity names a CPU this machine lacks", toml: "[layout]\naffinity = \"0-1000\"\n" + metric, at: "2:12",
            says: ["affinity names CPU", "which tilectl may not use here", "or write \"auto\""]),
        Case(
            name: "affinity lists too few CPUs", toml: "[layout]\naffinity = \"0\"\n[tiles.synth]\ncount = 2\n" + metric,
            at: "2:12", says: ["affinity lists 1 CPU for 2 pinned tiles", "write \"auto\" to share CPUs"]),
        Case(
            name: "a kind's affinity is not a CPU list", toml: "[tiles.metric]\naffinity = \"anywhere\"\n", at: "2:12",
            says: ["affinity = \"anywhere\" is not a CPU list", "\"layout\", \"floating\", \"pinned\""]),
        Case(
            name: "unknown idle strategy for a kind", toml: "[tiles.metric]\nidle = \"nap\"\n", at: "2:8",
            says: ["idle = \"nap\" is not valid", "\"layout\", \"spin\", \"sleep\""]),
        Case(
            name: "allowed hosts not an array", toml: metric + "[tiles.gui]\ngui_allowed_hosts = \"gui.example\"\n", at: "4:21",
            says: ["gui_allowed_hosts must be an array of at most 32 host names, such as [\"gui.example\"], not a string"]),
        Case(
            name: "allowed hosts lists a URL",
            toml: metric + "[tiles.gui]\ngui_allowed_hosts = [\"gui.example\", \"http://gui.example\"]\n",
            at: "4:21", says: ["lists \"http://gui.example\", which is not a host name", "such as \"gui.example\""]),
        Case(
            name: "allowed hosts lists an address", toml: metric + "[tiles.gui]\ngui_allowed_hosts = [\"127.0.0.1\"]\n", at: "4:21",
            says: ["lists \"127.0.0.1\", which is not a host name", "IP addresses and localhost need no listing"]),
        Case(
            name: "allowed hosts lists a name twice", toml: metric + "[tiles.gui]\ngui_allowed_hosts = [\"a.example\", \"A.example\"]\n",
            at: "4:21", says: ["lists \"A.example\" twice"]),
        Case(
            name: "allowed hosts lists too many",
            toml: metric + "[tiles.gui]\ngui_allowed_hosts = [" + (0..<33).map { "\"h\($0).example\"" }.joined(separator: ", ") + "]\n",
            at: "4:21", says: ["lists 33 names; list at most 32"]),
    ]

    @Test(arguments: badInputs)
    func rejects(_ c: Case) throws {
        let error = try #require(throws: ConfigError.self) { try loader.load(text: c.toml, path: "t.toml") }
        #expect("\(error.line):\(error.column)" == c.at, "\(error)")
        for phrase in c.says { #expect(error.message.contains(phrase), "\(error)") }
        #expect(!error.description.contains("\n"), "one line")
        #expect(error.description.hasPrefix("t.toml:\(c.at): "))
    }

    @Test func rejectsBinaryGarbageWithAPosition() throws {
        var bytes = Array("name = \"ok\"\nx = 1".utf8)
        bytes += [0xFF, 0xFE, 0x00]
        let error = try #require(throws: ConfigError.self) { try loader.load(bytes: bytes, path: "g.toml") }
        #expect("\(error.line):\(error.column)" == "2:6")
        #expect(error.message.contains("byte 0xFF is not UTF-8 text"))
    }

    @Test func rejectsNulBytes() throws {
        let error = try #require(throws: ConfigError.self) { try loader.load(bytes: [0x61, 0x00], path: "n.toml") }
        #expect("\(error.line):\(error.column)" == "1:2")
    }

    @Test func rejectsAMissingFile() throws {
        let error = try #require(throws: ConfigError.self) { try loader.load(path: "/nonexistent/topology.toml") }
        #expect(
            error.description
                == "/nonexistent/topology.toml: cannot read the topology file: ENOENT (No such file or directory); check the path and its permissions"
        )
    }

    @Test func rejectsADirectory() throws {
        let error = try #require(throws: ConfigError.self) { try loader.load(path: "/tmp") }
        #expect(error.message.contains("is a directory"))
    }

    @Test func resolvesDefaultsInFileOrder() throws {
        let t = try loader.load(
            text: """
                name = "order"
                [tiles.synth]
                count = 2
                [tiles.metric]
                """, path: "o.toml")
        #expect(t.tiles.map(\.name) == ["synth:0", "synth:1", "metric:0"])
        #expect(t.tiles.map(\.index) == [0, 1, 2])
        #expect(t.user == .dynamic)
        #expect(t.shmem.pageSize == .auto)
        #expect(t.shmem.hugetlbfsMount == "/mnt/.tilectl")
        #expect(t.layout.idle == .sleep)
        #expect(t.log.path == nil && t.log.levelStderr == .notice && t.log.levelLogfile == .info)
        #expect(t.tiles[2][MetricTile.prometheusListenAddress] == "127.0.0.1")
        #expect(t.tiles[2][MetricTile.prometheusListenPort] == 7999)
        #expect(t.tiles[0][SynthTile.rate] == 1000)
    }

    @Test func guiAllowedHostsAreHostNamesAsWritten() throws {
        let t = try loader.load(text: Self.metric + "[tiles.gui]\ngui_allowed_hosts = [\"GUI.example\", \"proxy-1.lan\"]\n", path: "g.toml")
        #expect(t.tiles[1].options["gui_allowed_hosts"] == .strings(["GUI.example", "proxy-1.lan"]))
        let d = try loader.load(text: Self.metric + "[tiles.gui]\n", path: "d.toml")
        #expect(d.tiles[1].options["gui_allowed_hosts"] == .strings([]))
    }

    @Test(arguments: [
        ("gui.example", true), ("localhost", true), ("a", true), ("x-1.example", true), ("1.example", true), ("123abc", true),
        ("", false), ("-a.example", false), ("a-.example", false), ("a..example", false), ("gui.example.", false),
        (".gui.example", false), ("a_b.example", false), ("127.0.0.1", false), ("1.2.3", false), ("gui.example:80", false),
        ("[::1]", false), ("g\u{fc}i.example", false), (String(repeating: "a", count: 64) + ".example", false),
        (String(repeating: "a.", count: 127) + "a", false),
    ])
    func hostNames(_ name: String, _ valid: Bool) {
        #expect(isHostName(name) == valid, "\(name)")
    }

    /// A kind may idle its own way: workers spin while the metric tile sleeps.
    @Test func aKindOverridesTheLayoutsIdleStrategy() throws {
        let t = try loader.load(
            text: """
                [layout]
                idle = "spin"
                [tiles.synth]
                [tiles.metric]
                idle = "sleep"
                """, path: "i.toml")
        #expect(t.tiles.map(\.idle) == [nil, .sleep])
        #expect(t.tiles.map { t.idle(of: $0) } == [.spin, .sleep])
    }

    /// `auto` pins each tile but the floating metric tile to a CPU this
    /// process may use, in topology order, and the metric tile floats.
    @Test func autoAffinityPinsWorkersAndFloatsTheMetricTile() throws {
        var loader = loader
        loader.allowedCPUs = [0, 1, 2]
        let t = try loader.load(
            text: """
                [layout]
                affinity = "auto"
                [tiles.synth]
                count = 2
                [tiles.metric]
                """, path: "a.toml")
        #expect(t.tiles.map(\.cpus) == [[0], [1], [2]])
        #expect(t.layout.affinity == "auto")
        let pinned = try loader.load(
            text: "[layout]\naffinity = \"auto\"\n[tiles.synth]\n[tiles.metric]\naffinity = \"pinned\"\n", path: "p.toml")
        #expect(pinned.tiles.map(\.cpus) == [[0], [1]])
    }

    @Test func connectsLinksToTheirProducersAndConsumers() throws {
        let path = "/" + #filePath.split(separator: "/").dropLast(3).joined(separator: "/") + "/configs/validator.toml"
        let t = try loader.load(path: path)
        #expect(t.tiles.count >= 8)
        #expect(
            t.links.map(\.label) == [
                "source_verify:0", "verify_dedup:0", "verify_dedup:1", "verify_dedup:2",
                "verify_dedup:3", "dedup_sink:0",
            ])
        let verifyTiles = t.tiles(ofKind: "verify")
        #expect(verifyTiles.count == 4)
        // Every verify tile reads the one source link; each produces its own instance.
        for v in verifyTiles {
            #expect(v.inLinks == [0])
            #expect(t.links[v.outLinks[0]].producer == v.index && t.links[v.outLinks[0]].kindId == v.kindId)
        }
        #expect(t.links[0].consumers.map(\.tile) == verifyTiles.map(\.index))
        #expect(t.links[0].consumers.map(\.slot) == [0, 1, 2, 3])
        let dedup = t.tiles(ofKind: "dedup")[0]
        #expect(dedup.inLinks == [1, 2, 3, 4], "dedup consumes every verify_dedup instance")
        #expect(t.links[1...4].allSatisfy { $0.consumers.map(\.inIndex) == [$0.index - 1] })
    }

    @Test func loadsTheShippedDefaultTopology() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let t = try loader.load(path: "/" + path + "/configs/default.toml")
        #expect(t.tiles.count >= 3)
        #expect(Set(t.tiles.map(\.kind)).count >= 2)
    }
}
