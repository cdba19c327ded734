#!/usr/bin/env python3
"""The user portal in real headless Chromium (Debian's chromium and chromium-driver, Selenium 4.51.0), against a real
`countersign serve` over HTTPS and FreeRADIUS's radclient: an invited user opens the link, enrolls TOTP from the QR
code (decoded by zxing-cpp, not from the text), confirms a code and logs in through radclient; then signs in to the
portal with password and code, removes TOTP, and the next RADIUS login is refused; invited again, enrolls this
browser as its push device from the portal's link (its QR code decoded too), and approves a RADIUS login's push;
signs in to the portal with password and that push (approved in another tab), removes the device, and the next
RADIUS login is refused at once, with no push.

    Tests/Browser/portal_tests.py BIN_DIR    # BIN_DIR: `swift build --show-bin-path`

Prints one closing line `browser: N passed, N failed` (Scripts/test adds it to its total) and exits 1 on a failure.
With COUNTERSIGN_SCREENSHOTS=docs the README's screenshots are written there.
"""
import json
import os
import time
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

import support
from support import GatewayScenario, Radclient

# Clicks the portal's sign-in button when another tab of the origin sets "countersign-test-sign-in" in localStorage.
SIGN_IN_ON_STORAGE_EVENT = """
addEventListener("storage", (event) => {
  if (event.key === "countersign-test-sign-in") document.getElementById("sign-in").click();
});
"""


class UserPortal(GatewayScenario):
    """A gateway with one user, dana, who signs in to the portal."""

    secret = None
    # The newest TOTP step used so far: no code works twice.
    used_step = 0

    @classmethod
    def prepare(cls):
        cls.gateway.add_user("dana", "dana pw")

    def audit_events(self, **fields):
        """The audit events logged so far (one JSON line each) whose fields have these values."""
        with self.gateway.changed:
            lines = list(self.gateway.lines)
        events = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") == "audit" and all(event.get(key) == value for key, value in fields.items()):
                events.append(event)
        return events

    def wait_for_audit_event(self, seen=0, **fields):
        """The newest audit event with these fields, once the gateway has logged more than the `seen` it had."""
        with self.gateway.changed:
            self.gateway.changed.wait_for(lambda: len(self.audit_events(**fields)) > seen, timeout=support.WAIT)
        events = self.audit_events(**fields)
        self.assertGreater(len(events), seen, f"no new audit event {fields}")
        return events[-1]

    def fresh_code(self):
        """A code of a step later than any used, within the one step of drift the gateway allows."""
        while int(time.time() // 30) + 1 <= type(self).used_step:
            time.sleep(1)
        step = max(int(time.time() // 30), type(self).used_step + 1)
        type(self).used_step = step
        return support.totp(self.secret, at=step * 30 + 1)

    def test_1_an_invited_user_enrolls_totp_from_the_qr_code(self):
        link = self.gateway.cli("user", "invite", "dana", "--expires", "1d").strip()
        self.assertTrue(link.startswith(f"{self.gateway.origin}/portal/invite#"), link)
        self.browser.open(link)
        self.browser.wait(lambda d: self.browser.visible("#token").get_attribute("value") != "")
        # The page took the token out of the address bar.
        self.browser.wait(lambda d: "#" not in d.current_url)
        self.browser.screenshot("portal-invitation.png")
        self.browser.visible("#accept").click()
        self.browser.visible("#enrollment-only")
        self.assertEqual(self.driver.find_elements(By.ID, "events"), [])
        self.browser.visible("#add-totp").click()
        uri = support.decode_page_qr(self.browser, self.folder, "portal-qr.svg")
        # Exactly the key URI of the secret the page shows, for this account.
        shown = self.browser.text_of("#secret").replace(" ", "")
        self.assertEqual(uri, support.totp_uri("Countersign", "dana", shown))
        type(self).secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
        self.browser.screenshot("portal-totp-setup.png")
        self.type_into("#code", self.fresh_code())
        self.browser.visible("#confirm").click()
        self.browser.wait(lambda d: "/portal/sign-in" in d.current_url)
        self.assertIn("TOTP is enrolled", self.browser.text_of("#notice"))
        # The invitation worked once.
        self.browser.open(link)
        self.browser.wait(lambda d: self.browser.visible("#token").get_attribute("value") != "")
        self.browser.visible("#accept").click()
        self.assertIn("not valid", self.browser.visible("#error").text)
        code, _, output = Radclient(self.gateway, "dana", "dana pw," + self.fresh_code()).result()
        self.assertEqual(code, "Access-Accept", output)
        self.assertFalse([line for line in self.gateway.lines if self.secret in line or link.split("#")[1] in line])

    def test_2_the_user_signs_in_with_password_and_code_and_removes_totp(self):
        self.browser.open(f"{self.gateway.origin}/portal")
        self.browser.wait(lambda d: d.current_url.endswith("/portal/sign-in"))
        self.browser.screenshot("portal-sign-in.png")
        self.type_into("#name", "dana")
        self.type_into("#password", "dana pw")
        self.browser.visible("#sign-in").click()
        self.type_into("#code", self.fresh_code())
        self.browser.visible("#confirm").click()
        self.browser.wait(lambda d: d.current_url.endswith("/portal"))
        self.assertIn("Enrolled", self.browser.text_of("#totp"))
        events = self.browser.text_of("#events")
        self.assertIn("radius_auth", events)
        self.assertIn("portal_sign_in", events)
        # Readable at 360 px; the session cookie is out of the page's reach (HttpOnly).
        self.assertLessEqual(self.driver.execute_script("return document.documentElement.scrollWidth"), 360)
        self.assertNotIn("countersign", self.driver.execute_script("return document.cookie"))
        self.browser.screenshot("portal-factors.png")
        self.browser.visible("#remove-totp").click()
        self.browser.wait(expected_conditions.alert_is_present()).accept()
        self.browser.wait(lambda d: d.find_elements(By.ID, "notice") and "TOTP removed." in d.find_element(By.ID, "notice").text)
        self.assertEqual(self.browser.text_of("#totp"), "Not enrolled.")
        code, attributes, output = Radclient(self.gateway, "dana", "dana pw," + support.totp(self.secret)).result()
        self.assertEqual(code, "Access-Reject", output)

    def test_3_signing_out_ends_the_session(self):
        self.browser.visible("#sign-out").click()
        self.browser.wait(lambda d: d.current_url.endswith("/portal/sign-in"))
        self.browser.open(f"{self.gateway.origin}/portal")
        self.browser.wait(lambda d: d.current_url.endswith("/portal/sign-in"))


    def test_4_an_invited_user_enrolls_this_browser_from_the_portal(self):
        link = self.gateway.cli("user", "invite", "dana").strip()
        self.browser.open(link)
        self.browser.wait(lambda d: self.browser.visible("#token").get_attribute("value") != "")
        self.browser.visible("#accept").click()
        self.browser.visible("#add-device").click()
        enrollment = self.browser.visible("#enroll-this-browser").get_attribute("href")
        self.assertEqual(support.decode_page_qr(self.browser, self.folder, "device-qr.svg"), enrollment)
        self.browser.screenshot("portal-device.png")
        self.browser.visible("#enroll-this-browser").click()
        self.browser.visible("#enroll-button").click()
        self.browser.wait(lambda d: d.find_element(By.ID, "device-user").text != "")
        self.assertTrue(self.gateway.has_device("dana"))
        # The device the portal's link enrolled answers a RADIUS login's push.
        login = Radclient(self.gateway, "dana", "dana pw")
        try:
            self.browser.push_card().find_element(By.CSS_SELECTOR, "button.approve").click()
            code, _, output = login.result()
        finally:
            login.kill()
        self.assertEqual(code, "Access-Accept", output)

    def test_5_signed_in_with_push_the_user_removes_the_device_and_radius_no_longer_pushes(self):
        driver = self.driver
        # test_4 left the web authenticator, enrolled for dana, in this tab; the portal opens in another.
        authenticator = driver.current_window_handle
        self.browser.wait(lambda d: d.find_element(By.ID, "device-user").text == "dana")
        driver.switch_to.new_window("tab")
        portal = driver.current_window_handle
        self.browser.open(f"{self.gateway.origin}/portal/sign-in")
        self.type_into("#name", "dana")
        self.type_into("#password", "dana pw")
        # The POST waits for the push's answer, and a command to its tab would wait with it: the authenticator's tab
        # has the form sent, through a storage event (same origin).
        driver.execute_script(SIGN_IN_ON_STORAGE_EVENT)
        driver.switch_to.window(authenticator)
        driver.execute_script("localStorage.setItem('countersign-test-sign-in', String(Date.now()))")
        card = self.browser.push_card()
        self.assertIn("portal: web", card.text)
        card.find_element(By.CSS_SELECTOR, "button.approve").click()
        self.browser.no_push_card()
        self.browser.wait(lambda d: d.find_element(By.ID, "status").text == "Approved.")
        # The sign-in that made the push logs it once answered.
        push = self.wait_for_audit_event(type="push_mfa_attempt", user="dana", resource="portal:web")
        self.wait_for_audit_event(type="push_mfa_approved", user="dana", **{"details.push_id": push["details.push_id"]})
        driver.switch_to.window(portal)
        self.browser.wait(lambda d: d.current_url.endswith("/portal"))
        self.assertIn("push_mfa_approved", self.browser.text_of("#events"))
        self.browser.visible("#remove-device").click()
        self.browser.wait(expected_conditions.alert_is_present()).accept()
        self.browser.wait(lambda d: d.find_elements(By.ID, "notice") and "Device removed." in d.find_element(By.ID, "notice").text)
        self.assertEqual(self.browser.text_of("#device"), "None.")
        self.assertFalse(self.gateway.has_device("dana"))
        pushes = len(self.audit_events(type="push_mfa_attempt", user="dana"))
        refusal = {"type": "radius_auth", "user": "dana", "result": "failure", "error": "no_second_factor"}
        refusals = len(self.audit_events(**refusal))
        # Well inside the 45 s a push would wait for its answer: the reply comes at once or the login fails here.
        code, attributes, output = Radclient(self.gateway, "dana", "dana pw", timeout=10).result()
        self.assertEqual(code, "Access-Reject", output)
        self.assertEqual(attributes.get("Reply-Message"), "No second factor enrolled", output)
        self.wait_for_audit_event(seen=refusals, **refusal)
        self.assertEqual(len(self.audit_events(type="push_mfa_attempt", user="dana")), pushes)


def main():
    support.run_browser_tests(__doc__, [UserPortal])


if __name__ == "__main__":
    main()
