#if canImport(Glibc)
import Glibc
#endif
import TOML

/// Reads a topology file, validates every key against what tilectl and the
/// tile kinds accept, and resolves it into a `Topology`. Every rejection is
/// a `ConfigError` pointing at a line and column with the fix.
package struct TopologyLoader: Sendable {
    package let kinds: TileKinds
    /// The CPUs tiles may be pinned to; nil asks this process's affinity
    /// mask, and only when the file pins something (a load that pins
    /// nothing makes no system call for it).
    package var allowedCPUs: [Int]?

    /// A topology file larger than this is refused before parsing.
    package static let maxFileSize = 1 << 20
    /// Tiles a topology may have in all.
    package static let maxTiles = 512

    package init(kinds: TileKinds) { self.kinds = kinds }

    package func load(path: String) throws -> Topology {
        var bytes: [UInt8] = []
        do {
            let fd = try FileDescriptor.open(path, O_RDONLY)
            defer { fd.close() }
            var st = stat()
            if fstat(fd.rawValue, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                throw ConfigError(
                    file: path, line: 0, column: 0,
                    message: "is a directory, not a topology file; name a .toml file such as configs/default.toml")
            }
            // Read one byte past the limit, to know whether it is crossed.
            var chunk = [UInt8](repeating: 0, count: 65536)
            while bytes.count <= Self.maxFileSize {
                let want = min(chunk.count, Self.maxFileSize + 1 - bytes.count)
                let n = try chunk.withUnsafeMutableBytes { b in
                    try Sys.retry("read(\(path))", Glibc.read(fd.rawValue, b.baseAddress, want))
                }
                if n == 0 { break }
                bytes += chunk[0..<n]
            }
        } catch let e as RuntimeError {
            throw ConfigError(
                file: path, line: 0, column: 0,
                message: "cannot read the topology file: \(Errno.describe(e.errno)); check the path and its permissions")
        }
        if bytes.count > Self.maxFileSize {
            // Point at where the limit is crossed.
            var line = 1, column = 1
            for b in bytes[0..<Self.maxFileSize] {
                if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
            }
            throw ConfigError(
                file: path, line: line, column: column,
                message:
                    "the topology file goes on past \(Self.maxFileSize / 1024) KiB here; a topology file is a short TOML text (is this the right file?)"
            )
        }
        return try load(bytes: bytes, path: path)
    }

    package func load(text: String, path: String) throws -> Topology {
        try load(bytes: Array(text.utf8), path: path)
    }

    package func load(bytes: [UInt8], path: String) throws -> Topology {
        let doc: TOMLDocument
        do {
            doc = try TOMLDocument(bytes: bytes)
        } catch {
            throw ConfigError(
                file: path, line: error.position.line, column: error.position.column,
                message: "TOML syntax error: \(error.message)")
        }
        var r = Resolver(doc: doc, file: path, kinds: kinds, allowedCPUs: allowedCPUs)
        return try r.resolve()
    }
}

/// One pass over the parsed document. Checks run in a fixed order and the
/// first failure is thrown: a user fixes one line at a time.
struct Resolver {
    let doc: TOMLDocument
    let file: String
    let kinds: TileKinds
    let allowedCPUs: [Int]?

    func fail(_ pos: TOMLPosition, _ message: String) -> ConfigError {
        ConfigError(file: file, line: pos.line, column: pos.column, message: message)
    }

    mutating func resolve() throws -> Topology {
        typealias K = TopologyKeys
        var top = TableReader(table: doc.root, path: [], resolver: self)
        let name = try top.text(K.key(K.top, "name"))
        try checkName(name)
        let user = try resolveUser(try top.text(K.key(K.top, "user")))
        let log = try top.table("log")
        let shmem = try top.table("shmem")
        let layout = try top.table("layout")
        let tilesTable = try top.table("tiles")
        let linksTable = try top.table("links")
        try top.rejectUnknown(K.top.map(\.key) + ["log", "shmem", "layout", "tiles", "links"])

        var logR = TableReader(table: log, path: ["log"], resolver: self)
        let logPath = try logR.text(K.key(K.log, "path"))
        // With a log file, the terminal gets warnings and worse only.
        let levelStderr = log["level_stderr"] == nil && !logPath.isEmpty ? "warning" : try logR.text(K.key(K.log, "level_stderr"))
        let levelLogfile = try logR.text(K.key(K.log, "level_logfile"))
        try logR.rejectUnknown(K.log.map(\.key))
        if !logPath.isEmpty && !logPath.hasPrefix("/") {
            throw fail(
                doc.valuePosition(["log", "path"]),
                "log path \(shown(logPath)) must be absolute (tiles change directory); write it as /var/log/...")
        }

        var shmemR = TableReader(table: shmem, path: ["shmem"], resolver: self)
        let pageSize = try shmemR.text(K.key(K.shmem, "page_size"))
        let mount = try shmemR.text(K.key(K.shmem, "hugetlbfs_mount"))
        try shmemR.rejectUnknown(K.shmem.map(\.key))
        if !mount.hasPrefix("/") || mount.count < 2 || mount.split(separator: "/").contains("..") {
            throw fail(
                doc.valuePosition(["shmem", "hugetlbfs_mount"]),
                "hugetlbfs_mount \(shown(mount)) must be an absolute directory path without \"..\", such as \"/mnt/.tilectl\"")
        }

        var layoutR = TableReader(table: layout, path: ["layout"], resolver: self)
        let idle = try layoutR.text(K.key(K.layout, "idle"))
        let affinity = try layoutR.text(K.key(K.layout, "affinity"))
        let housekeepingMicros = try layoutR.integer(K.key(K.layout, "housekeeping_interval_us"))
        try layoutR.rejectUnknown(K.layout.map(\.key))

        let linkSpecs = try resolveLinkSpecs(linksTable)
        var (tiles, groups) = try resolveTiles(tilesTable)
        let links = try connect(&tiles, groups, linkSpecs)
        try place(&tiles, groups, layoutAffinity: affinity)

        let topology = Topology(
            name: name, source: file, user: user,
            log: LogConfig(
                path: logPath.isEmpty ? nil : logPath, levelStderr: LogLevel(rawValue: levelStderr)!,
                levelLogfile: LogLevel(rawValue: levelLogfile)!),
            shmem: ShmemConfig(pageSize: PageSizePolicy(rawValue: pageSize)!, hugetlbfsMount: mount),
            layout: LayoutConfig(
                idle: IdleStrategy(rawValue: idle)!, affinity: affinity,
                housekeepingIntervalNanos: Int64(housekeepingMicros) * 1000),
            tiles: tiles, links: links)
        // Checks each kind makes of its tiles against the whole topology.
        for tile in tiles {
            if let issue = kinds[tile.kind]!.validate(tile, topology) {
                throw fail(doc.valuePosition(issue.path), issue.message)
            }
        }
        return topology
    }

    func checkName(_ name: String) throws {
        let ok =
            !name.isEmpty && name.count <= 32
            && name.unicodeScalars.allSatisfy { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" || $0 == "-" }
            && name.first != "-" && name.first != "_"
        guard ok else {
            throw fail(
                doc.valuePosition(["name"]),
                "name \(shown(name)) must be 1 to 32 characters of a-z, 0-9, '_' or '-', starting with a letter or digit (it names the workspaces)"
            )
        }
    }

    func resolveUser(_ name: String) throws -> TileUserPolicy {
        if name == "dynamic" { return .dynamic }
        guard !name.isEmpty, let pw = getpwnam(name) else {
            throw fail(
                doc.valuePosition(["user"]),
                "user \(shown(name)) does not exist on this host; write \"dynamic\" (a uid of its own for each tile) or name an existing unprivileged user"
            )
        }
        guard pw.pointee.pw_uid != 0, pw.pointee.pw_gid != 0 else {
            throw fail(
                doc.valuePosition(["user"]),
                "user \(shown(name)) is root; tiles must run unprivileged: write \"dynamic\" or name an unprivileged user")
        }
        return .named(TileUser(name: name, uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid))
    }

    /// A `[tiles.<kind>]` table: `count` tiles from `first`, with the links
    /// they name.
    struct TileGroup {
        let kind: String
        let first: Int
        let count: Int
        let inputs: [String]
        let outputs: [String]
        /// `affinity` as written in the kind's table.
        let affinity: String
    }

    func resolveTiles(_ table: TOMLTable) throws -> ([TileSpec], [TileGroup]) {
        // Boot order is the order the file names the kinds in.
        let names = table.keys
        var tiles: [TileSpec] = []
        var groups: [TileGroup] = []
        for kindName in names {
            let pos = doc.keyPosition(["tiles", kindName])
            guard let kind = kinds[kindName] else {
                throw fail(
                    pos,
                    "unknown tile kind \(shown(kindName)) in [tiles.\(quotedKey(kindName))]; known kinds: "
                        + kinds.names.joined(separator: ", "))
            }
            guard let t = table[kindName]?.table else {
                throw fail(
                    doc.valuePosition(["tiles", kindName]),
                    "tiles.\(kindName) must be a table, not \(table[kindName]!.typeName); write it as [tiles.\(kindName)]")
            }
            var r = TableReader(table: t, path: ["tiles", kindName], resolver: self)
            let count = try r.int("count", 1...kind.maxCount, default: 1)  // TopologyKeys.tile, bounded by the kind
            let inputs = try r.linkNames("inputs", kind.inputs)
            let outputs = try r.linkNames("outputs", kind.outputs)
            let idle = IdleStrategy(rawValue: try r.text(TopologyKeys.key(TopologyKeys.tile, "idle")))
            let affinity = try r.text(TopologyKeys.key(TopologyKeys.tile, "affinity"))
            var options: [String: OptionValue] = [:]
            for option in kind.options { options[option.key] = try r.option(option) }
            try r.rejectUnknown(TopologyKeys.tile.map(\.key) + kind.options.map(\.key))
            guard tiles.count + count <= TopologyLoader.maxTiles else {
                throw fail(
                    doc.valuePosition(["tiles", kindName, "count"]),
                    "the topology would have more than \(TopologyLoader.maxTiles) tiles; lower count")
            }
            groups.append(
                TileGroup(kind: kindName, first: tiles.count, count: count, inputs: inputs, outputs: outputs, affinity: affinity))
            for id in 0..<count {
                tiles.append(TileSpec(index: tiles.count, kind: kindName, kindId: id, options: options, idle: idle))
            }
        }
        for kind in kinds.all {
            guard let because = kind.requiredBecause, !tiles.contains(where: { $0.kind == kind.kind }) else { continue }
            let pos = table.keys.isEmpty ? doc.end : doc.keyPosition(["tiles"])
            throw fail(pos, "the topology has no \(kind.kind) tile; add a [tiles.\(kind.kind)] table \(because)")
        }
        return (tiles, groups)
    }
}

extension Resolver {
    /// Pins tiles to CPUs from `[layout] affinity` and the kinds' own
    /// `affinity` (Affinity.assign), or says which list cannot be honoured.
    func place(_ tiles: inout [TileSpec], _ groups: [TileGroup], layoutAffinity: String) throws {
        let pinsSomething = !layoutAffinity.isEmpty || groups.contains { !["layout", "floating", "pinned"].contains($0.affinity) }
        guard pinsSomething else { return }
        let allowedCPUs = self.allowedCPUs ?? Affinity.allowedCPUs()
        let layoutPos = doc.valuePosition(["layout", "affinity"])
        let layout: [Int]?
        switch layoutAffinity {
        case "": layout = nil
        case "auto": layout = allowedCPUs
        default: layout = try cpuList(layoutAffinity, at: layoutPos, key: "affinity")
        }
        var placement: [String: Affinity.KindPlacement] = [:]
        for g in groups {
            let floats = kinds[g.kind]!.floating
            switch g.affinity {
            case "layout": placement[g.kind] = floats ? .floating : .layout
            case "floating": placement[g.kind] = .floating
            case "pinned": placement[g.kind] = .layout
            default:
                let pos = doc.valuePosition(["tiles", g.kind, "affinity"])
                placement[g.kind] = .cpus(try cpuList(g.affinity, at: pos, key: "affinity", kindValues: true))
            }
        }
        switch Affinity.assign(
            kinds: tiles.map(\.kind), placement: placement, layout: layout, auto: layoutAffinity == "auto",
            allowed: allowedCPUs)
        {
        case .success(let cpus):
            for i in tiles.indices { tiles[i].cpus = cpus[i] }
        case .failure(.notAllowed(let cpu, let kind)):
            let allowed = Affinity.format(allowedCPUs)
            throw fail(
                kind.map { doc.valuePosition(["tiles", $0, "affinity"]) } ?? layoutPos,
                "affinity names CPU \(cpu), which tilectl may not use here (it may use \(allowed)); list CPUs from "
                    + "\(allowed), or write \"auto\"")
        case .failure(.tooFew(let n, let count, let kind)):
            if let kind {
                throw fail(
                    doc.valuePosition(["tiles", kind, "affinity"]),
                    "affinity lists \(n) CPU\(n == 1 ? "" : "s") for \(count) \(kind) tiles; list one CPU per tile")
            }
            throw fail(
                layoutPos,
                "affinity lists \(n) CPU\(n == 1 ? "" : "s") for \(count) pinned tiles; list one CPU per pinned tile, write "
                    + "\"auto\" to share CPUs, or let a kind float with [tiles.<kind>] affinity = \"floating\"")
        }
    }

    func cpuList(_ text: String, at pos: TOMLPosition, key: String, kindValues: Bool = false) throws -> [Int] {
        switch Affinity.parse(text) {
        case .success(let cpus): return cpus
        case .failure(let e):
            let others = kindValues ? "\"layout\", \"floating\", \"pinned\"" : "\"auto\", or \"\" to pin nothing"
            throw fail(
                pos,
                "\(key) = \(shown(text)) is not a CPU list (\(shown(e.part)) is not a CPU or a range); write CPUs and ranges "
                    + "such as \"0-7\" or \"1,3,5-9\", or \(others)")
        }
    }
}

/// Reads the keys of one table, remembering which were known.
struct TableReader {
    let table: TOMLTable
    let path: [String]
    let resolver: Resolver
    var seen: Set<String> = []

    var header: String { path.isEmpty ? "the top level" : "[\(path.map(quotedKey).joined(separator: "."))]" }

    func valuePos(_ key: String) -> TOMLPosition { resolver.doc.valuePosition(path + [key]) }

    func wrongType(_ key: String, _ expected: String, _ v: TOMLValue) -> ConfigError {
        resolver.fail(valuePos(key), "\(key) must be \(expected), not \(v.typeName)")
    }

    mutating func raw(_ key: String) -> TOMLValue? {
        seen.insert(key)
        return table[key]
    }

    mutating func string(_ key: String, default d: String) throws -> String {
        guard let v = raw(key) else { return d }
        guard let s = v.string else { throw wrongType(key, "a string", v) }
        return s
    }

    mutating func int(_ key: String, _ range: ClosedRange<Int>, default d: Int) throws -> Int {
        guard let v = raw(key) else { return d }
        guard let i = v.integer.map(Int.init) else { throw wrongType(key, "an integer from \(range.lowerBound) to \(range.upperBound)", v) }
        guard range.contains(i) else {
            throw resolver.fail(
                valuePos(key), "\(key) = \(i) is out of range; use an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return i
    }

    mutating func choice(_ key: String, _ choices: [String], default d: String) throws -> String {
        let expected = "one of " + choices.map { "\"\($0)\"" }.joined(separator: ", ")
        guard let v = raw(key) else { return d }
        guard let s = v.string else { throw wrongType(key, expected, v) }
        guard choices.contains(s) else {
            throw resolver.fail(valuePos(key), "\(key) = \(shown(s)) is not valid; use \(expected)")
        }
        return s
    }

    /// A sub-table, or an empty one when absent.
    mutating func table(_ key: String) throws -> TOMLTable {
        guard let v = raw(key) else { return TOMLTable() }
        guard let t = v.table else {
            throw resolver.fail(
                valuePos(key), "\(key) must be a table, not \(v.typeName); write it as [\((path + [key]).joined(separator: "."))]")
        }
        return t
    }

    mutating func option(_ o: TileOption) throws -> OptionValue {
        guard let v = raw(o.key) else { return o.defaultValue }
        switch o.type {
        case .integer(let range):
            return .integer(try int(o.key, range, default: 0))
        case .number(let range):
            let d: Double
            if let x = v.float { d = x } else if let i = v.integer { d = Double(i) } else { throw wrongType(o.key, o.expectation, v) }
            guard range.contains(d) else {
                throw resolver.fail(valuePos(o.key), "\(o.key) = \(d) is out of range; use \(o.expectation)")
            }
            return .float(d)
        case .boolean:
            guard let b = v.boolean else { throw wrongType(o.key, o.expectation, v) }
            return .boolean(b)
        case .choice(let choices):
            return .string(try choice(o.key, choices, default: ""))
        case .ipv4Address:
            guard let s = v.string else { throw wrongType(o.key, o.expectation, v) }
            guard parseIPv4(s) != nil else {
                throw resolver.fail(valuePos(o.key), "\(o.key) = \(shown(s)) is not an IPv4 address; use \(o.expectation)")
            }
            return .string(s)
        case .text:
            guard let s = v.string else { throw wrongType(o.key, o.expectation, v) }
            return .string(s)
        case .linkNames:
            preconditionFailure("link lists are read with linkNames(_:_:)")
        case .hostNames:
            return .strings(try hostNames(o, v))
        }
    }

    /// A list of host names: strings, each a DNS name (`isHostName`),
    /// listed once (in any case), at most `TileOption.maxHostNames`.
    func hostNames(_ o: TileOption, _ v: TOMLValue) throws -> [String] {
        guard let array = v.array else { throw wrongType(o.key, o.expectation, v) }
        guard array.count <= TileOption.maxHostNames else {
            throw resolver.fail(valuePos(o.key), "\(o.key) lists \(array.count) names; list at most \(TileOption.maxHostNames)")
        }
        var names: [String] = []
        for i in 0..<array.count {
            guard let name = array[i].string else {
                throw resolver.fail(valuePos(o.key), "\(o.key) must hold host names (strings), not \(array[i].typeName)")
            }
            guard isHostName(name) else {
                throw resolver.fail(
                    valuePos(o.key),
                    "\(o.key) lists \(shown(name)), which is not a host name; write names such as \"gui.example\" (letters, "
                        + "digits, hyphens, dots; IP addresses and localhost need no listing)")
            }
            guard !names.contains(where: { $0.lowercased() == name.lowercased() }) else {
                throw resolver.fail(valuePos(o.key), "\(o.key) lists \(shown(name)) twice; list each name once")
            }
            names.append(name)
        }
        return names
    }

    /// A string-valued key (text or choice), checked against its declaration.
    mutating func text(_ o: TileOption) throws -> String {
        guard case .string(let s) = try option(o) else { preconditionFailure("\(o.key) is not a string key") }
        return s
    }

    mutating func integer(_ o: TileOption) throws -> Int {
        guard case .integer(let i) = try option(o) else { preconditionFailure("\(o.key) is not an integer key") }
        return i
    }

    mutating func boolean(_ o: TileOption) throws -> Bool {
        guard case .boolean(let b) = try option(o) else { preconditionFailure("\(o.key) is not a boolean key") }
        return b
    }

    /// A list of link names, as many as `allowed` says the kind takes.
    mutating func linkNames(_ key: String, _ allowed: ClosedRange<Int>) throws -> [String] {
        var names: [String] = []
        if let v = raw(key) {
            guard let array = v.array else { throw wrongType(key, "an array of link names, like [\"source_verify\"]", v) }
            for i in 0..<array.count {
                guard let name = array[i].string else {
                    throw resolver.fail(valuePos(key), "\(key) must hold link names (strings), not \(array[i].typeName)")
                }
                guard !names.contains(name) else {
                    throw resolver.fail(valuePos(key), "\(key) names link \(shown(name)) twice; list each link once")
                }
                names.append(name)
            }
        }
        guard allowed.contains(names.count) else {
            let want =
                allowed.lowerBound == allowed.upperBound
                ? "exactly \(allowed.lowerBound)"
                : allowed.upperBound == Int.max ? "at least \(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)"
            let what = key == "inputs" ? "input" : "output"
            let pos = table[key] == nil ? resolver.doc.keyPosition(path) : valuePos(key)
            throw resolver.fail(
                pos, "\(header) takes \(want) \(what)\(allowed.upperBound == 1 ? "" : "s") in \(key); it lists \(names.count)")
        }
        return names
    }

    /// Rejects any key not read so far (or not in `allowed`).
    func rejectUnknown(_ allowed: [String]) throws {
        guard let key = table.keys.first(where: { !allowed.contains($0) }) else { return }
        let near = allowed.filter { editDistance($0, key) <= 2 }
        let hint = near.isEmpty ? "" : " (did you mean \"\(near[0])\"?)"
        throw resolver.fail(
            resolver.doc.keyPosition(path + [key]),
            "unknown key \(shown(key)) in \(header)\(hint); allowed keys: \(allowed.sorted().joined(separator: ", "))")
    }
}

/// Levenshtein distance, for "did you mean" on misspelt keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        prev = cur
    }
    return prev[b.count]
}
