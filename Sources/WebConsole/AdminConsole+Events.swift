import Foundation
import Hummingbird
import MFACore

/// `/admin/events`: the audit log, filtered, in pages newest first; its download as CSV or JSON lines (streamed page
/// by page); and the JSON the page's live view polls for newer events.
extension AdminConsole {
    /// Events read per statement while a download streams.
    static let downloadBatch = 500

    func registerEvents<Context: WebSessionRequestContext>(on signedIn: RouterGroup<Context>) {
        signedIn.get("events") { request, context in try await eventsPage(request, context: context) }
        signedIn.get("events.csv") { request, _ in try download(request, format: .csv) }
        signedIn.get("events.jsonl") { request, _ in try download(request, format: .jsonLines) }
        signedIn.get("events/live") { request, _ in try await liveEvents(request) }
    }

    func eventsPage<Context: WebSessionRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let query = FormFields(request.uri.query ?? "")
        let filter: EventFilter
        do {
            filter = try Self.eventFilter(query)
        } catch let error as EventFilterError {
            return .redirect(to: "/admin/events?" + Self.message("error", error.message))
        }
        let before = query["before"].flatMap { Int64($0) }
        // One more than a page: whether there is a next one.
        var events = try await store.events(matching: filter, before: before, limit: Self.pageSize + 1)
        let more = events.count > Self.pageSize
        if more { events.removeLast() }
        let filterQuery = Self.filterQuery(query)
        // The live view asks for what is newer than the newest event so far (of any page: the first page shows it).
        let newest = before == nil ? events.first?.id : nil
        let content = EventsContent(
            user: query["user"] ?? "", type: query["type"] ?? "", resource: query["resource"] ?? "",
            since: query["since"] ?? "", until: query["until"] ?? "",
            results: ["", "success", "failure", "challenge"].map { value in
                ResultChoice(value: value, label: value.isEmpty ? "any" : value, selected: (query["result"] ?? "") == value)
            },
            rows: events.map(Self.eventRow),
            firstPage: before == nil ? nil : "/admin/events" + (filterQuery.isEmpty ? "" : "?" + filterQuery),
            nextPage: more ? "/admin/events?" + filterQuery + (filterQuery.isEmpty ? "" : "&") + "before=\(events.last?.id ?? 0)" : nil,
            csv: "/admin/events.csv" + (filterQuery.isEmpty ? "" : "?" + filterQuery),
            jsonLines: "/admin/events.jsonl" + (filterQuery.isEmpty ? "" : "?" + filterQuery),
            live: newest.map { "/admin/events/live?" + filterQuery + (filterQuery.isEmpty ? "" : "&") + "after=\($0)" }
                ?? (before == nil ? "/admin/events/live?" + filterQuery + (filterQuery.isEmpty ? "" : "&") + "after=0" : nil))
        return pages.render("events", page("Events", request, context: context, content: content))
    }

    enum DownloadFormat {
        case csv, jsonLines
    }

    /// Every event of the filter, newest first, written as it is read: a page of `downloadBatch` at a time, so that a
    /// big log never sits in memory.
    func download(_ request: Request, format: DownloadFormat) throws -> Response {
        let filter: EventFilter
        do {
            filter = try Self.eventFilter(FormFields(request.uri.query ?? ""))
        } catch let error as EventFilterError {
            throw HTTPError(.badRequest, message: error.message)
        }
        let store = self.store
        let body = ResponseBody { writer in
            if format == .csv { try await writer.write(ByteBuffer(string: EventExport.csvHeader)) }
            var before: Int64?
            while true {
                let events = try await store.events(matching: filter, before: before, limit: Self.downloadBatch)
                var text = ""
                for stored in events {
                    text += format == .csv ? EventExport.csvLine(stored) : EventExport.jsonLine(stored)
                }
                if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                guard events.count == Self.downloadBatch, let last = events.last else { break }
                before = last.id
            }
            try await writer.finish(nil)
        }
        let (type, name) = format == .csv ? ("text/csv; charset=utf-8", "events.csv") : ("application/x-ndjson", "events.jsonl")
        return Response(
            status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name)\""], body: body)
    }

    /// The live view's poll: events of the filter newer than `after`, oldest first, as JSON.
    func liveEvents(_ request: Request) async throws -> Response {
        let query = FormFields(request.uri.query ?? "")
        guard let after = query["after"].flatMap({ Int64($0) }), let filter = try? Self.eventFilter(query) else {
            throw HTTPError(.badRequest)
        }
        let events = try await store.events(matching: filter, after: after, limit: Self.pageSize)
        let rows = events.map { stored in
            let row = Self.eventRow(stored)
            return "{\"id\":\(stored.id),\"time\":\(JSONText.quoted(row.time)),\"type\":\(JSONText.quoted(row.type)),"
                + "\"user\":\(JSONText.quoted(row.user)),\"result\":\(JSONText.quoted(row.result)),"
                + "\"resource\":\(JSONText.quoted(row.resource ?? "")),\"client\":\(JSONText.quoted(row.client)),"
                + "\"error\":\(JSONText.quoted(row.error ?? "")),\"details\":\(JSONText.quoted(row.details))}"
        }
        let json = "{\"last\":\(events.last?.id ?? after),\"events\":[" + rows.joined(separator: ",") + "]}"
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
    }

    struct EventFilterError: Error {
        var message: String
    }

    /// The filter of a query: empty fields are no condition; times are UTC (`2026-12-02T09:30`, seconds optional).
    static func eventFilter(_ query: FormFields) throws -> EventFilter {
        func text(_ key: String) -> String? {
            query[key].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0.trimmingCharacters(in: .whitespaces) }
        }
        func time(_ key: String) throws -> Date? {
            guard let value = text(key) else { return nil }
            guard let date = parseTime(value) else { throw EventFilterError(message: "Not a time: \(value) (use 2026-12-02T09:30).") }
            return date
        }
        var result: AuditResult?
        if let value = text("result") {
            guard let parsed = AuditResult(rawValue: value) else { throw EventFilterError(message: "Not a result: \(value).") }
            result = parsed
        }
        return EventFilter(
            user: text("user"), type: text("type"), result: result, resource: text("resource"), since: try time("since"),
            until: try time("until"))
    }

    static func parseTime(_ text: String) -> Date? {
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-dd"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// The filter's fields of a query, encoded again for links (paging, downloads, the live view).
    static func filterQuery(_ query: FormFields) -> String {
        ["user", "type", "result", "resource", "since", "until"].compactMap { key in
            query[key].flatMap { $0.isEmpty ? nil : key + "=" + queryEncoded($0) }
        }.joined(separator: "&")
    }

    static func eventRow(_ stored: StoredEvent) -> LogRow {
        let event = stored.event
        return LogRow(
            id: stored.id, time: shown(event.time), type: event.type.rawValue, user: event.user ?? "", result: event.result.rawValue,
            resource: event.resource, client: event.clientAddress ?? "", error: event.error,
            details: event.details.keys.sorted().map { "\($0)=\(event.details[$0]!)" }.joined(separator: " "))
    }
}

/// The download formats: CSV (RFC 4180) and JSON lines, one event a line.
enum EventExport {
    static let csvHeader = "id,time,type,user,resource,client_address,result,error,details,node\r\n"

    static func csvLine(_ stored: StoredEvent) -> String {
        let event = stored.event
        let fields = [
            "\(stored.id)", isoTime(event.time), event.type.rawValue, event.user ?? "", event.resource ?? "", event.clientAddress ?? "",
            event.result.rawValue, event.error ?? "", StoredEvent.encodeDetails(event.details), event.node ?? "",
        ]
        return fields.map(csvField).joined(separator: ",") + "\r\n"
    }

    /// Quoted when it must be; a leading `=`, `+`, `-` or `@` gets a `'` so that a spreadsheet does not run a user
    /// name someone typed at a login prompt as a formula.
    static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func jsonLine(_ stored: StoredEvent) -> String {
        let event = stored.event
        var members = ["\"id\":\(stored.id)", "\"time\":" + JSONText.quoted(isoTime(event.time)), "\"type\":" + JSONText.quoted(event.type.rawValue)]
        if let user = event.user { members.append("\"user\":" + JSONText.quoted(user)) }
        if let resource = event.resource { members.append("\"resource\":" + JSONText.quoted(resource)) }
        if let client = event.clientAddress { members.append("\"client_address\":" + JSONText.quoted(client)) }
        members.append("\"result\":" + JSONText.quoted(event.result.rawValue))
        if let error = event.error { members.append("\"error\":" + JSONText.quoted(error)) }
        members.append("\"details\":" + StoredEvent.encodeDetails(event.details))
        if let node = event.node { members.append("\"node\":" + JSONText.quoted(node)) }
        return "{" + members.joined(separator: ",") + "}\n"
    }

    static func isoTime(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

struct EventsContent {
    var user: String
    var type: String
    var resource: String
    var since: String
    var until: String
    var results: [ResultChoice]
    var rows: [LogRow]
    var firstPage: String?
    var nextPage: String?
    var csv: String
    var jsonLines: String
    /// The live view's first poll: nil on later pages, which do not grow.
    var live: String?
}

struct ResultChoice {
    var value: String
    var label: String
    var selected: Bool
}

/// An event as the events page shows one.
struct LogRow {
    var id: Int64
    var time: String
    var type: String
    var user: String
    var result: String
    var resource: String?
    var client: String
    var error: String?
    var details: String
}
