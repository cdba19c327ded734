// The authenticator's service worker: only so that phones (which show notifications only through one) can show
// "Sign-in request", and a tap brings the page back.
"use strict";

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const window of windows) {
        if (new URL(window.url).pathname.endsWith("/authenticator")) return window.focus();
      }
      return self.clients.openWindow("../authenticator");
    }),
  );
});
