import Foundation
import PackagePlugin

/// Stamps the build with the git commit it was built from: before every
/// build, writes `BuildCommit.swift` (`let buildCommit = "<sha>"`, with
/// `-dirty` when the work tree differs from it, or `unknown` outside a git
/// checkout) into the target. The file is rewritten only when its text
/// changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = """
            set -u
            mkdir -p "$2"
            c=$(git -C "$1" rev-parse HEAD 2>/dev/null) || c=unknown
            if [ "$c" != unknown ] && ! git -C "$1" diff --quiet HEAD -- 2>/dev/null; then c="$c-dirty"; fi
            text="// Generated before each build by Plugins/BuildInfo: the commit built.
            let buildCommit = \\"$c\\""
            f="$2/BuildCommit.swift"
            if [ ! -f "$f" ] || [ "$(cat "$f")" != "$text" ]; then printf '%s\\n' "$text" > "$f"; fi
            """
        return [
            .prebuildCommand(
                displayName: "Stamping the git commit into \(target.name)", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, out.path], outputFilesDirectory: out)
        ]
    }
}
