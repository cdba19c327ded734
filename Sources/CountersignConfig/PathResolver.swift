import Foundation

/// Lexical path resolution: relative paths in the config file are relative to the file, not to the daemon's cwd.
enum PathResolver {
    /// `path` made absolute against `base` (itself made absolute against the cwd), with `.` and `..` removed.
    static func absolute(_ path: String, base: String) -> String {
        let baseURL = URL(fileURLWithPath: base.isEmpty ? "." : base, isDirectory: true)
        return URL(fileURLWithPath: path, relativeTo: baseURL).standardizedFileURL.path
    }

    /// An optional path made absolute; nil and empty paths are kept so that validation reports them.
    static func absoluteIfSet(_ path: String?, base: String) -> String? {
        guard let path, !path.isEmpty else { return path }
        return absolute(path, base: base)
    }
}
