import Foundation
import PackagePlugin

/// Embeds a target's `Assets/` files in its binary: before the target is
/// compiled, `embed-assets` writes `EmbeddedAssets.swift`, each file as a
/// raw string literal (`StaticString`: its bytes are in the binary as they
/// are, read at run time with no copy and no file system). A raw literal
/// compiles in milliseconds where an `[UInt8]` literal of the same bytes
/// takes the type checker seconds (measured: see the tool). Rerun when an
/// asset changes, and only then.
@main
struct EmbedAssetsPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        // The target's own directory (`Target.directoryURL` needs tools 6.1).
        let dir = context.package.directoryURL.appending(path: "Sources/\(target.name)/Assets")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let inputs = names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedAssets.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) assets into \(target.name)",
                executable: try context.tool(named: "embed-assets").url,
                arguments: [output.path] + inputs.map(\.path),
                inputFiles: inputs, outputFiles: [output])
        ]
    }
}
