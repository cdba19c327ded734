#!/usr/bin/env python3
"""The admin console in real headless Chromium (Debian's chromium and chromium-driver, Selenium 4.51.0), against a
real `countersign serve` over HTTPS, FreeRADIUS's radclient and countersign-device: an admin signs in with password
and code (setting TOTP up from the QR code, decoded by zxing-cpp), finds users, sees their MFA status, deletes a
device, unlocks a locked user and signs out. Then what must be refused is refused by the real browser: a stored
name with `<script>` and `<b>` is shown as text on every page that shows it; a POST without the CSRF token or with a
wrong one gets 403 and changes nothing; a forged admin cookie (its MAC or its fields changed) and a user portal
session (under its own cookie or put into the admin cookie's name) open no console page and post nothing. An expired
cookie needs the gateway's clock moved, which only the Swift tests can (AdminConsoleTests).

    Tests/Browser/console_tests.py BIN_DIR    # BIN_DIR: `swift build --show-bin-path`

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

# The gateway serves HTTPS: the cookies are `__Host-` named (WebSession.cookieName).
ADMIN_COOKIE = "__Host-countersign-admin"
USER_COOKIE = "__Host-countersign-user"


class AdminConsole(GatewayScenario):
    """A gateway where three failures lock, an admin and four users."""

    secret = None

    @classmethod
    def gateway_options(cls):
        return {"extra": "[lockout]\nmax_failures = 3\n"}

    @classmethod
    def prepare(cls):
        cls.gateway.cli("admin", "add", "root", "--password-stdin", input_text="admin pw\n")
        for user in ["alice", "alina", "bob", "carol"]:
            cls.gateway.add_user(user)

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

    # Posts a form from the current page with fetch (same origin, the browser's cookies): the HTTP status, or
    # "redirect" for the 303 of an action done (not followed).
    POST = """
const [path, body, done] = arguments;
fetch(path, {method: "POST", body: new URLSearchParams(body), redirect: "manual", credentials: "same-origin"})
  .then((response) => done(response.type === "opaqueredirect" ? "redirect" : response.status), (error) => done(String(error)));
"""

    def post(self, path, fields):
        return self.driver.execute_async_script(self.POST, path, fields)

    def user_names(self):
        return [user["name"] for user in json.loads(self.gateway.cli("user", "list", "--json"))]

    def admin_cookie(self):
        return self.driver.get_cookie(ADMIN_COOKIE)

    def set_admin_cookie(self, value):
        """The admin cookie set as the gateway sets it: a `__Host-` cookie has no Domain, so none is given."""
        self.driver.delete_cookie(ADMIN_COOKIE)
        self.driver.add_cookie({"name": ADMIN_COOKIE, "value": value, "path": "/", "secure": True, "httpOnly": True,
                                "sameSite": "Strict"})
        # Chromium refuses a cookie it finds wrong without a word: a check that it holds this one.
        self.assertEqual(self.admin_cookie()["value"], value)

    def assert_sign_in_page(self, url):
        self.browser.open(url)
        self.browser.wait(lambda d: d.current_url.endswith("/admin/sign-in"))
        self.browser.visible("#sign-in")
        self.assertNotIn("alice", self.driver.page_source)

    def assert_only_the_pages_scripts(self):
        scripts = self.driver.execute_script("return [...document.scripts].map((s) => s.getAttribute('src'))")
        self.assertEqual(scripts, ["/admin/console.js", "/admin/events.js"])
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "main b, main script"), [])
        self.assertIsNone(self.driver.execute_script("return window.injected"))

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
        uri = support.decode_page_qr(self.browser, self.folder, "admin-qr.svg")
        # Exactly the key URI of the secret the page shows, for this account.
        shown = self.browser.text_of("#secret").replace(" ", "")
        self.assertEqual(uri, support.totp_uri("Countersign admin", "root", shown))
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
        support.run([os.path.join(self.binaries, "countersign-device"), "enroll", self.gateway.enroll("bob")["uri"],
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

    def test_9_a_stored_script_tag_is_text_and_a_post_without_the_csrf_token_is_refused(self):
        name = '<script>window.injected = 1</script><b>eve</b> & "co"'
        self.gateway.add_user(name)
        self.search("<script>")
        rows = [row for row in self.driver.find_elements(By.CSS_SELECTOR, "table.users tbody tr[data-user]")
                if row.get_attribute("data-user") == name]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0].find_element(By.CSS_SELECTOR, "td.name").text, name)
        self.assertIn("<script>", self.browser.text_of("table.users caption"))
        self.assert_only_the_pages_scripts()
        rows[0].find_element(By.CSS_SELECTOR, "td.name a").click()
        self.browser.wait(lambda d: d.find_elements(By.ID, "user-name") and d.find_element(By.ID, "user-name").text == name)
        self.assert_only_the_pages_scripts()
        page = self.driver.current_url
        path = urllib.parse.urlparse(page).path
        csrf = self.driver.find_element(By.CSS_SELECTOR, "form input[name=csrf]").get_attribute("value")
        # Without the token, and with a wrong one: 403, and the user is still there.
        self.assertEqual(self.post(path + "/delete", {"back": "/admin/users"}), 403)
        wrong = ("B" if csrf[0] == "A" else "A") + csrf[1:]
        self.assertEqual(self.post(path + "/delete", {"csrf": wrong, "back": "/admin/users"}), 403)
        self.assertIn(name, self.user_names())
        # For contrast, the same fetch with the token gets through (unlocking a user not locked changes nothing).
        self.assertEqual(self.post(path + "/unlock", {"csrf": csrf, "back": path}), "redirect")
        # The page's own form, with the token, deletes; the notice names the user as text.
        self.browser.visible("button.delete-user").click()
        self.confirm_and_wait_for(f"Deleted user {name}.")
        self.assert_only_the_pages_scripts()
        self.assertNotIn(name, self.user_names())

    # 9b, not 10: the tests run in name order, where test_10 comes before test_2.
    def test_9b_forged_cookies_and_a_user_session_open_no_console_page(self):
        # An expired cookie is left to the Swift test (aUserSessionAForgedAndAnExpiredCookieAreRefused): it needs the
        # gateway's clock moved, which the browser cannot do.
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.browser.visible("#count-users")
        genuine = self.admin_cookie()["value"]
        csrf = self.driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        # v1.ROLE.STAGE.NAME.ID.ISSUED.LASTSEEN.MAC (WebSessionSigner.encode): a MAC changed, or a field changed under the genuine MAC (an
        # issue time a day later, which would stretch the session's lifetime).
        fields = genuine.split(".")
        mac = fields[7]
        other_mac = ".".join(fields[:7] + [("B" if mac[0] == "A" else "A") + mac[1:]])
        later = ".".join(fields[:5] + [str(int(fields[5]) + 86400)] + fields[6:])
        for forged in [other_mac, later]:
            self.set_admin_cookie(forged)
            # A POST with the genuine session's token: refused before the token is looked at.
            self.assertEqual(self.post("/admin/users/alice/delete", {"csrf": csrf, "back": "/admin/users"}), 403)
            self.assert_sign_in_page(f"{self.gateway.origin}/admin/users")
        self.assertIn("alice", self.user_names())
        # A user portal session from an invitation, with no admin cookie at all.
        self.driver.delete_cookie(ADMIN_COOKIE)
        self.browser.open(self.gateway.cli("user", "invite", "alice").strip())
        self.browser.wait(lambda d: self.browser.visible("#token").get_attribute("value") != "")
        self.browser.visible("#accept").click()
        self.browser.visible("#enrollment-only")
        user = self.driver.get_cookie(USER_COOKIE)["value"]
        user_csrf = self.driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        self.assert_sign_in_page(f"{self.gateway.origin}/admin/users")
        self.assertEqual(self.post("/admin/users/alice/delete", {"csrf": user_csrf}), 403)
        # The same session under the admin cookie's name, and with its role rewritten to admin (the MAC kept).
        self.assertTrue(user.startswith("v1.user.enroll."), user)
        for value in [user, user.replace("v1.user.", "v1.admin.", 1)]:
            self.set_admin_cookie(value)
            self.assertEqual(self.post("/admin/users/alice/delete", {"csrf": user_csrf}), 403)
            self.assert_sign_in_page(f"{self.gateway.origin}/admin/users/alice")
        self.assertIn("alice", self.user_names())
        # For contrast, the genuine cookie (no state on the server) opens the console again.
        self.set_admin_cookie(genuine)
        self.browser.open(f"{self.gateway.origin}/admin/users")
        self.browser.wait(lambda d: d.current_url.endswith("/admin/users"))
        self.browser.visible("#count-users")
        self.assertEqual(self.post("/admin/users/alice/unlock", {"csrf": csrf}), "redirect")


def main():
    support.run_browser_tests(__doc__, [AdminConsole])


if __name__ == "__main__":
    main()
