import DeviceProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MFACore

/// The device API: enrollment with a single-use code, a long poll for pushes, signed answers. Every refusal is the
/// same 403 `{"error":"refused"}`, so a caller learns nothing about why.
struct DeviceAPIRoutes: Sendable {
    let store: any GatewayStore
    let push: PushCoordinator
    let audit: any AuditSink
    let clock: any WallClock
    let logger: Logger

    func register(on router: Router<CountersignRequestContext>) {
        router.get(RouterPath(stringLiteral: DeviceAPI.settingsPath)) { _, _ in
            try JSONResponse.make(DeviceSettings(requireUserVerification: push.userVerification != nil))
        }
        router.post(RouterPath(stringLiteral: DeviceAPI.enrollPath)) { request, context in
            try await enroll(request, context)
        }
        router.get(RouterPath(stringLiteral: DeviceAPI.pushesPath)) { request, context in
            try await pushes(request, context)
        }
        router.post("/v1/device/pushes/:id/answer") { request, context in
            try await answer(request, context)
        }
    }

    private func enroll(_ request: Request, _ context: CountersignRequestContext) async throws -> Response {
        guard let body = try? await request.decode(as: EnrollmentRequest.self, context: context),
            DeviceCrypto.publicKey(body.publicKey) != nil
        else { return JSONResponse.refused }
        // Checked before the code is spent: a device that cannot verify the user can try again with one that can.
        var credential: WebAuthnCredential?
        if let relyingParty = push.userVerification {
            guard let registration = body.webAuthn else {
                logger.warning("device enrollment refused: user verification is required and the device registered no WebAuthn credential")
                return try JSONResponse.make(DeviceAPIError.userVerificationRequired, status: .forbidden)
            }
            do {
                credential = try relyingParty.verify(registration, challenge: SignedMessage.webAuthnEnrollmentChallenge(code: body.code))
            } catch {
                logger.warning("device enrollment refused: WebAuthn registration", metadata: ["reason": "\(error.rawValue)"])
                return JSONResponse.refused
            }
        }
        guard let user = try await store.redeemEnrollmentCode(body.code, now: clock.now()) else {
            logger.warning("device enrollment refused: unknown, used or expired code")
            return JSONResponse.refused
        }
        let device = EnrolledDevice(
            id: SecureRandom.bytes(16).map { String(format: "%02x", $0) }.joined(), username: user,
            publicKey: body.publicKey, name: Self.printable(body.name), platform: Self.printable(body.platform),
            enrolledAt: clock.now(), webAuthn: credential)
        do {
            try await store.addDevice(device)
        } catch {
            logger.warning("device enrollment refused", metadata: ["user": "\(user)", "error": "\(error)"])
            return JSONResponse.refused
        }
        await audit.record(
            AuditEvent(
                time: clock.now(), type: .deviceEnrolled, user: user, resource: "device:\(device.name)",
                clientAddress: nil, result: .success, details: [
                    "device_id": device.id, "platform": device.platform, "user_verification": "\(credential != nil)",
                ]))
        return try JSONResponse.make(EnrollmentResponse(deviceID: device.id, user: user, serverPublicKey: push.serverPublicKey))
    }

    private func pushes(_ request: Request, _ context: CountersignRequestContext) async throws -> Response {
        guard let device = try await authenticate(request, method: "GET") else { return JSONResponse.refused }
        let wait = min(max(request.uri.queryParameters.get("wait", as: Int.self) ?? 25, 0), DeviceAPI.maximumWaitSeconds)
        let pushes = await push.pushes(forDevice: device.id, wait: .seconds(wait))
        return try JSONResponse.make(PushList(pushes: pushes))
    }

    private func answer(_ request: Request, _ context: CountersignRequestContext) async throws -> Response {
        guard let device = try await authenticate(request, method: "POST"), let pushID = context.parameters.get("id"),
            let body = try? await request.decode(as: PushAnswer.self, context: context)
        else { return JSONResponse.refused }
        let receipt: PushCoordinator.AnswerReceipt
        do {
            receipt = try await push.answer(
                pushID: pushID, decision: body.decision, signature: body.signature, deviceID: device.id, webAuthn: body.webAuthn)
        } catch {
            logger.warning("push answer refused", metadata: ["device": "\(device.id)", "reason": "\(error.rawValue)"])
            await audit.record(
                AuditEvent(
                    time: clock.now(), type: .pushAnswerRefused, user: device.username, resource: "device:\(device.name)",
                    result: .failure, error: error.rawValue, details: ["push_id": pushID, "device_id": device.id]))
            return JSONResponse.refused
        }
        try await store.touchDevice(id: device.id, at: clock.now())
        return try JSONResponse.make(PushAnswerReceipt(number: receipt.number))
    }

    /// The device signed its id, a timestamp within ±60 s and this call's method and path.
    private func authenticate(_ request: Request, method: String) async throws -> EnrolledDevice? {
        guard let deviceID = request.headers[HTTPField.Name(DeviceAPI.deviceHeader)!],
            let timestampText = request.headers[HTTPField.Name(DeviceAPI.timestampHeader)!],
            let timestamp = Int64(timestampText),
            let signature = request.headers[HTTPField.Name(DeviceAPI.signatureHeader)!],
            abs(Int64(clock.now().timeIntervalSince1970) - timestamp) <= DeviceAPI.timestampTolerance,
            let device = try await store.device(id: deviceID)
        else { return nil }
        let signed = SignedMessage.deviceAuth(deviceID: deviceID, timestamp: timestamp, method: method, path: request.uri.path)
        guard DeviceCrypto.verify(signature, of: signed, publicKey: device.publicKey) else {
            logger.warning("device call with a bad signature", metadata: ["device": "\(deviceID)"])
            return nil
        }
        return device
    }

    /// Names a device gives itself end up in logs and the CLI: printable and short.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }).prefix(64))
    }
}
