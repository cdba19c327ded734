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

    private var enrollment: DeviceEnrollment {
        DeviceEnrollment(store: store, clock: clock, userVerification: push.userVerification)
    }

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
        guard let body = try? await request.decode(as: EnrollmentRequest.self, context: context) else { return JSONResponse.refused }
        let device: EnrolledDevice
        do {
            device = try await enrollment.enroll(body)
        } catch .userVerificationRequired {
            logger.warning("device enrollment refused: user verification is required and the device registered no WebAuthn credential")
            return try JSONResponse.make(DeviceAPIError.userVerificationRequired, status: .forbidden)
        } catch {
            logger.warning("device enrollment refused", metadata: ["reason": "\(error)"])
            return JSONResponse.refused
        }
        let (user, credential) = (device.username, device.webAuthn)
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
}
