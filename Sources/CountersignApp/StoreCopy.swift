import Foundation
import MFACore

/// `countersign store copy --to OTHER.toml`: everything of one store into another that is empty, SQLite to
/// PostgreSQL and back. Both must have the same store key: secrets and the server's signing key move sealed, so
/// enrolled apps and devices keep working.
public enum StoreCopy {
    public static func copy(from source: any GatewayStore, to target: any GatewayStore) async throws -> StoreCopySummary {
        // Spooled to a temporary file between the two: the source's read and the target's write are each one
        // transaction, on stores of different kinds, and memory stays flat whatever the store's size.
        let spool = try LineSpool()
        let encoder = JSONEncoder()
        try await source.forEachRecord { record in try spool.append(try encoder.encode(record)) }
        try spool.rewind()
        let decoder = JSONDecoder()
        return try await target.load {
            guard let line: [UInt8] = try spool.next() else { return nil }
            return try decoder.decode(StoreRecord.self, from: Data(line))
        }
    }
}
