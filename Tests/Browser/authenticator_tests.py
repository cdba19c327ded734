#!/usr/bin/env python3
"""The web authenticator in real headless Chromium (Debian's chromium and chromium-driver, Selenium 4.51.0), against
real `countersign serve` gateways and FreeRADIUS's radclient: issue 13's acceptance list.

    Tests/Browser/authenticator_tests.py BIN_DIR    # BIN_DIR: `swift build --show-bin-path`

Prints one closing line `browser: N passed, N failed` (Scripts/test adds it to its total) and exits 1 on a failure.
With COUNTERSIGN_SCREENSHOTS=docs the README's screenshots are written there.
"""
import json
import os

from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import Protocol, Transport, VirtualAuthenticatorOptions

import support
from support import GatewayScenario, Radclient, TamperingProxy, hold_until_expired

PUSH_TIMEOUT = 12


class Scenario(GatewayScenario):
    """A gateway whose pushes time out after PUSH_TIMEOUT seconds (plus `push_settings`), and the web authenticator."""

    push_settings = f"timeout = {PUSH_TIMEOUT}"

    @classmethod
    def gateway_options(cls):
        return {"push": cls.push_settings}

    def enroll_in_browser(self, link, screenshot=None):
        browser = self.browser
        browser.open(link)
        name = browser.visible("#device-name")
        self.assertTrue(name.get_attribute("value"), "the device name is filled in with a guess")
        if screenshot:
            browser.screenshot(screenshot)
        browser.visible("#enroll-button").click()
        browser.wait(lambda driver: driver.find_element(By.ID, "device-user").text != "")

    def enroll_through(self, proxy, user):
        """A new user whose page talks to the gateway through `proxy` (another origin, so another device store)."""
        self.gateway.add_user(user)
        self.enroll_in_browser(self.gateway.enroll(user)["url"].replace(self.gateway.origin, f"http://localhost:{proxy.port}"))

    def login_with_push(self, user, decision, extra=()):
        """A radclient login; the push appears on the page and gets `decision` clicked. Returns the reply and the card's
        text."""
        login = Radclient(self.gateway, user, "pw", extra=extra)
        try:
            card = self.browser.push_card()
            text = card.text
            card.find_element(By.CSS_SELECTOR, f"button.{decision}").click()
            code, attributes, output = login.result()
        finally:
            login.kill()
        self.browser.no_push_card()
        return code, attributes, output, text


class PushOverHTTPS(Scenario):
    """The page over HTTPS with the test CA: enrollment from the CLI's link (and its QR code), the key, approve,
    deny, timeout, a forged push, and a browser restart on the same profile."""

    def test_1_the_link_from_device_enroll_json_enrolls(self):
        self.gateway.add_user("bob")
        qr = os.path.join(self.folder, "bob.svg")
        enrollment = self.gateway.enroll("bob", qr=qr)
        self.assertEqual(support.decode_qr(qr), enrollment["url"])
        self.assertTrue(enrollment["url"].startswith(f"https://localhost:{self.gateway.http_port}/authenticator#code="))
        self.enroll_in_browser(enrollment["url"], screenshot="authenticator-enroll.png")
        driver = self.browser.driver
        self.assertEqual(driver.find_element(By.ID, "device-user").text, "bob")
        self.assertTrue(driver.execute_script("return window.isSecureContext"))
        # The spent code leaves the address bar and the history.
        self.assertEqual(driver.execute_script("return location.hash"), "")
        # Readable at 360 px: nothing wider than the screen.
        self.assertLessEqual(driver.execute_script("return document.documentElement.scrollWidth"), 360)
        self.assertTrue(self.gateway.has_device("bob"))
        # The code crossed the network once, in the enrollment's body: no log line holds it.
        self.assertFalse([line for line in self.gateway.lines if enrollment["code"] in line])
        # The code worked once.
        self.browser.open(enrollment["url"])
        self.browser.visible("#enroll-button").click()
        self.browser.wait(lambda d: "refused" in d.find_element(By.ID, "status").text)

    def test_2_the_private_key_cannot_be_exported(self):
        self.browser.open(f"{self.gateway.origin}/authenticator")
        self.browser.visible("#device-user")
        summary = self.browser.script(support.EXPORT_PRIVATE_KEY)
        self.assertEqual(summary["user"], "bob")
        self.assertFalse(summary["extractable"])
        self.assertEqual(summary["type"], "private")
        self.assertEqual(summary["usages"], ["sign"])
        for key_format in ["pkcs8", "jwk", "raw"]:
            self.assertEqual(summary[key_format], "InvalidAccessError", f"exportKey({key_format})")

    def test_2b_the_page_is_installable(self):
        # Chromium's own verdict on the manifest and icons (DevTools protocol).
        driver = self.browser.driver
        manifest = driver.execute_cdp_cmd("Page.getAppManifest", {})
        self.assertTrue(manifest["url"].endswith("/authenticator/manifest.webmanifest"), manifest)
        self.assertEqual(manifest.get("errors"), [], manifest)
        self.assertEqual(driver.execute_cdp_cmd("Page.getInstallabilityErrors", {})["installabilityErrors"], [])

    def test_3_approve_gives_access_accept(self):
        login = Radclient(self.gateway, "bob", "pw", extra=['Calling-Station-Id = "02-00-5e-10-00-01"'])
        try:
            card = self.browser.push_card()
            self.browser.wait(lambda d: card.find_element(By.CSS_SELECTOR, ".push-left").text.endswith(" s"))
            self.browser.screenshot("authenticator-push.png")
            text = card.text
            for shown in ["bob", "radius: localhost", "127.0.0.1", "02-00-5e-10-00-01"]:
                self.assertIn(shown, text)
            card.find_element(By.CSS_SELECTOR, "button.approve").click()
            code, _, output = login.result()
        finally:
            login.kill()
        self.assertEqual(code, "Access-Accept", output)
        self.browser.no_push_card()
        self.browser.wait(lambda d: d.find_element(By.ID, "status").text == "Approved.")

    def test_3b_a_push_while_the_tab_is_in_the_background_shows_a_notification(self):
        self.background_push_notifies(via="page")

    def test_3c_with_the_service_worker_the_notification_comes_through_it(self):
        # What phones need: the worker registered (as the page's button does once allowed) shows it.
        self.browser.open(f"{self.gateway.origin}/authenticator")
        scope = self.browser.driver.execute_async_script(support.REGISTER_SERVICE_WORKER)
        self.assertEqual(scope, f"{self.gateway.origin}/authenticator/")
        self.background_push_notifies(via="worker")

    def background_push_notifies(self, via):
        driver = self.browser.driver
        driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": self.gateway.origin, "permissions": ["notifications"]})
        self.browser.open(f"{self.gateway.origin}/authenticator")
        self.browser.wait(lambda d: d.find_element(By.ID, "device-user").text == "bob")
        driver.execute_script(support.RECORD_NOTIFICATIONS)
        page = driver.current_window_handle
        # Another tab in front: the page's document is hidden now.
        driver.switch_to.new_window("tab")
        driver.get(f"{self.gateway.origin}/healthz")
        login = Radclient(self.gateway, "bob", "pw")
        try:
            shown = self.browser.wait(lambda d: d.execute_script("return localStorage.getItem('countersign-test-notification')"))
            notification = json.loads(shown)
            self.assertEqual(notification["title"], "Sign-in request")
            self.assertEqual(notification["body"], "bob → radius:localhost")
            self.assertEqual(notification["via"], via)
            driver.close()
            driver.switch_to.window(page)
            self.browser.push_card().find_element(By.CSS_SELECTOR, "button.approve").click()
            code, _, output = login.result()
        finally:
            login.kill()
        self.assertEqual(code, "Access-Accept", output)
        self.browser.no_push_card()

    def test_4_deny_gives_access_reject(self):
        code, attributes, output, _ = self.login_with_push("bob", "deny")
        self.assertEqual(code, "Access-Reject", output)
        self.assertEqual(attributes.get("Reply-Message"), "Push denied")

    def test_5_nothing_clicked_rejects_at_the_timeout(self):
        login = Radclient(self.gateway, "bob", "pw")
        try:
            self.browser.push_card()
            # The card leaves by itself when its time is up, and the login is rejected then.
            self.browser.no_push_card(timeout=PUSH_TIMEOUT + support.WAIT)
            code, attributes, output = login.result()
        finally:
            login.kill()
        self.assertEqual(code, "Access-Reject", output)
        self.assertEqual(attributes.get("Reply-Message"), "Push timed out")

    def test_6_a_push_with_a_bad_server_signature_is_not_shown(self):
        # carol's page talks to the gateway through a proxy that alters every push after the server signed it.
        proxy = TamperingProxy(self.gateway.http_port, self.ca.ca)
        try:
            self.enroll_through(proxy, "carol")
            login = Radclient(self.gateway, "carol", "pw")
            try:
                self.browser.wait(lambda d: d.find_element(By.ID, "ignored").get_attribute("data-count") == "1")
                self.assertTrue(proxy.tampered)
                self.assertEqual(self.browser.driver.find_elements(By.CSS_SELECTOR, "article.push"), [])
                code, _, output = login.result()
            finally:
                login.kill()
            self.assertEqual(code, "Access-Reject", output)
            self.assertEqual(self.browser.driver.find_elements(By.CSS_SELECTOR, "article.push"), [])
        finally:
            proxy.stop()

    def test_6b_a_genuine_push_that_arrives_after_its_time_is_not_shown(self):
        # ida's page talks to the gateway through a proxy that holds each push list until its pushes have expired.
        proxy = TamperingProxy(self.gateway.http_port, self.ca.ca, alter=hold_until_expired)
        try:
            self.enroll_through(proxy, "ida")
            login = Radclient(self.gateway, "ida", "pw")
            try:
                code, attributes, output = login.result()
            finally:
                login.kill()
            self.assertEqual(code, "Access-Reject", output)
            self.assertEqual(attributes.get("Reply-Message"), "Push timed out")
            # The page has taken in the late list (it asked for the next one) and shows nothing; a late push is
            # not one that did not come from the server, so nothing is counted as ignored either.
            self.browser.wait(lambda d: any(count >= 1 for count in proxy.polls), timeout=PUSH_TIMEOUT + support.WAIT)
            self.assertEqual(self.browser.driver.find_elements(By.CSS_SELECTOR, "article.push"), [])
            self.assertFalse(self.browser.driver.find_element(By.ID, "ignored").is_displayed())
        finally:
            proxy.stop()

    def test_6c_a_link_whose_fingerprint_is_not_the_servers_saves_nothing(self):
        self.gateway.add_user("gina")
        link = self.gateway.enroll("gina")["url"]
        fingerprint = link.split("fp=")[1][:64]
        wrong = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
        self.browser.open(link.replace(f"fp={fingerprint}", f"fp={wrong}"))
        self.browser.visible("#enroll-button").click()
        self.browser.wait(lambda d: "does not match the link's fingerprint" in d.find_element(By.ID, "status").text)
        # bob's device is still the one this browser holds.
        self.browser.open(f"{self.gateway.origin}/authenticator")
        self.browser.wait(lambda d: d.find_element(By.ID, "device-user").text == "bob")

    def test_7_after_a_browser_restart_the_key_is_there_and_still_answers(self):
        self.browser.restart()
        self.browser.open(f"{self.gateway.origin}/authenticator")
        self.browser.wait(lambda d: d.find_element(By.ID, "device-user").text == "bob")
        summary = self.browser.script(support.EXPORT_PRIVATE_KEY)
        self.assertEqual((summary["user"], summary["pkcs8"]), ("bob", "InvalidAccessError"))
        code, _, output, _ = self.login_with_push("bob", "approve")
        self.assertEqual(code, "Access-Accept", output)


class NumberMatchingAndPlainHTTP(Scenario):
    """`push.number_matching` end to end with radclient; plain HTTP, where localhost is a secure context and a
    name on the network is not."""

    push_settings = f"timeout = {PUSH_TIMEOUT}\nnumber_matching = true"
    https = False

    def challenge(self):
        code, attributes, output = Radclient(self.gateway, "dave", "pw").result()
        self.assertEqual(code, "Access-Challenge", output)
        return attributes["State"]

    def approve_and_read_number(self):
        card = self.browser.push_card()
        card.find_element(By.CSS_SELECTOR, "button.approve").click()
        number = self.browser.visible("#number")
        self.browser.wait(lambda d: len(number.text) == 3)
        return number.text

    def test_1_the_number_shown_after_approve_gives_access_accept(self):
        self.gateway.add_user("dave")
        self.enroll_in_browser(self.gateway.enroll("dave")["url"])
        state = self.challenge()
        number = self.approve_and_read_number()
        self.assertTrue(number.isdigit())
        self.browser.screenshot("authenticator-number.png")
        code, _, output = Radclient(self.gateway, "dave", number, extra=[f"State = {state}"]).result()
        self.assertEqual(code, "Access-Accept", output)

    def test_2_a_wrong_number_gives_access_reject(self):
        state = self.challenge()
        number = self.approve_and_read_number()
        wrong = "000" if number != "000" else "001"
        code, attributes, output = Radclient(self.gateway, "dave", wrong, extra=[f"State = {state}"]).result()
        self.assertEqual(code, "Access-Reject", output)
        self.assertEqual(attributes.get("Reply-Message"), "Wrong number")

    def test_3_plain_http_from_a_network_name_says_https_is_needed_and_enrolls_nothing(self):
        self.gateway.add_user("erin")
        link = self.gateway.enroll("erin")["url"]
        self.browser.open(link.replace("://localhost:", f"://{support.REMOTE_NAME}:"))
        insecure = self.browser.visible("#insecure")
        self.assertIn("HTTPS is needed", insecure.text)
        driver = self.browser.driver
        self.assertFalse(driver.execute_script("return window.isSecureContext"))
        self.assertFalse(driver.find_element(By.ID, "enroll").is_displayed())
        self.assertFalse(self.gateway.has_device("erin"))
        # Nothing was spent: the same link still enrolls from localhost.
        self.enroll_in_browser(link)
        self.assertTrue(self.gateway.has_device("erin"))


class UserVerification(Scenario):
    """`push.require_user_verification` with Selenium's virtual authenticator (CTAP2, internal, with UV)."""

    push_settings = f"timeout = {PUSH_TIMEOUT}\nrequire_user_verification = true"

    def test_1_a_verified_user_approves(self):
        self.browser.open(f"{self.gateway.origin}/healthz")
        self.browser.driver.add_virtual_authenticator(VirtualAuthenticatorOptions(
            protocol=Protocol.CTAP2, transport=Transport.INTERNAL, has_resident_key=True, has_user_verification=True,
            is_user_consenting=True, is_user_verified=True))
        self.gateway.add_user("frank")
        self.enroll_in_browser(self.gateway.enroll("frank")["url"])
        self.assertEqual(len(self.browser.driver.get_credentials()), 1)
        code, _, output, _ = self.login_with_push("frank", "approve")
        self.assertEqual(code, "Access-Accept", output)

    def test_2_without_user_verification_the_approval_cannot_be_made(self):
        self.browser.driver.set_user_verified(False)
        login = Radclient(self.gateway, "frank", "pw")
        try:
            card = self.browser.push_card()
            card.find_element(By.CSS_SELECTOR, "button.approve").click()
            self.browser.wait(lambda d: "error" in d.find_element(By.ID, "status").get_attribute("class"))
            code, attributes, output = login.result()
        finally:
            login.kill()
        self.assertEqual(code, "Access-Reject", output)
        self.assertEqual(attributes.get("Reply-Message"), "Push timed out")


def main():
    support.run_browser_tests(__doc__, [PushOverHTTPS, NumberMatchingAndPlainHTTP, UserVerification])


if __name__ == "__main__":
    main()
