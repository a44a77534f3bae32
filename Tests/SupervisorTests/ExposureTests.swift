#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import Testing

@testable import Shared
@testable import Supervisor

/// Every shipped configuration keeps every tile's exposure score at 1.0 or
/// below (`systemd-analyze security`'s "SAFE"), on this kernel.
struct ExposureTests {
    static let configs: [String] = {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
            .map { dir.appendingPathComponent($0).path }
    }()

    static var landlock: Int32? {
        let abi = Landlock.abiVersion()
        return abi > 0 ? abi : nil
    }

    @Test func thereAreShippedConfigurations() { #expect(Self.configs.count >= 2) }

    @Test(arguments: configs)
    func everyTileOfAShippedConfigurationScoresAtMostOne(_ path: String) throws {
        let topology = try TopologyLoader(kinds: Registry.production).load(path: path)
        let identity: ExposedIdentity =
            switch topology.user {
            case .dynamic: .own
            case .named(let u): .shared(u.name)
            }
        for kind in Set(topology.tiles.map(\.kind)) {
            let profile = SandboxProfile(kind: Registry.production[kind]!, topology: topology)
            let report = Exposure.tile(profile, identity: identity, landlockABI: Self.landlock)
            #expect(report.score <= 1.0, "\(path) \(kind): \(report.score) — \(report.costs.map { "\($0.name) \($0.detail)" })")
        }
    }

    /// The score moves with what a policy allows: the check is not vacuous.
    @Test func allowingCallsThatReachOutsideRaisesTheScore() throws {
        let topology = try TopologyLoader(kinds: Registry.production).load(path: Self.configs[0])
        let base = SandboxProfile(kind: Registry.production["synth"]!, topology: topology)
        let tight = Exposure.tile(base, identity: .own, landlockABI: 6).score
        let loose = Exposure.report(
            identity: .shared("nobody"), namespaces: ["user", "mount"], emptyRoot: true,
            policy: base.policy + SeccompPolicy(["openat", "socket", "execve"].map { SeccompRule($0, reason: "t") }),
            argumentFilters: true, badArchitectureKills: true, landlockABI: nil, memoryLimited: false,
            noExec: true, capabilitiesDropped: true, noNewPrivileges: true, notDumpable: true, ownKeyring: true,
            noTerminal: true, environmentCleared: true, exactDescriptors: true, noRealtime: true)
        #expect(tight == 0)
        #expect(loose.score > 1.0, "\(loose.score)")
        #expect(
            Set(loose.costs.map(\.name)).isSuperset(of: [
                "User", "PrivateNetwork", "SystemCallFilter", "RestrictAddressFamilies", "Landlock", "MemoryLimit",
            ]))
        // A shared named user alone stays within 1.0.
        #expect(Exposure.tile(base, identity: .shared("nobody"), landlockABI: 6).score <= 1.0)
    }
}
