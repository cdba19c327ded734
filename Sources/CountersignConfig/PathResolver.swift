import Foundation

/// Lexical path resolution: relative paths in the config file are relative to the file, not to the daemon's cwd.
enum PathResolver {
    /// `path` made absolute against `base` (itself made absolute against the cwd), with `.` and `..` removed.
    static func absolute(_ path: String, base: String) -> String {
        let baseURL = URL(fileURLWithPath: base.isEmpty ? "." : base, isDirectory: true)
        return URL(fileURLWithPath: path, relativeTo: baseURL).standardizedFileURL.path
    }
}
