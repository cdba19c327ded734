"""What the browser tests drive: `countersign serve` child processes with a generated configuration, a test CA made
with openssl, FreeRADIUS's radclient, headless Chromium through Selenium, and a tampering proxy."""
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "testing123"
# Waits for a peer only guard against a hang; scaled like the Swift tests' (Scripts/sanitizers).
SCALE = max(1.0, float(os.environ.get("COUNTERSIGN_TEST_TIMEOUT_SCALE", "1") or 1))
WAIT = 40 * SCALE
# A name Chromium resolves to 127.0.0.1 (--host-resolver-rules) that is not "localhost": a plain-HTTP origin there
# is not a secure context (127.0.0.0/8 and localhost would be).
REMOTE_NAME = "test.example"


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(arguments, input_text=None, check=True):
    result = subprocess.run(arguments, input=input_text, capture_output=True, text=True, timeout=120 * SCALE)
    if check and result.returncode != 0:
        raise AssertionError(f"{arguments[0]} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result


class CertificateAuthority:
    """A throw-away CA and a certificate it signed for localhost and 127.0.0.1 (P-256), as the Swift tests make."""

    def __init__(self, folder):
        os.makedirs(folder, exist_ok=True)
        self.ca = os.path.join(folder, "ca.pem")
        self.certificate = os.path.join(folder, "cert.pem")
        self.key = os.path.join(folder, "key.pem")
        extensions = os.path.join(folder, "cert.ext")
        with open(extensions, "w") as file:
            file.write("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
                       "extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n")
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256"]
        run(["openssl", "req", "-x509", *key, "-days", "2", "-keyout", os.path.join(folder, "ca.key"), "-out", self.ca,
             "-subj", "/O=Countersign browser tests/CN=Countersign browser test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        run(["openssl", "req", *key, "-keyout", self.key, "-out", os.path.join(folder, "cert.csr"), "-subj", "/CN=localhost"])
        run(["openssl", "x509", "-req", "-sha256", "-days", "2", "-in", os.path.join(folder, "cert.csr"), "-CA", self.ca,
             "-CAkey", os.path.join(folder, "ca.key"), "-CAcreateserial", "-extfile", extensions, "-out", self.certificate])


class Gateway:
    """`countersign serve` on free ports with its own store; the CLI pointed at the same configuration."""

    def __init__(self, binaries, folder, push="", tls=None, extra=""):
        self.binaries = binaries
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.http_port = free_port()
        self.radius_port = free_port(socket.SOCK_DGRAM)
        scheme = "https" if tls else "http"
        self.origin = f"{scheme}://localhost:{self.http_port}"
        tls_lines = f'certificate = "{tls.certificate}"\nprivate_key = "{tls.key}"\n' if tls else ""
        self.config = os.path.join(folder, "countersign.toml")
        with open(self.config, "w") as file:
            file.write(f"""[store]
path = "countersign.db"
[radius]
listen = ["127.0.0.1:{self.radius_port}"]
[[radius.clients]]
name = "localhost"
address = "127.0.0.1/32"
secret = "{SECRET}"
[http]
listen = "127.0.0.1:{self.http_port}"
public_url = "{self.origin}"
{tls_lines}[push]
{push}
[log]
format = "json"
{extra}""")
        os.chmod(self.config, 0o600)
        self.lines = []
        self.changed = threading.Condition()
        self.process = subprocess.Popen(
            [os.path.join(binaries, "countersign"), "serve", "--config", self.config],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_log("HTTP listening")
        self.wait_for_log("RADIUS listening")

    def _read(self):
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for_log(self, text):
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(text in line for line in self.lines) or self.process.poll() is not None, timeout=WAIT * 2)
            if not found or not any(text in line for line in self.lines):
                raise AssertionError(f"countersign serve never logged {text!r}: {self.lines[-20:]}")

    def cli(self, *arguments, input_text=None):
        return run([os.path.join(self.binaries, "countersign"), *arguments, "--config", self.config], input_text=input_text).stdout

    def add_user(self, name, password="pw"):
        self.cli("user", "add", name, "--password-stdin", input_text=password + "\n")

    def enroll(self, name, qr=None):
        """The enrollment's JSON: uri, url (the link), code, fingerprint, server."""
        return json.loads(self.cli("device", "enroll", name, "--json", *(["--qr", qr] if qr else [])))

    def has_device(self, name):
        return json.loads(self.cli("user", "show", name, "--json")).get("device") is not None

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Radclient:
    """One FreeRADIUS radclient request in the background; `result()` waits for its reply."""

    def __init__(self, gateway, user, password, extra=(), timeout=30):
        attributes = [f'User-Name = "{user}"', f'User-Password = "{password}"', "Message-Authenticator = 0x00", *extra]
        self.process = subprocess.Popen(
            ["radclient", "-x", "-4", "-r", "1", "-t", str(timeout * SCALE), f"127.0.0.1:{gateway.radius_port}", "auth", SECRET],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.process.stdin.write("\n".join(attributes) + "\n")
        self.process.stdin.close()

    def result(self):
        """(code, {attribute: value}, output) of the reply; code None when none came."""
        output = self.process.stdout.read()
        self.process.wait()
        match = re.search(r"Received (Access-\w+)", output)
        attributes = {}
        if match:
            for name, value in re.findall(r"^\s+([A-Za-z-]+) = (.*)$", output[match.end():], re.M):
                attributes[name] = value.strip('"')
        return (match.group(1) if match else None), attributes, output

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class Browser:
    """Headless Chromium on a profile folder that outlives it (so a restart finds IndexedDB as it was), 360 CSS
    pixels wide like a small phone, trusting the test CA through an NSS database of its own HOME."""

    def __init__(self, profile, home, ca=None):
        self.profile = profile
        self.home = home
        if ca:
            nssdb = os.path.join(home, ".pki", "nssdb")
            if not os.path.exists(os.path.join(nssdb, "cert9.db")):
                os.makedirs(nssdb, exist_ok=True)
                run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"])
                run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "countersign-test-ca", "-i", ca])
        self.start()

    def start(self):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
                         f"--host-resolver-rules=MAP {REMOTE_NAME} 127.0.0.1", "--window-size=360,800"]:
            options.add_argument(argument)
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 360, "height": 780, "pixelRatio": 1}})
        environment = dict(os.environ, HOME=self.home)
        service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver", env=environment)
        self.driver = webdriver.Chrome(service=service, options=options)

    def restart(self):
        self.driver.quit()
        self.start()

    def quit(self):
        self.driver.quit()

    def open(self, url):
        # From another document, so that a link that differs only in its fragment loads the page anew.
        self.driver.get("about:blank")
        self.driver.get(url)

    def wait(self, condition, timeout=WAIT):
        return WebDriverWait(self.driver, timeout).until(condition)

    def visible(self, css, timeout=WAIT):
        return self.wait(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)

    def text_of(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def push_card(self, timeout=WAIT):
        return self.visible("article.push", timeout)

    def no_push_card(self, timeout=WAIT):
        self.wait(lambda driver: not driver.find_elements(By.CSS_SELECTOR, "article.push"), timeout)

    def screenshot(self, name):
        folder = os.environ.get("COUNTERSIGN_SCREENSHOTS")
        if folder:
            os.makedirs(folder, exist_ok=True)
            self.driver.save_screenshot(os.path.join(folder, name))

    def script(self, source):
        return self.driver.execute_async_script(source)


# The stored device, read from IndexedDB as the page keeps it; calls back with a summary of what exportKey did.
EXPORT_PRIVATE_KEY = """
const done = arguments[arguments.length - 1];
const request = indexedDB.open("countersign", 1);
request.onerror = () => done({error: "no database"});
request.onsuccess = () => {
  const get = request.result.transaction("device").objectStore("device").get("device");
  get.onerror = () => done({error: "no record"});
  get.onsuccess = async () => {
    const device = get.result;
    if (!device) return done({error: "no device"});
    const summary = {extractable: device.privateKey.extractable, type: device.privateKey.type,
                     usages: device.privateKey.usages, user: device.user};
    for (const format of ["pkcs8", "jwk", "raw"]) {
      try {
        await crypto.subtle.exportKey(format, device.privateKey);
        summary[format] = "exported";
      } catch (error) {
        summary[format] = error.name;
      }
    }
    done(summary);
  };
};
"""


# Wraps the page's Notification constructor to note each notification in localStorage, which a test reads from
# another tab of the same origin while the page is in the background.
RECORD_NOTIFICATIONS = """
const Original = window.Notification;
window.Notification = class extends Original {
  constructor(title, options) {
    localStorage.setItem("countersign-test-notification", JSON.stringify({title, body: options && options.body, via: "page"}));
    super(title, options);
  }
};
Object.defineProperty(window.Notification, "permission", {get: () => Original.permission});
const showNotification = ServiceWorkerRegistration.prototype.showNotification;
ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
  localStorage.setItem("countersign-test-notification", JSON.stringify({title, body: options && options.body, via: "worker"}));
  return showNotification.call(this, title, options);
};
localStorage.removeItem("countersign-test-notification");
"""

# What the page's "notifications" button does once allowed: registers the service worker (phones show notifications
# only through one). Asynchronous: the last argument is Selenium's callback.
REGISTER_SERVICE_WORKER = """
const done = arguments[arguments.length - 1];
navigator.serviceWorker.register("authenticator/sw.js")
  .then(() => navigator.serviceWorker.getRegistration("authenticator/"))
  .then((registration) => done(registration ? registration.scope : null), (error) => done(String(error)));
"""


def rename_resources(listed, tampered):
    """Each push gets its resource renamed after the server signed it, so no signature verifies."""
    for push in listed.get("pushes", []):
        push["resource_name"] = "forged-" + push["resource_name"]
        tampered.append(push["id"])


def hold_until_expired(listed, tampered):
    """A list with pushes leaves only once they have all expired (a network that held it): genuine, signed, late."""
    pushes = listed.get("pushes", [])
    if pushes:
        time.sleep(max(0.0, max(push["expires"] for push in pushes) + 1 - time.time()))
        tampered.extend(push["id"] for push in pushes)


class TamperingProxy:
    """A test device's view of a forged or slow server: forwards everything to the gateway unchanged, except that
    each push list goes through `alter` first (by default every push's resource is renamed after the server signed
    it). Plain HTTP on localhost (a secure context); the gateway behind it is reached over HTTPS trusting the test
    CA. `tampered`: the ids of the pushes altered; `polls`: for each push list asked for, as the request arrived, how
    many pushes had been altered by then."""

    def __init__(self, gateway_port, ca, alter=rename_resources):
        context = ssl.create_default_context(cafile=ca)
        tampered = []
        self.tampered = tampered
        polls = []
        self.polls = polls

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *arguments):
                pass

            def forward(self):
                if self.command == "GET" and self.path.startswith("/v1/device/pushes"):
                    # As it arrives: the page asks again only once it has taken in the list before.
                    polls.append(len(tampered))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() not in ("host", "connection", "accept-encoding")}
                upstream = http.client.HTTPSConnection("localhost", gateway_port, context=context, timeout=WAIT * 2)
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                if self.command == "GET" and self.path.startswith("/v1/device/pushes") and response.status == 200:
                    listed = json.loads(data)
                    alter(listed, tampered)
                    data = json.dumps(listed).encode()
                upstream.close()
                try:
                    self.send_response(response.status)
                    for name, value in response.getheaders():
                        if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the page went away during a long poll

            do_GET = forward
            do_POST = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def temporary_folder(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def totp(secret, at=None):
    """RFC 6238's code (HMAC-SHA1, 6 digits, 30 s) of a base32 secret, as an authenticator app computes it."""
    import base64
    import hashlib
    import hmac
    import struct
    import time
    key = base64.b32decode(secret + "=" * ((8 - len(secret) % 8) % 8))
    digest = hmac.new(key, struct.pack(">Q", int((at or time.time()) // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def decode_qr(svg):
    """The text of an SVG QR code, decoded by zxing-cpp (Scripts/qr-decode)."""
    return run([os.path.join(REPOSITORY, "Scripts", "qr-decode"), "svg", svg]).stdout.strip()


def decode_page_qr(browser, folder, name):
    """The text of the QR code a page shows as inline SVG (`#qr svg`), decoded by zxing-cpp."""
    browser.visible("#qr svg")
    svg = os.path.join(folder, name)
    with open(svg, "w") as file:
        file.write(browser.driver.execute_script("return new XMLSerializer().serializeToString(document.querySelector('#qr svg'))"))
    return decode_qr(svg)


def totp_uri(issuer, account, secret):
    """The key URI the gateway hands an authenticator app for a standard (SHA1, 6 digits, 30 s) TOTP secret."""
    def quote(text):
        return urllib.parse.quote(text, safe="-._~@")
    return (f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={secret}&issuer={quote(issuer)}"
            "&algorithm=SHA1&digits=6&period=30")


class GatewayScenario(unittest.TestCase):
    """One gateway and one browser per class; the tests of a class run in order (their names are numbered). A class
    says how its gateway differs (`https`, `gateway_options`) and what it holds before the first test (`prepare`)."""

    # The folder of the built binaries, from the command line (`run_browser_tests`).
    binaries = None
    https = True

    @classmethod
    def gateway_options(cls):
        return {}

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def setUpClass(cls):
        cls.folder = temporary_folder(f"countersign-browser-{cls.__name__}-")
        cls.ca = CertificateAuthority(os.path.join(cls.folder, "tls"))
        cls.gateway = Gateway(GatewayScenario.binaries, os.path.join(cls.folder, "gateway"),
                              tls=cls.ca if cls.https else None, **cls.gateway_options())
        cls.browser = Browser(os.path.join(cls.folder, "profile"), os.path.join(cls.folder, "home"), ca=cls.ca.ca)
        cls.prepare()

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


def run_browser_tests(doc, cases):
    """The `main` of a browser test file: BIN_DIR from the command line, the cases COUNTERSIGN_BROWSER_TESTS names (all
    by default), and the closing line `browser: N passed, N failed` that Scripts/test adds to its total."""
    import sys
    if len(sys.argv) != 2:
        sys.exit(doc)
    GatewayScenario.binaries = os.path.abspath(sys.argv[1])
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    only = os.environ.get("COUNTERSIGN_BROWSER_TESTS")
    for case in cases:
        if not only or case.__name__ in only.split(","):
            suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"browser: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
