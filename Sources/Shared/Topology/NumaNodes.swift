/// The host's NUMA nodes as sysfs lists them: which CPUs each one has, and
/// whether it has memory to bind a workspace to.
///
/// A tile pinned to CPUs of one node gets its workspace on that node, and a
/// link lives on its producer's node (the producer writes every line; the
/// consumers read them once, from wherever they are). A floating tile, or
/// one whose CPUs span nodes, is bound nowhere: the kernel's default
/// policy (the node that first touches a page) is as good as any guess.
package struct NumaNodes: Sendable, Equatable {
    /// CPU → the node it belongs to.
    package let nodeOfCPU: [Int: Int]
    /// Nodes with memory (a CPU-only node cannot hold a workspace).
    package let withMemory: Set<Int>

    package init(cpusOfNode: [Int: [Int]], withMemory: Set<Int>? = nil) {
        var map: [Int: Int] = [:]
        for (node, cpus) in cpusOfNode { for cpu in cpus { map[cpu] = node } }
        nodeOfCPU = map
        self.withMemory = withMemory ?? Set(cpusOfNode.keys)
    }

    /// The node every one of `cpus` is on, when that node has memory; nil
    /// when `cpus` is empty (not pinned), spans nodes, or the kernel has no
    /// NUMA support.
    package func node(of cpus: [Int]) -> Int? {
        guard let first = cpus.first, let node = nodeOfCPU[first], withMemory.contains(node) else { return nil }
        return cpus.allSatisfy({ nodeOfCPU[$0] == node }) ? node : nil
    }

    /// This host's nodes, read once. A kernel without NUMA support has no
    /// /sys/devices/system/node: then no workspace is bound.
    package static let host = read("/sys/devices/system/node")

    static func read(_ dir: String) -> NumaNodes {
        var cpusOfNode: [Int: [Int]] = [:]
        for entry in Files.list(dir) where entry.hasPrefix("node") {
            guard let node = Int(entry.dropFirst(4)),
                let text = try? Files.read("\(dir)/\(entry)/cpulist"),
                case .success(let cpus) = Affinity.parse(text.trimmingWhitespace)
            else { continue }
            cpusOfNode[node] = cpus
        }
        let memory = (try? Files.read("\(dir)/has_memory")).flatMap {
            if case .success(let nodes) = Affinity.parse($0.trimmingWhitespace) { return Set(nodes) }
            return nil
        }
        return NumaNodes(cpusOfNode: cpusOfNode, withMemory: memory)
    }
}
