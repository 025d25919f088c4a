#!/usr/bin/env python3
"""Browser test of the account journey, with JavaScript disabled.

Drives Debian's /usr/bin/chromium through /usr/bin/chromedriver (Selenium
Manager never downloads anything). Run by end2end/run.sh, which starts the
app and passes:

  E2E_BASE_URL     e.g. http://127.0.0.1:40123
  E2E_MAILBOX_DIR  the app's BIKRI_MAILBOX_DIR (one .eml file per mail)
  E2E_STARTED      optional: epoch seconds when run.sh started (for timing)

Checks (each counted in the closing "N passed, N failed" line):
  javascript_disabled  the browser really runs no page script
  signup_validation    a weak password is refused, the error is next to the field
  journey              signup -> verify via the mailbox -> login -> dashboard
                       -> logout -> the dashboard redirects to login
  catalog              create a product, edit its price, see it listed
  channels             connect a Page through the fake Meta dialog, pause it
  no_script            no visited page contains a <script element
  no_csp_violations    the browser log has no Content Security Policy errors
"""

import base64
import glob
import hashlib
import hmac
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import traceback
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE_URL = os.environ.get("E2E_BASE_URL", "http://127.0.0.1:3000").rstrip("/")
MAILBOX = os.environ.get("E2E_MAILBOX_DIR", "")
HERE = os.path.dirname(os.path.abspath(__file__))
SHOTS = os.path.join(HERE, "screenshots")

NAME = "Rahima Khatun"
EMAIL = "rahima.khatun@example.com"
PHONE = "01711-000000"
BUSINESS = "Rahima Fashion House"
WEAK_PASSWORD = "rahima12345678"
PASSWORD = "purple-river-lamp-9417"

WAIT = 15  # seconds for any one page or mail to appear



def gone(element):
    """Whether the page holding `element` was replaced. While Chromium swaps
    documents it may answer "Node with given id does not belong to the
    document" (a plain WebDriverException) instead of a stale-element error:
    that means replaced too. EC.staleness_of let it escape and failed a run."""
    try:
        element.is_enabled()
        return False
    except WebDriverException:
        return True

class CheckFailed(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


class Browser:
    """A headless Chromium with JavaScript disabled, recording every page."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="bikri-e2e-chrome.")
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            f"--user-data-dir={self.profile}",
        ):
            options.add_argument(arg)
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path="/usr/bin/chromedriver")
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(WAIT)
        self.pages = []  # (label, url, has_script)
        self.log = []  # browser log entries
        self.log_supported = True

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def drain_log(self):
        if not self.log_supported:
            return
        try:
            self.log.extend(self.driver.get_log("browser"))
        except Exception as error:  # the log API is not part of W3C WebDriver
            self.log_supported = False
            print(f"  note: browser log unavailable ({type(error).__name__}: {error})")

    def record(self, label):
        """Notes the current page: its URL, whether it has a <script, the log."""
        source = self.driver.page_source
        has_script = "<script" in source.lower()
        self.pages.append((label, self.driver.current_url, has_script))
        self.drain_log()
        return source

    def get(self, path, label):
        self.driver.get(BASE_URL + path)
        return self.record(label)

    def path(self):
        return urlsplit(self.driver.current_url).path

    def text(self):
        # A page that is being replaced (a redirect, a meta refresh) can drop
        # the body between finding and reading it: read the new one.
        for _ in range(20):
            try:
                return self.driver.find_element(By.TAG_NAME, "body").text
            except StaleElementReferenceException:
                time.sleep(0.1)
        return self.driver.find_element(By.TAG_NAME, "body").text

    def fill(self, fields):
        for name, value in fields.items():
            element = self.driver.find_element(By.NAME, name)
            element.clear()
            element.send_keys(value)

    def submit(self, button_text, label, expect_path):
        """Clicks the submit button with this text; waits for the next page."""
        button = self.driver.find_element(
            By.XPATH, f"//button[@type='submit'][normalize-space()='{button_text}']"
        )
        button.click()
        WebDriverWait(self.driver, WAIT).until(lambda d: gone(button))
        WebDriverWait(self.driver, WAIT).until(lambda d: self.path() == expect_path)
        return self.record(label)

    def screenshot(self, name):
        """Saves the whole page (not only the window) as PNG in screenshots/."""
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, name)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        content, viewport = metrics["cssContentSize"], metrics["cssLayoutViewport"]
        clip = {
            "x": 0,
            "y": 0,
            # The window's width: the layout loses its scrollbar once the
            # capture grows to the whole page, so clientWidth is too narrow.
            "width": max(content["width"], viewport["clientWidth"], self.driver.get_window_size()["width"]),
            "height": min(max(content["height"], viewport["clientHeight"]), 5000),
            "scale": 1,
        }
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"  screenshot: {os.path.relpath(path)}")


def wait_for_mail(kind):
    """Polls the mailbox for the first message of this kind; returns its text."""
    check(MAILBOX and os.path.isdir(MAILBOX), f"mailbox folder {MAILBOX!r} is missing")
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        files = sorted(glob.glob(os.path.join(MAILBOX, f"*-{kind}.eml")))
        if files:
            with open(files[0], encoding="utf-8") as f:
                text = f.read()
            if text.strip():
                return text
        time.sleep(0.1)
    present = sorted(os.listdir(MAILBOX))
    raise CheckFailed(f"no {kind} mail within {WAIT}s (mailbox holds {present})")


def test_javascript_disabled(b):
    b.driver.get(
        "data:text/html,<title>js-off</title><body><p id=p>js-off</p>"
        "<script>document.title='js-on';document.getElementById('p').textContent='js-on'</script>"
    )
    text = b.driver.find_element(By.ID, "p").text
    check(text == "js-off", f"a page script ran (paragraph reads {text!r}): JavaScript is not disabled")
    b.drain_log()  # this page is ours, not the app's: not recorded


def test_signup_validation(b):
    b.get("/signup", "signup")
    check(b.path() == "/signup", f"/signup ended at {b.driver.current_url}")
    b.fill({
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "business_name": BUSINESS,
        "password": WEAK_PASSWORD,
        "password_confirm": WEAK_PASSWORD,
    })
    b.submit("Create account", "signup: weak password refused", "/signup")
    errors = b.driver.find_elements(By.ID, "password-error")
    check(errors, "no element with id password-error after a weak password")
    error = errors[0]
    check(error.is_displayed() and error.text.strip(), "password-error is empty or hidden")
    print(f"  password error shown: {error.text.strip()!r}")
    # "Next to the field": in the same label, and tied to the input.
    label = error.find_element(By.XPATH, "./ancestor::label[1]")
    field = label.find_element(By.NAME, "password")
    check(field.get_attribute("aria-invalid") == "true", "the password input is not aria-invalid")
    check(
        field.get_attribute("aria-describedby") == "password-error",
        "the password input is not described by password-error",
    )
    # Values are kept, passwords never refilled.
    kept = b.driver.find_element(By.NAME, "business_name").get_attribute("value")
    check(kept == BUSINESS, f"business_name not kept after the error (got {kept!r})")
    check(field.get_attribute("value") == "", "the password was refilled")
    check(not b.driver.find_elements(By.ID, "name-error"), "the valid name was marked wrong")
    b.screenshot("signup-password-error.png")


def test_journey(b):
    # Sign up (fresh form values, whatever the previous attempt kept).
    if b.path() != "/signup":
        b.get("/signup", "signup")
    b.fill({
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "business_name": BUSINESS,
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    })
    b.submit("Create account", "login after signup", "/login")
    check("We sent a link to your email" in b.text(), "no 'We sent a link to your email' after signup")
    b.screenshot("login-after-signup.png")

    # Verify through the link in the mailbox.
    mail = wait_for_mail("verify_email")
    check(EMAIL in mail, "the verification mail is not addressed to the new email")
    links = re.findall(r"https?://[^\s<>\"']+/verify-email\?token=[^\s<>\"']+", mail)
    check(links, "no /verify-email?token= link in the verification mail")
    link = links[0]
    check(link.startswith(BASE_URL + "/"), f"the link {link} does not point at {BASE_URL}")
    b.driver.get(link)
    b.record("verify-email")
    check(b.path() == "/verify-email", f"the link ended at {b.driver.current_url}")
    b.screenshot("verify-email.png")
    b.submit("Confirm my email address", "login after verify", "/login")
    check("Your email is confirmed." in b.text(), "no 'Your email is confirmed.' after verifying")

    # Log in.
    b.fill({"email": EMAIL, "password": PASSWORD})
    b.submit("Log in", "dashboard", "/dashboard")
    check(f"Hello, {NAME}" in b.text(), f"the dashboard does not say 'Hello, {NAME}'")
    b.screenshot("dashboard.png")

    # Log out; the dashboard is then closed.
    b.submit("Log out", "login after logout", "/login")
    check("You are logged out." in b.text(), "no 'You are logged out.' after logging out")
    b.screenshot("logged-out.png")
    b.get("/dashboard", "dashboard while logged out")
    check(b.path() == "/login", f"/dashboard while logged out ended at {b.driver.current_url}")


def test_catalog(b):
    """Create a product, edit it, and see it listed."""
    b.get("/login", "login for catalog")
    b.fill({"email": EMAIL, "password": PASSWORD})
    b.submit("Log in", "dashboard for catalog", "/dashboard")
    b.get("/catalog/new", "new product")
    b.fill({"name": "Tangail cotton saree", "name_bn": "টাঙ্গাইল সুতি শাড়ি", "sku": "SAREE-01", "price": "1,250", "stock": "4"})
    button = b.driver.find_element(By.XPATH, "//button[@type='submit'][normalize-space()='Save product']")
    button.click()
    WebDriverWait(b.driver, WAIT).until(EC.staleness_of(button))
    WebDriverWait(b.driver, WAIT).until(lambda d: b.path().startswith("/catalog/") and b.path() != "/catalog/new")
    b.record("product page")
    product_path = b.path()
    check("Product created." in b.text(), "no 'Product created.' after saving a new product")
    price = b.driver.find_element(By.NAME, "price")
    check(price.get_attribute("value") == "1250", f"price shown as {price.get_attribute('value')!r}, not 1250")
    b.fill({"price": "1300"})
    b.submit("Save product", "product saved", product_path)
    check("Product saved." in b.text(), "no 'Product saved.' after editing")
    b.get("/catalog", "product list")
    body = b.text()
    check("Tangail cotton saree" in body and "1300" in body, "the edited product is not listed with its new price")
    check("টাঙ্গাইল সুতি শাড়ি" in body, "the Bangla name is not listed")
    b.screenshot("catalog.png")


def test_sandbox(b):
    """Chat as a customer on the sandbox channel; the agent answers from the catalog."""
    b.get("/sandbox", "sandbox")
    b.fill({"text": "tangail saree dam koto?"})
    b.submit("Send", "sandbox sent", "/sandbox")
    # With JavaScript off the page refreshes itself (meta refresh) until the reply is there.
    WebDriverWait(b.driver, WAIT).until(lambda d: "1,300" in b.text())
    b.record("sandbox answered")
    check("Agent" in b.text(), "the reply is not shown as the agent's")
    b.screenshot("sandbox.png")
    b.get("/inbox", "inbox")
    check("Sandbox customer" in b.text(), "the sandbox conversation is not in the inbox")
    b.screenshot("inbox.png")
    b.get("/playground?message=my+child+has+an+allergy%2C+is+it+safe%3F", "playground")
    check("review queue" in b.text() and "allergy" in b.text(), "the playground does not route an allergy question to review")


STAFF = {}


def totp(secret, at=None):
    """RFC 6238 code (SHA-1, 30 s, 6 digits), as an authenticator app shows it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000
    return f"{code:06d}"


def staff_browser():
    """A second browser for the staff member: log in, set up the second step once."""
    if "browser" in STAFF:
        return STAFF["browser"]
    s = Browser()
    STAFF["browser"] = s
    s.get("/login", "staff login")
    s.fill({"email": os.environ["E2E_STAFF_EMAIL"], "password": os.environ["E2E_STAFF_PASSWORD"]})
    s.submit("Log in", "staff second step", "/staff/totp")
    s.submit("Start set-up", "staff totp key", "/staff/totp")
    secret = s.driver.find_element(By.ID, "totp-secret").text.strip()
    s.fill({"code": totp(secret)})
    s.submit("Turn on two-step verification", "staff console", "/staff")
    check("Staff console" in s.text(), "the staff console did not open after the second step")
    return s


def open_owner(s):
    s.get("/staff/owners?email=" + EMAIL.split("@")[0], "staff owner search")
    s.driver.find_element(By.LINK_TEXT, EMAIL).click()
    WebDriverWait(s.driver, WAIT).until(lambda d: s.path().startswith("/staff/owners/"))
    return s.record("staff owner detail")


def test_staff_verifies_payment(b):
    """A staff member records the owner's bKash payment: the owner is verified."""
    s = staff_browser()
    open_owner(s)
    owner_path = s.path()
    check("trial" in s.text(), "the owner is not shown in the trial")
    s.fill({"amount": "1500", "reference": "8N7A6B5C4D"})
    s.submit("Record payment and verify", "payment recorded", owner_path)
    check("the owner is verified" in s.text(), "no confirmation after recording the payment")
    check("State: verified" in s.text(), "the owner's state did not become verified")
    s.screenshot("staff-owner.png")


def test_staff_suspends_owner(b):
    """The staff member suspends the owner with a reason; the owner's session ends."""
    s = staff_browser()
    open_owner(s)
    owner_path = s.path()
    s.fill({"reason": "Customers report parcels never arrive"})
    s.submit("Suspend this owner", "owner suspended", owner_path)
    check("Suspended." in s.text() and "State: suspended" in s.text(), "the suspension is not confirmed")
    s.get("/staff/audit?kind=account_suspended", "audit log")
    check("Customers report parcels never arrive" in s.text(), "the audit log does not show the suspension")
    s.screenshot("staff-audit.png")
    b.get("/dashboard", "owner after suspension")
    check(b.path() == "/login", f"the suspended owner's session still opens {b.path()}")
    b.fill({"email": EMAIL, "password": PASSWORD})
    b.driver.find_element(By.XPATH, "//button[@type='submit'][normalize-space()='Log in']").click()
    WebDriverWait(b.driver, WAIT).until(lambda d: "suspended" in b.text().lower())
    b.record("suspended login")
    s.drain_log()
    b.pages.extend(s.pages)
    b.log.extend(s.log)


def test_channels(b):
    """Connect a Page through the (fake) Meta Login dialog, then pause it."""
    b.get("/channels", "channels")
    link = b.driver.find_element(By.LINK_TEXT, "Connect with Facebook")
    link.click()
    WebDriverWait(b.driver, WAIT).until(lambda d: "/dialog/oauth" in d.current_url)
    check("BikriAgent" in b.text(), "the fake Meta dialog does not name the app")
    b.screenshot("meta-dialog.png")
    b.driver.find_element(By.ID, "continue").click()
    WebDriverWait(b.driver, WAIT).until(lambda d: b.path() == "/channels/connect")
    b.record("choose channels")
    check("Rahima Fashion House (Facebook Page)" in b.text(), "the granted Page is not offered")
    b.submit("Connect", "channels connected", "/channels")
    body = b.text()
    check("Connected:" in body and "Rahima Fashion House (Facebook Page)" in body, "the Page is not listed as connected")
    check("EAAG" not in b.driver.page_source, "a token reached the page")
    b.screenshot("channels.png")
    buttons = b.driver.find_elements(By.XPATH, "//button[normalize-space()='Pause auto-send']")
    check(buttons, "no Pause auto-send button")
    b.submit("Pause auto-send", "channel paused", "/channels")
    check("Automatic replies are paused" in b.text(), "pausing did not confirm")


def test_no_script(b):
    check(b.pages, "no page was visited")
    bad = [f"{label} ({url})" for label, url, has_script in b.pages if has_script]
    check(not bad, "pages with <script: " + "; ".join(bad))
    print(f"  {len(b.pages)} pages checked")


def test_no_csp_violations(b):
    b.drain_log()
    if not b.log_supported:
        print("  browser log unsupported by this driver: nothing to check")
        return
    print(f"  browser log: {len(b.log)} entries")
    for entry in b.log:
        print(f"    [{entry.get('level')}] {entry.get('message')}")
    csp = [
        e.get("message", "")
        for e in b.log
        if re.search(r"content[ -]security[ -]policy", e.get("message", ""), re.I)
    ]
    check(not csp, "CSP violations: " + " | ".join(csp))


def main():
    # Only this run's pictures: drop the ones an earlier run left.
    for old in glob.glob(os.path.join(SHOTS, "*.png")):
        os.remove(old)
    results = []
    browser = None
    try:
        browser = Browser()
    except WebDriverException as error:
        print(f"cannot start Chromium through chromedriver: {error}")
        results.append(("browser start", False))
    if browser is not None:
        tests = [
            test_javascript_disabled,
            test_signup_validation,
            test_journey,
            test_catalog,
            test_sandbox,
            test_staff_verifies_payment,
            test_channels,
            test_staff_suspends_owner,
            test_no_script,
            test_no_csp_violations,
        ]
        try:
            for test in tests:
                name = test.__name__.removeprefix("test_")
                print(f"- {name}")
                try:
                    test(browser)
                    results.append((name, True))
                    print(f"  PASS {name}")
                except Exception as error:
                    results.append((name, False))
                    print(f"  FAIL {name}: {error}")
                    if not isinstance(error, CheckFailed):
                        traceback.print_exc(file=sys.stdout)
                    try:
                        print(f"  at {browser.driver.current_url}")
                        shot = os.path.join(SHOTS, f"failure-{name}.png")
                        os.makedirs(SHOTS, exist_ok=True)
                        browser.driver.save_screenshot(shot)
                        print(f"  screenshot: {os.path.relpath(shot)}")
                    except Exception:
                        pass
        finally:
            browser.quit()
            if "browser" in STAFF:
                STAFF["browser"].quit()
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    started = os.environ.get("E2E_STARTED")
    if started and started.isdigit():
        print(f"browser test run took {int(time.time()) - int(started)}s in all (install, build, database, app, browser)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
