/// A page size a workspace can be backed by.
package enum PageSize: Int, Codable, Sendable, CaseIterable, Comparable {
    case normal = 4096
    case huge = 2_097_152
    case gigantic = 1_073_741_824

    package static func < (a: PageSize, b: PageSize) -> Bool { a.rawValue < b.rawValue }

    package var bytes: Int { rawValue }

    /// `4 KiB`, `2 MiB`, `1 GiB`.
    package var label: String {
        switch self {
        case .normal: "4 KiB"
        case .huge: "2 MiB"
        case .gigantic: "1 GiB"
        }
    }

    /// The kernel's per-size hugepage pool, under /sys/kernel/mm/hugepages.
    package var sysfsPool: String? {
        switch self {
        case .normal: nil
        case .huge: "/sys/kernel/mm/hugepages/hugepages-2048kB"
        case .gigantic: "/sys/kernel/mm/hugepages/hugepages-1048576kB"
        }
    }

    /// Where under the configured hugetlbfs directory this size is mounted.
    package var mountSubdirectory: String? {
        switch self {
        case .normal: nil
        case .huge: ".huge"
        case .gigantic: ".gigantic"
        }
    }

    /// The `pagesize=` mount option.
    package var mountOption: String? {
        switch self {
        case .normal: nil
        case .huge: "2M"
        case .gigantic: "1G"
        }
    }

    /// The directory workspace files of this page size live in.
    package func directory(hugetlbfsBase: String) -> String {
        switch self {
        case .normal: "/dev/shm"
        case .huge, .gigantic: hugetlbfsBase + "/" + mountSubdirectory!
        }
    }
}

/// What backs a run's workspaces, once decided.
package enum Backing: String, Codable, Sendable {
    case normal, huge, gigantic

    /// Under `gigantic`, only workspaces of at least 1 GiB use 1 GiB pages:
    /// rounding a few-MiB tile workspace up to a whole gigantic page would
    /// waste almost all of it.
    package func pageSize(forFootprint bytes: Int) -> PageSize {
        switch self {
        case .normal: .normal
        case .huge: .huge
        case .gigantic: bytes >= PageSize.gigantic.bytes ? .gigantic : .huge
        }
    }
}

/// Rounds `n` up to a multiple of `align` (a power of two).
@inline(__always)
package func alignUp(_ n: Int, _ align: Int) -> Int {
    precondition(align > 0 && align & (align - 1) == 0, "alignment \(align) is not a power of two")
    return (n + align - 1) & ~(align - 1)
}

/// Sizes in the units operators read: `34 MiB`, `4 KiB`, `1.5 GiB`.
package func formatBytes(_ n: Int) -> String {
    let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
    for (size, name) in units where n >= size {
        if n % size == 0 { return "\(n / size) \(name)" }
        let tenths = (n * 10 + size / 2) / size
        return "\(tenths / 10).\(tenths % 10) \(name)"
    }
    return "\(n) B"
}
