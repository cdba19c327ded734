#!/usr/bin/env python3
"""The admin console in real headless Chromium (Debian's chromium and chromium-driver, Selenium 4.51.0), against a
real `countersign serve` over HTTPS, FreeRADIUS's radclient and countersign-device: an admin signs in with password
and code (setting TOTP up from the QR code, decoded by zxing-cpp), finds users, sees their MFA status, deletes a
device, unlocks a locked user and signs out.

    Tests/Browser/console_tests.py BIN_DIR    # BIN_DIR: `swift build --show-bin-path`

Prints one closing line `browser: N passed, N failed` (Scripts/test adds it to its total) and exits 1 on a failure.
With COUNTERSIGN_SCREENSHOTS=docs the README's screenshots are written there.
"""
import base64
import os
import shutil
import time
import unittest
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

import support
from support import Browser, CertificateAuthority, Gateway, Radclient

BINARIES = None


class AdminConsole(unittest.TestCase):
    """One gateway (HTTPS, three failures lock) and one browser; the tests run in order (their names are numbered)."""

    secret = None

    @classmethod
    def setUpClass(cls):
        cls.folder = support.temporary_folder("countersign-console-")
        cls.ca = CertificateAuthority(os.path.join(cls.folder, "tls"))
        cls.gateway = Gateway(BINARIES, os.path.join(cls.folder, "gateway"), tls=cls.ca, extra="[lockout]\nmax_failures = 3\n")
        cls.browser = Browser(os.path.join(cls.folder, "profile"), os.path.join(cls.folder, "home"), ca=cls.ca.ca)
        cls.gateway.cli("admin", "add", "root", "--password-stdin", input_text="admin pw\n")
        for user in ["alice", "alina", "bob", "carol"]:
            cls.gateway.add_user(user)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.gateway.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    @property
    def driver(self):
        return self.browser.driver

    def type_into(self, css, text):
        field = self.browser.visible(css)
        field.clear()
        field.send_keys(text)

    def sign_in_with_password(self):
        self.browser.open(f"{self.gateway.origin}/admin")
        self.browser.wait(lambda d: d.current_url.endswith("/admin/sign-in"))
        self.type_into("#name", "root")
        self.type_into("#password", "admin pw")
        self.browser.visible("#sign-in").click()
        self.browser.visible("#code")

    def search(self, text):
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.type_into("#q", text)
        self.browser.visible("#search").click()
        self.browser.wait(lambda d: f"q={urllib.parse.quote(text)}" in d.current_url)

    def row(self, user):
        return self.driver.find_element(By.CSS_SELECTOR, f'tr[data-user="{user}"]')

    def confirm_and_wait_for(self, notice):
        self.browser.wait(expected_conditions.alert_is_present()).accept()
        self.browser.wait(lambda d: d.find_elements(By.ID, "notice") and notice in d.find_element(By.ID, "notice").text)

    def test_1_the_first_sign_in_sets_up_totp_from_the_qr_code(self):
        self.browser.open(f"{self.gateway.origin}/admin")
        self.browser.wait(lambda d: d.current_url.endswith("/admin/sign-in"))
        self.browser.screenshot("console-sign-in.png")
        # A wrong password first: said, and nothing more.
        self.type_into("#name", "root")
        self.type_into("#password", "not it")
        self.browser.visible("#sign-in").click()
        self.assertIn("Wrong name or password.", self.browser.visible("#error").text)
        self.sign_in_with_password()
        source = self.browser.visible("#qr").get_attribute("src")
        prefix = "data:image/svg+xml;base64,"
        self.assertTrue(source.startswith(prefix))
        svg = os.path.join(self.folder, "admin-qr.svg")
        with open(svg, "wb") as file:
            file.write(base64.b64decode(source[len(prefix):]))
        uri = support.decode_qr(svg)
        self.assertTrue(uri.startswith("otpauth://totp/"), uri)
        secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
        self.assertEqual(self.browser.text_of("#secret").replace(" ", ""), secret)
        type(self).secret = secret
        self.browser.screenshot("console-totp-setup.png")
        self.type_into("#code", support.totp(secret))
        self.browser.visible("#confirm").click()
        self.browser.wait(lambda d: d.current_url.endswith("/admin/users"))
        self.assertEqual(self.browser.text_of("#count-users"), "4")
        # Readable at 360 px: nothing wider than the screen.
        self.assertLessEqual(self.driver.execute_script("return document.documentElement.scrollWidth"), 360)
        # The session cookie is out of the page's reach (HttpOnly).
        self.assertNotIn("countersign", self.driver.execute_script("return document.cookie"))
        self.assertFalse([line for line in self.gateway.lines if secret in line or "admin pw" in line])

    def test_2_the_status_column_follows_enrollment(self):
        self.search("ALI")
        rows = self.driver.find_elements(By.CSS_SELECTOR, "table.users tbody tr[data-user]")
        self.assertEqual([row.get_attribute("data-user") for row in rows], ["alice", "alina"])
        self.assertEqual(self.row("alice").find_element(By.CSS_SELECTOR, ".status").text, "none")
        self.gateway.cli("totp", "enroll", "alice")
        keystore = os.path.join(self.folder, "bob.json")
        support.run([os.path.join(BINARIES, "countersign-device"), "enroll", self.gateway.enroll("bob")["uri"],
                     "--keystore", keystore, "--name", "bob's phone", "--ca", self.ca.ca])
        self.search("ali")
        self.assertEqual(self.row("alice").find_element(By.CSS_SELECTOR, ".status").text, "TOTP")
        self.search("bob")
        self.assertEqual(self.row("bob").find_element(By.CSS_SELECTOR, ".status").text, "push")
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.assertEqual(self.browser.text_of("#count-enrolled"), "50%")
        self.browser.screenshot("console-users.png")

    def test_3_an_admin_deletes_a_device(self):
        self.search("bob")
        self.row("bob").find_element(By.LINK_TEXT, "bob").click()
        self.browser.wait(lambda d: d.find_element(By.ID, "user-name").text == "bob")
        self.assertIn("bob's phone", self.browser.text_of("#device"))
        self.assertIn("device_enrolled", self.browser.text_of("table.events"))
        self.browser.screenshot("console-user.png")
        self.browser.visible("button.delete-device").click()
        self.confirm_and_wait_for("Deleted the push device of bob.")
        self.assertEqual(self.browser.text_of("#mfa-status"), "none")
        self.assertFalse(self.gateway.has_device("bob"))
        self.assertIn("admin:web:root", self.browser.text_of("table.events"))

    def test_4_an_admin_unlocks_a_user_locked_by_failed_logins(self):
        for _ in range(3):
            code, _, output = Radclient(self.gateway, "carol", "wrong").result()
            self.assertEqual(code, "Access-Reject", output)
        self.search("carol")
        self.assertEqual(self.row("carol").find_element(By.CSS_SELECTOR, ".badge.locked").text, "locked")
        self.assertEqual(self.browser.text_of("#count-locked"), "1")
        self.row("carol").find_element(By.CSS_SELECTOR, "button.unlock").click()
        self.browser.wait(lambda d: d.find_elements(By.ID, "notice") and "Unlocked carol." in d.find_element(By.ID, "notice").text)
        self.assertEqual(self.row("carol").find_elements(By.CSS_SELECTOR, ".badge.locked"), [])
        self.assertEqual(self.browser.text_of("#count-locked"), "0")

    def test_5_signing_out_ends_the_session(self):
        self.browser.visible("#sign-out").click()
        self.browser.wait(lambda d: d.current_url.endswith("/admin/sign-in"))
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.browser.wait(lambda d: d.current_url.endswith("/admin/sign-in"))

    def test_6_after_the_setup_a_sign_in_asks_for_a_code_only(self):
        self.sign_in_with_password()
        self.assertEqual(self.driver.find_elements(By.ID, "qr"), [])
        # The code of test 1 is used: the next step's, which the one step of drift allows.
        self.type_into("#code", support.totp(self.secret, at=time.time() + 30))
        self.browser.visible("#confirm").click()
        self.browser.wait(lambda d: d.current_url.endswith("/admin/users"))
        events = self.gateway.cli("events", "--limit", "100")
        self.assertIn("admin_sign_in", events)


    def test_7_an_admin_filters_events_and_downloads_them(self):
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.browser.visible("#nav-events").click()
        self.browser.wait(lambda d: d.current_url.endswith("/admin/events"))
        self.type_into("#f-user", "carol")
        self.browser.visible("#filter").click()
        self.browser.wait(lambda d: "user=carol" in d.current_url)
        users = {cell.text for cell in self.driver.find_elements(By.CSS_SELECTOR, "table.events td.user")}
        self.assertEqual(users, {"carol"})
        self.assertIn("user_unlocked", self.browser.text_of("table.events"))
        self.browser.screenshot("console-events.png")
        # Chromium saves downloads where DevTools says; the file holds the filter's events only.
        downloads = os.path.join(self.folder, "downloads")
        os.makedirs(downloads, exist_ok=True)
        self.driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        self.browser.visible("#download-csv").click()
        path = os.path.join(downloads, "events.csv")
        self.browser.wait(lambda d: os.path.exists(path) and not os.path.exists(path + ".crdownload"))
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
        self.assertEqual(lines[0], "id,time,type,user,resource,client_address,result,error,details,node")
        self.assertTrue(len(lines) > 1 and all(",carol," in line for line in lines[1:]), lines)
        self.assertTrue(any(",user_unlocked,carol,admin:web:root," in line for line in lines[1:]), lines)

    def test_8_an_admin_changes_the_push_limit_and_resets_it(self):
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.browser.visible("#nav-settings").click()
        self.browser.wait(lambda d: d.current_url.endswith("/admin/settings"))
        self.assertIn("the configuration's value", self.browser.text_of("#limit-state"))
        self.type_into("#limit-maximum", "3")
        self.type_into("#limit-window", "120")
        self.browser.visible("#save-limit").click()
        self.browser.wait(lambda d: d.find_elements(By.ID, "notice") and "Saved push_limit." in d.find_element(By.ID, "notice").text)
        self.assertIn("at most 3 per 120 s", self.browser.text_of("#limit-state"))
        self.assertIn("overridden", self.browser.text_of("#limit-state"))
        self.browser.screenshot("console-settings.png")
        self.browser.visible("#reset-limit").click()
        # The page before shows a notice too: wait for the new page's address first.
        self.browser.wait(lambda d: "notice=Reset" in d.current_url)
        self.assertIn("Reset push_limit", self.browser.text_of("#notice"))
        self.assertIn("the configuration's value", self.browser.text_of("#limit-state"))
        events = self.gateway.cli("events", "--limit", "100")
        self.assertIn("settings_changed", events)


def use_binaries(path):
    global BINARIES
    BINARIES = path


def main():
    support.run_browser_tests(__doc__, [AdminConsole], use_binaries)


if __name__ == "__main__":
    main()
