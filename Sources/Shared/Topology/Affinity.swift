import CShim

/// Which CPUs the tiles run on, as Firedancer's `[layout] affinity`: a CPU
/// list (`"0-7"`, `"1,3,5-9"`) hands one CPU to each pinned tile in topology
/// order; `"auto"` spreads them over the CPUs this process may use; `""`
/// pins nothing. Floating tiles (the metric tile by default, or a kind with
/// `affinity = "floating"`) share the listed CPUs no pinned tile took. A kind
/// may name its own list.
package enum Affinity {
    /// A parsed CPU list, ascending and without repeats.
    package static func parse(_ text: String) -> Result<[Int], ListError> {
        var cpus: Set<Int> = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let lo = Int(bounds[0]), lo >= 0,
                let hi = bounds.count == 2 ? Int(bounds[1]) : lo
            else { return .failure(ListError(part: String(part))) }
            guard hi >= lo, hi < maxCPUs else { return .failure(ListError(part: String(part))) }
            cpus.formUnion(lo...hi)
        }
        return .success(cpus.sorted())
    }

    /// Above any machine this runs on (the kernel's cpu_set_t is 1024 bits).
    package static let maxCPUs = 1024

    package struct ListError: Error, Equatable {
        /// The piece of the list that is not a CPU or a range.
        package let part: String
    }

    /// `[0, 1, 2, 5]` as `0-2,5`.
    package static func format(_ cpus: [Int]) -> String {
        var out: [String] = []
        var i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count && cpus[j + 1] == cpus[j] + 1 { j += 1 }
            out.append(i == j ? "\(cpus[i])" : "\(cpus[i])-\(cpus[j])")
            i = j + 1
        }
        return out.joined(separator: ",")
    }

    /// How a kind's tiles are placed.
    package enum KindPlacement: Equatable, Sendable {
        /// Pinned from `[layout] affinity`, in topology order.
        case layout
        /// Sharing the layout's CPUs no pinned tile took.
        case floating
        /// Pinned from the kind's own list, in order.
        case cpus([Int])
    }

    /// What went wrong placing tiles: which list, and why.
    package enum PlacementError: Error, Equatable {
        /// A CPU in a list this process may not use (absent or outside its mask).
        case notAllowed(cpu: Int, kind: String?)
        /// A list with fewer CPUs than the tiles it must pin.
        case tooFew(cpus: Int, tiles: Int, kind: String?)
    }

    /// The CPUs of each tile (empty: not pinned, anywhere). `layout` is the
    /// parsed `[layout] affinity` (nil: pin nothing; `allowed` for auto,
    /// which wraps around instead of failing when tiles outnumber CPUs).
    package static func assign(
        kinds: [String], placement: [String: KindPlacement], layout: [Int]?, auto: Bool, allowed: [Int]
    ) -> Result<[[Int]], PlacementError> {
        let allowedSet = Set(allowed)
        if let layout, let bad = layout.first(where: { !allowedSet.contains($0) }) {
            return .failure(.notAllowed(cpu: bad, kind: nil))
        }
        for (kind, p) in placement.sorted(by: { $0.key < $1.key }) {
            if case .cpus(let list) = p, let bad = list.first(where: { !allowedSet.contains($0) }) {
                return .failure(.notAllowed(cpu: bad, kind: kind))
            }
        }
        var result = [[Int]](repeating: [], count: kinds.count)
        var next = 0
        var nextOfKind: [String: Int] = [:]
        let pinnedFromLayout = kinds.filter { placement[$0] ?? .layout == .layout }.count
        if let layout, !auto, pinnedFromLayout > layout.count {
            return .failure(.tooFew(cpus: layout.count, tiles: pinnedFromLayout, kind: nil))
        }
        for (i, kind) in kinds.enumerated() {
            switch placement[kind] ?? .layout {
            case .layout:
                guard let layout, !layout.isEmpty else { continue }
                result[i] = [layout[next % layout.count]]
                next += 1
            case .cpus(let list):
                let k = nextOfKind[kind, default: 0]
                guard k < list.count else {
                    return .failure(.tooFew(cpus: list.count, tiles: kinds.filter { $0 == kind }.count, kind: kind))
                }
                result[i] = [list[k]]
                nextOfKind[kind] = k + 1
            case .floating:
                break
            }
        }
        // Floating tiles share what the pinned ones left of the layout's
        // CPUs (all of them when nothing is left); unpinned without a layout.
        if let layout {
            let taken = Set(result.joined())
            let left = layout.filter { !taken.contains($0) }
            for (i, kind) in kinds.enumerated() where placement[kind] == .floating {
                result[i] = left.isEmpty ? layout : left
            }
        }
        return .success(result)
    }

    /// CPUs that more than one spinning tile is pinned to, with those tiles:
    /// they will take turns, and each runs at a fraction of its speed.
    package static func sharedBySpinners(_ topology: Topology) -> [(cpu: Int, tiles: [String])] {
        var byCPU: [Int: [String]] = [:]
        for t in topology.tiles where t.cpus.count == 1 && topology.idle(of: t) == .spin {
            byCPU[t.cpus[0], default: []].append(t.name)
        }
        return byCPU.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

extension Affinity {
    /// The CPUs this process may run on (its affinity mask).
    package static func allowedCPUs() -> [Int] {
        var buf = [Int32](repeating: 0, count: maxCPUs)
        let n = cshim_sched_getaffinity(&buf, Int32(maxCPUs))
        return n > 0 ? buf[0..<Int(n)].map(Int.init) : []
    }

    /// Pins this process to `cpus` (the kernel migrates it at once).
    package static func pin(to cpus: [Int]) throws {
        let list = cpus.map(Int32.init)
        try Sys.check("sched_setaffinity(\(format(cpus)))", cshim_sched_setaffinity(list, Int32(list.count)))
    }
}
