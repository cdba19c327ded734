// The Countersign web authenticator: the device protocol of countersign-device (Sources/DeviceProtocol) in a
// browser. The P-256 key is made by WebCrypto as non-extractable and kept in IndexedDB; every push is shown only
// after its server signature verifies. No framework, no build step.
"use strict";

(() => {
  const PUSHES_PATH = "/v1/device/pushes";
  const DOMAIN = {
    pushRequest: "countersign/push-request/v1",
    pushAnswer: "countersign/push-answer/v1",
    deviceAuth: "countersign/device-auth/v1",
    webAuthnEnrollment: "countersign/webauthn-enrollment/v1",
  };
  const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
  const SIGNING = { name: "ECDSA", hash: "SHA-256" };
  const SAFE_ID = /^[A-Za-z0-9._~-]{1,200}$/;
  const DB = { name: "countersign", store: "device", key: "device" };
  const encoder = new TextEncoder();
  const $ = (id) => document.getElementById(id);

  // MARK: Bytes

  // Each field as a 4-octet big-endian length and its UTF-8 octets, after the domain (SignedMessage.bytes).
  function signedBytes(domain, fields) {
    const parts = [domain, ...fields].map((field) => encoder.encode(field));
    const out = new Uint8Array(parts.reduce((total, part) => total + 4 + part.length, 0));
    const view = new DataView(out.buffer);
    let offset = 0;
    for (const part of parts) {
      view.setUint32(offset, part.length);
      out.set(part, offset + 4);
      offset += 4 + part.length;
    }
    return out;
  }

  function pushRequestBytes(push) {
    const fields = [push.id, push.device_id, push.user, push.resource_kind, push.resource_name, push.client_address,
      String(push.created), String(push.expires), push.nonce];
    if (push.calling_station_id != null) fields.push(push.calling_station_id);
    return signedBytes(DOMAIN.pushRequest, fields);
  }

  const answerBytes = (push, decision, deviceID) =>
    signedBytes(DOMAIN.pushAnswer, [push.id, push.nonce, decision, deviceID]);

  const base64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));

  // Compares without stopping at the first difference.
  function sameText(a, b) {
    if (a.length !== b.length) return false;
    let difference = 0;
    for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
    return difference === 0;
  }

  // MARK: IndexedDB

  function openDatabase() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB.name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(DB.store);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function loadDevice() {
    const db = await openDatabase();
    return new Promise((resolve, reject) => {
      const request = db.transaction(DB.store).objectStore(DB.store).get(DB.key);
      request.onsuccess = () => resolve(request.result || null);
      request.onerror = () => reject(request.error);
    });
  }

  async function saveDevice(device) {
    const db = await openDatabase();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(DB.store, "readwrite");
      transaction.objectStore(DB.store).put(device, DB.key);
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
  }

  // MARK: Page state

  function status(text, isError = false) {
    const element = $("status");
    element.textContent = text;
    element.classList.toggle("error", isError);
  }

  function show(id, visible = true) { $(id).hidden = !visible; }

  // The device name offered: browser and system, from the user agent.
  function guessName() {
    const agent = navigator.userAgent;
    const system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iPhone"
      : /Macintosh/.test(agent) ? "Mac" : /Windows/.test(agent) ? "Windows" : /Linux/.test(agent) ? "Linux" : "this device";
    const browser = /Firefox\//.test(agent) ? "Firefox" : /Edg\//.test(agent) ? "Edge"
      : /Chrom(e|ium)\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : "Browser";
    return `${browser} on ${system}`;
  }

  // The code and fingerprint from the link's fragment, which the browser never sends to a server.
  function enrollmentLink() {
    const parameters = new URLSearchParams(location.hash.slice(1));
    const code = parameters.get("code");
    const fingerprint = (parameters.get("fp") || "").toLowerCase();
    if (!code || !/^[0-9a-f]{64}$/.test(fingerprint)) return null;
    return { code, fingerprint };
  }

  async function fetchJSON(url, options = {}) {
    const response = await fetch(url, { cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer", ...options });
    const body = await response.json().catch(() => ({}));
    return { response, body };
  }

  // MARK: Enrollment

  async function registerCredential(code, name) {
    if (!window.PublicKeyCredential) throw new Error("This browser has no WebAuthn, which this server requires.");
    const credential = await navigator.credentials.create({
      publicKey: {
        rp: { name: "Countersign" },
        user: { id: crypto.getRandomValues(new Uint8Array(16)), name, displayName: name },
        challenge: await sha256(signedBytes(DOMAIN.webAuthnEnrollment, [code])),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        authenticatorSelection: { authenticatorAttachment: "platform", userVerification: "required", residentKey: "discouraged" },
        attestation: "none",
        timeout: 120000,
      },
    });
    const publicKey = credential.response.getPublicKey();
    if (!publicKey) throw new Error("The authenticator made a key this page cannot use (P-256 is needed).");
    return {
      credential_id: base64(credential.rawId),
      public_key: base64(publicKey),
      authenticator_data: base64(credential.response.getAuthenticatorData()),
      client_data_json: base64(credential.response.clientDataJSON),
    };
  }

  async function enroll(link, name, settings) {
    const keys = await crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
    // WebCrypto's raw form is X9.63 (0x04 ‖ x ‖ y); the server's is x ‖ y.
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey)).slice(1);
    const request = { code: link.code, public_key: base64(publicKey), name, platform: "web" };
    if (settings.require_user_verification) request.webauthn = await registerCredential(link.code, name);
    const { response, body } = await fetchJSON("v1/device/enroll", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(request),
    });
    if (!response.ok) {
      const why = typeof body.error === "string" && body.error !== "refused" ? body.error
        : "the code is unknown, used or expired; ask for a new link";
      throw new Error(`Enrollment refused: ${why}.`);
    }
    if (typeof body.server_public_key !== "string" || typeof body.device_id !== "string" || typeof body.user !== "string"
      || !/^[\x21-\x7e]+$/.test(body.device_id)) {
      throw new Error("The server's answer is not an enrollment.");
    }
    const serverKey = fromBase64(body.server_public_key);
    if (serverKey.length !== 64 || !sameText(hex(await sha256(serverKey)), link.fingerprint)) {
      throw new Error("The server's key does not match the link's fingerprint: refusing (nothing saved).");
    }
    const device = {
      deviceID: body.device_id, user: body.user, name, privateKey: keys.privateKey, publicKey: keys.publicKey,
      serverKey: await crypto.subtle.importKey("raw", Uint8Array.of(4, ...serverKey), ECDSA, false, ["verify"]),
      credentialID: request.webauthn ? request.webauthn.credential_id : null,
    };
    await saveDevice(device);
    return device;
  }

  function showEnrollment(link, existing, settings) {
    show("enroll");
    $("device-name").value = guessName();
    if (existing) {
      $("enroll-note").textContent = `This browser is enrolled for ${existing.user} already; enrolling replaces that here.`;
      show("enroll-note");
    }
    $("enroll-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = $("device-name").value.trim() || guessName();
      $("enroll-button").disabled = true;
      status("Enrolling…");
      try {
        const device = await enroll(link, name, settings);
        // The code is spent: keep it out of the address bar and the history.
        history.replaceState(null, "", location.pathname + location.search);
        show("enroll", false);
        status(`Enrolled for ${device.user}.`);
        listen(device, settings);
      } catch (error) {
        status(error.message || String(error), true);
        $("enroll-button").disabled = false;
      }
    });
  }

  // MARK: Pushes

  async function authHeaders(device, method, path) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = await crypto.subtle.sign(SIGNING, device.privateKey,
      signedBytes(DOMAIN.deviceAuth, [device.deviceID, timestamp, method, path]));
    return {
      "Countersign-Device": device.deviceID,
      "Countersign-Timestamp": timestamp,
      "Countersign-Signature": base64(signature),
      Accept: "application/json",
    };
  }

  // True only for a push of the enrolled server, for this device, well-formed and not expired.
  async function isGenuine(device, push) {
    const strings = ["id", "device_id", "user", "resource_kind", "resource_name", "client_address", "nonce", "signature"];
    if (!strings.every((key) => typeof push[key] === "string")) return false;
    if (!Number.isSafeInteger(push.created) || !Number.isSafeInteger(push.expires)) return false;
    if (push.calling_station_id != null && typeof push.calling_station_id !== "string") return false;
    if (push.device_id !== device.deviceID || !SAFE_ID.test(push.id) || push.id === "." || push.id === "..") return false;
    let signature;
    try { signature = fromBase64(push.signature); } catch { return false; }
    if (signature.length !== 64) return false;
    return crypto.subtle.verify(SIGNING, device.serverKey, signature, pushRequestBytes(push));
  }

  async function assertion(device, push, decision) {
    const credential = await navigator.credentials.get({
      publicKey: {
        challenge: await sha256(answerBytes(push, decision, device.deviceID)),
        allowCredentials: [{ type: "public-key", id: fromBase64(device.credentialID) }],
        userVerification: "required",
        timeout: 60000,
      },
    });
    return {
      credential_id: base64(credential.rawId),
      authenticator_data: base64(credential.response.authenticatorData),
      client_data_json: base64(credential.response.clientDataJSON),
      signature: base64(credential.response.signature),
    };
  }

  async function answer(device, settings, push, decision) {
    const path = `/v1/device/pushes/${push.id}/answer`;
    const signature = await crypto.subtle.sign(SIGNING, device.privateKey, answerBytes(push, decision, device.deviceID));
    const body = { decision, signature: base64(signature) };
    if (settings.require_user_verification) body.webauthn = await assertion(device, push, decision);
    const headers = { ...(await authHeaders(device, "POST", path)), "Content-Type": "application/json" };
    return fetchJSON(path.slice(1), { method: "POST", headers, body: JSON.stringify(body) });
  }

  function notify(push) {
    if (document.visibilityState !== "hidden" || !("Notification" in window) || Notification.permission !== "granted") return;
    const title = "Sign-in request";
    const options = { body: `${push.user} → ${push.resource_kind}:${push.resource_name}`, tag: push.id, icon: "authenticator/icon-192.png" };
    // Phones show notifications only through a service worker; desktops also from the page.
    const viaWorker = "serviceWorker" in navigator
      ? navigator.serviceWorker.getRegistration("authenticator/").then((registration) => {
        if (!registration) throw new Error("no worker");
        return registration.showNotification(title, options);
      })
      : Promise.reject(new Error("no worker"));
    viaWorker.catch(() => { try { new Notification(title, options); } catch { /* not allowed here */ } });
  }

  function offerNotifications() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    const button = $("notify-button");
    show("notify-button");
    button.addEventListener("click", async () => {
      const permission = await Notification.requestPermission();
      if (permission === "granted" && "serviceWorker" in navigator) {
        await navigator.serviceWorker.register("authenticator/sw.js").catch(() => null);
      }
      show("notify-button", false);
    });
  }

  const delay = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

  function listen(device, settings) {
    show("device");
    $("device-user").textContent = device.user;
    $("device-label").textContent = device.name;
    offerNotifications();
    if (settings.require_user_verification && !device.credentialID) {
      status("This server now requires user verification: enroll this device again to approve sign-ins.", true);
    }
    const cards = new Map(); // id → { element, timer }
    const ignored = new Set();
    const answered = new Set();

    function removeCard(id) {
      const card = cards.get(id);
      if (!card) return;
      clearInterval(card.timer);
      card.element.remove();
      cards.delete(id);
      show("idle", cards.size === 0);
    }

    function showIgnored() {
      const element = $("ignored");
      element.textContent = `Ignored ${ignored.size} request${ignored.size === 1 ? "" : "s"} that did not come from your server.`;
      element.dataset.count = String(ignored.size);
      show("ignored");
    }

    function addCard(push) {
      const element = $("push-template").content.firstElementChild.cloneNode(true);
      element.dataset.pushId = push.id;
      element.querySelector(".push-user").textContent = push.user;
      element.querySelector(".push-resource").textContent = `${push.resource_kind}: ${push.resource_name}`;
      element.querySelector(".push-client").textContent = push.client_address || "unknown";
      if (push.calling_station_id != null) {
        element.querySelector(".push-station").textContent = push.calling_station_id;
      } else {
        element.querySelector(".push-station").remove();
        element.querySelector(".push-station-label").remove();
      }
      const left = element.querySelector(".push-left");
      const tick = () => {
        const seconds = Math.floor(push.expires - Date.now() / 1000);
        if (seconds <= 0) return removeCard(push.id);
        left.textContent = `${seconds} s`;
      };
      const buttons = element.querySelectorAll("button");
      const decide = async (decision) => {
        buttons.forEach((button) => { button.disabled = true; });
        status(decision === "approve" ? "Approving…" : "Denying…");
        try {
          const { response, body } = await answer(device, settings, push, decision);
          if (!response.ok) throw new Error("The server refused the answer (expired, or answered already).");
          answered.add(push.id);
          removeCard(push.id);
          if (decision === "approve" && typeof body.number === "string" && /^[0-9]{1,8}$/.test(body.number)) {
            $("number").textContent = body.number;
            show("number-box");
          } else {
            show("number-box", false);
          }
          status(decision === "approve" ? "Approved." : "Denied.");
        } catch (error) {
          const why = error && error.name === "NotAllowedError" ? "User verification failed; nothing was sent."
            : (error.message || String(error));
          status(why, true);
          buttons.forEach((button) => { button.disabled = false; });
        }
      };
      element.querySelector(".approve").addEventListener("click", () => decide("approve"));
      element.querySelector(".deny").addEventListener("click", () => decide("deny"));
      cards.set(push.id, { element, timer: setInterval(tick, 1000) });
      tick();
      $("pushes").append(element);
      show("idle", false);
      // The last approval's number belongs to that sign-in only.
      show("number-box", false);
      notify(push);
    }

    async function take(pushes) {
      const listed = new Set(pushes.map((push) => push.id));
      for (const id of [...cards.keys()]) if (!listed.has(id)) removeCard(id);
      for (const push of pushes) {
        if (typeof push !== "object" || push === null || typeof push.id !== "string") continue;
        if (cards.has(push.id) || ignored.has(push.id) || answered.has(push.id)) continue;
        if (!(await isGenuine(device, push))) {
          ignored.add(push.id);
          showIgnored();
          continue;
        }
        if (push.expires * 1000 > Date.now()) addCard(push);
      }
    }

    (async () => {
      show("idle");
      let failures = 0;
      for (;;) {
        let pushes;
        try {
          const { response, body } = await fetchJSON(`${PUSHES_PATH.slice(1)}?wait=25`, {
            headers: await authHeaders(device, "GET", PUSHES_PATH),
          });
          if (response.status === 401 || response.status === 403) {
            status("The server no longer accepts this device (deleted, or this device's clock is off by more than a minute). Enroll again.", true);
            return;
          }
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          pushes = Array.isArray(body.pushes) ? body.pushes : [];
          if (failures > 0) status("");
          failures = 0;
        } catch {
          failures += 1;
          status("Cannot reach the server; trying again…", true);
          await delay(Math.min(30, 2 ** failures) * 1000);
          continue;
        }
        await take(pushes);
        // A list with pushes comes back at once: ask again after a moment rather than in a loop.
        if (pushes.length > 0) await delay(1500);
      }
    })();
  }

  // MARK: Start

  async function main() {
    // WebCrypto and IndexedDB exist only in a secure context (https, or this machine).
    if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.indexedDB) {
      show("insecure");
      return;
    }
    const link = enrollmentLink();
    const settings = await fetchJSON("v1/device/settings").then(({ body }) => body).catch(() => ({}));
    let device = null;
    try {
      device = await loadDevice();
    } catch (error) {
      status(`This browser cannot keep a key here: ${error.message || error}`, true);
      return;
    }
    if (link) return showEnrollment(link, device, settings);
    if (!device) return show("none");
    listen(device, settings);
  }

  main();
})();
