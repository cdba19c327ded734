/// The release, in one place: `countersign --version`, the status endpoint and `Scripts/package` (which reads the
/// string literal below) all take it from here.
public enum CountersignVersion {
    public static let current = "0.9.0"
}
