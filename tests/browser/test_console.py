"""The web console as a new user and the administrator use it in a browser, and as an attacker
tries it: sign up, nothing to download before approval, approval, sign in, the credentials
bundle used with boto3, an instance seen and terminated from the page; wrong passwords, rate
limits, CSRF tokens missing or stale, scripts in every text field, a rejected request, and one
user's session against another's bundle."""

import configparser
import http.cookiejar
import re
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import boto3
import botocore.config
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from conftest import ADMIN_PASSWORD, admin, states, wait_for


def wait_download(folder, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == ".zip"]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"nothing was downloaded into {folder}: {list(folder.iterdir())}")


def clients_from(bundle, into):
    """boto3 clients made from nothing but the bundle's files."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(into)
    credentials, config = configparser.ConfigParser(), configparser.ConfigParser()
    credentials.read(into / "credentials")
    config.read(into / "config")
    session = boto3.Session(
        aws_access_key_id=credentials["default"]["aws_access_key_id"],
        aws_secret_access_key=credentials["default"]["aws_secret_access_key"], region_name=config["default"]["region"])
    return session.client("ec2", endpoint_url=config["default"]["endpoint_url"], config=botocore.config.Config(retries={"max_attempts": 1}))


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Plain:
    """A browser-less client with a cookie jar, for requests a page would never send; redirects
    are answers, not followed."""

    def __init__(self, base):
        self.base = base
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(self.jar), NoRedirects())

    def request(self, path, fields=None, cookie=None):
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        request = urllib.request.Request(self.base + path, data=data, method="POST" if data is not None else "GET")
        if cookie:
            request.add_header("Cookie", f"euca-session={cookie}")
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def csrf(self):
        _, body, _ = self.request("/login")
        return re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()


def test_sign_up_approve_download_launch_and_terminate(console, browser, tmp_path):
    # A new user asks for an account.
    browser.open("/signup")
    browser.fill(account="web-lab", user="wendy", email="wendy@example.org", password="wendy's passphrase",
                 password2="wendy's passphrase")
    browser.click("request")
    request_id = re.search(r"signup-[0-9a-f]{16}", browser.text("request-id")).group(0)

    # Before approval there is nothing to sign in to, and nothing to download.
    browser.sign_in("web-lab", "wendy", "wendy's passphrase")
    assert browser.text("error") == "Wrong account, user or password."
    status, _, _ = Plain(console.url).request("/credentials", {"csrf": "x"}, cookie=browser.cookie())
    assert status == 403
    assert list(browser.downloads.iterdir()) == []

    # The administrator sees the request and approves it.
    chief = browser.another()
    chief.sign_in("eucalyptus", "admin", ADMIN_PASSWORD)
    assert chief.driver.current_url.endswith("/admin")
    row = chief.driver.find_element(By.ID, request_id)
    assert "wendy@example.org" in row.text and "web-lab" in row.text
    chief.click(f"approve-{request_id}")
    assert f"Approved {request_id}." in chief.text("notice")
    assert "web-lab" in chief.driver.find_element(By.ID, "accounts").text
    assert "127.0.0.1" in chief.driver.find_element(By.ID, "nodes").text or chief.driver.find_elements(By.CSS_SELECTOR, "#nodes td")
    chief.sign_out()

    # Wendy signs in and downloads her credentials.
    browser.sign_in("web-lab", "wendy", "wendy's passphrase")
    assert browser.driver.current_url.endswith("/home")
    assert browser.text("whoami") == "wendy @ web-lab"
    browser.click("download")
    bundle = wait_download(browser.downloads)
    assert bundle.name == "web-lab-wendy.zip"
    ec2 = clients_from(bundle, tmp_path / "wendy")

    # With them, boto3 runs an instance; the page shows it, and terminates it.
    image = console.cloud.client().describe_images(Owners=["self"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_for(lambda: states(ec2, [instance]) == {instance: "running"}, what="wendy's instance running")
    browser.open("/home")
    row = browser.driver.find_element(By.ID, instance)
    assert "running" in row.find_element(By.CLASS_NAME, "state").text
    browser.click(f"terminate-{instance}")
    assert f"Terminating {instance}." in browser.text("notice")
    wait_for(lambda: states(ec2, [instance]) == {instance: "terminated"}, what="terminated from the page")
    browser.open("/home")
    assert browser.driver.find_element(By.ID, instance).find_element(By.CLASS_NAME, "state").text == "terminated"

    # She launches one from the page too, and boto3 sees it as hers.
    browser.click("launch")
    launched = re.search(r"i-[0-9a-f]{17}", browser.text("notice")).group(0)
    assert launched in {i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    ec2.terminate_instances(InstanceIds=[launched])


def test_wrong_passwords_are_refused_and_then_rate_limited(console, browser):
    console.user_with_password("limits", "larry", "larry's passphrase")
    answers = []
    for attempt in range(10):
        browser.sign_in("limits", "larry", f"wrong guess {attempt}")
        answers.append(browser.text("error"))
    assert answers[:5] == ["Wrong account, user or password."] * 5
    assert all(answer.startswith("Too many failed sign-ins") for answer in answers[5:])
    # Rate-limited, the right password is refused too; another user is not held up.
    browser.sign_in("limits", "larry", "larry's passphrase")
    assert browser.text("error").startswith("Too many failed sign-ins")
    console.user_with_password("limits2", "lucy", "lucy's passphrase")
    browser.sign_in("limits2", "lucy", "lucy's passphrase")
    assert browser.driver.current_url.endswith("/home")


def test_a_missing_or_stale_csrf_token_changes_nothing(console, browser):
    console.user_with_password("csrf-lab", "carl", "carl's passphrase")
    browser.sign_in("csrf-lab", "carl", "carl's passphrase")
    image = console.cloud.client().describe_images(Owners=["self"])["Images"][0]["ImageId"]
    before = browser.driver.find_element(By.ID, "instances").text

    # The launch form with its token taken out, then with another's.
    browser.driver.execute_script("document.querySelector('#launch-form input[name=csrf]').remove()")
    browser.click("launch")
    assert "This form has expired" in browser.text("message")
    browser.open("/home")
    browser.driver.execute_script("document.querySelector('#launch-form input[name=csrf]').value = 'AAAA'")
    browser.click("launch")
    assert "This form has expired" in browser.text("message")

    # A token from before sign-out does not work after it.
    plain = Plain(console.url)
    browser.open("/home")
    cookie = browser.cookie()
    token = browser.driver.find_element(By.CSS_SELECTOR, "#launch-form input[name=csrf]").get_attribute("value")
    browser.sign_out()
    status, _, _ = plain.request("/instances/run", {"csrf": token, "image": image, "type": "m1.small"}, cookie=cookie)
    assert status == 403
    # A login form's token from another browser does not work with this one's cookie.
    status, _, _ = plain.request("/login", {"csrf": plain.csrf(), "account": "csrf-lab", "user": "carl", "password": "carl's passphrase"},
                                 cookie="not-a-session")
    assert status == 403

    browser.sign_in("csrf-lab", "carl", "carl's passphrase")
    assert browser.driver.find_element(By.ID, "instances").text == before


PAYLOADS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)", "{{csrf}}"]


def no_script_ran(driver):
    driver.implicitly_wait(0)
    try:
        assert driver.find_elements(By.TAG_NAME, "script") == []
        assert driver.find_elements(By.CSS_SELECTOR, "img[src=x]") == []
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text
    finally:
        driver.implicitly_wait(2)


def test_scripts_in_every_text_field_are_shown_as_text(console, browser):
    for payload in PAYLOADS:
        browser.open("/signup")
        browser.fill(account=payload, user=payload, email=payload, password=payload + "12345678", password2=payload + "12345678")
        browser.driver.execute_script("for (const e of document.querySelectorAll('input')) e.removeAttribute('type')")
        browser.click("request")
        assert browser.text("error")
        for field in ("account", "user", "email"):
            assert browser.driver.find_element(By.ID, field).get_attribute("value") == payload
        no_script_ran(browser.driver)
        browser.sign_in(payload, payload, payload)
        assert browser.driver.find_element(By.ID, "account").get_attribute("value") == payload
        no_script_ran(browser.driver)

    # What users name through the API shows on their page as text.
    console.user_with_password("xss-lab", "xavier", "xavier's passphrase")
    key = admin(console.cloud, "create-access-key", "--account", "xss-lab", "--user", "xavier").split("\t")
    ec2 = boto3.client("ec2", endpoint_url=console.cloud.endpoint + "/", region_name=console.cloud.credentials["region"],
                       aws_access_key_id=key[1], aws_secret_access_key=key[2])
    for payload in PAYLOADS:
        ec2.create_key_pair(KeyName=payload)
        ec2.create_security_group(GroupName="g" + str(PAYLOADS.index(payload)), Description=payload)
    browser.sign_in("xss-lab", "xavier", "xavier's passphrase")
    shown = browser.driver.find_element(By.ID, "key-pairs").text + browser.driver.find_element(By.ID, "security-groups").text
    for payload in PAYLOADS:
        assert payload in shown
    no_script_ran(browser.driver)


def test_a_rejected_request_gives_nothing(console, browser):
    browser.open("/signup")
    browser.fill(account="refused-lab", user="rita", email="rita@example.org", password="rita's passphrase",
                 password2="rita's passphrase")
    browser.click("request")
    request_id = re.search(r"signup-[0-9a-f]{16}", browser.text("request-id")).group(0)
    assert "REJECTED" in admin(console.cloud, "reject-user", request_id)
    browser.sign_in("refused-lab", "rita", "rita's passphrase")
    assert browser.text("error") == "Wrong account, user or password."
    assert list(browser.downloads.iterdir()) == []
    assert "refused-lab" not in admin(console.cloud, "describe-accounts")
    assert request_id not in admin(console.cloud, "list-requests")


def test_one_users_session_is_no_key_to_anothers_bundle(console, browser, tmp_path):
    console.user_with_password("own-a", "alma", "alma's passphrase")
    console.user_with_password("own-b", "bert", "bert's passphrase")
    browser.sign_in("own-a", "alma", "alma's passphrase")
    alma_cookie = browser.cookie()
    alma_token = browser.driver.find_element(By.CSS_SELECTOR, "#credentials input[name=csrf]").get_attribute("value")
    other = browser.another()
    other.sign_in("own-b", "bert", "bert's passphrase")
    bert_cookie = other.cookie()
    bert_token = other.driver.find_element(By.CSS_SELECTOR, "#credentials input[name=csrf]").get_attribute("value")
    plain = Plain(console.url)

    # Alma's cookie with Bert's token, or Bert's cookie with Alma's: refused.
    assert plain.request("/credentials", {"csrf": bert_token}, cookie=alma_cookie)[0] == 403
    assert plain.request("/credentials", {"csrf": alma_token}, cookie=bert_cookie)[0] == 403
    # Alma's own pair gives Alma's bundle, whatever else the form names.
    status, body, headers = plain.request("/credentials", {"csrf": alma_token, "user": "bert", "account": "own-b"}, cookie=alma_cookie)
    assert status == 200 and "own-a-alma.zip" in headers["Content-Disposition"]
    (tmp_path / "alma.zip").write_bytes(body)
    with zipfile.ZipFile(tmp_path / "alma.zip") as archive:
        assert "user alma" in archive.read("eucarc").decode() and "bert" not in archive.read("eucarc").decode()
    # A new password for Alma ends her session: the old cookie opens nothing.
    admin(console.cloud, "set-password", "--account", "own-a", "--user", "alma", stdin="alma's new passphrase\n")
    status, _, headers = plain.request("/home", cookie=alma_cookie)
    assert status == 303 and headers["Location"] == "/login"
    assert plain.request("/credentials", {"csrf": alma_token}, cookie=alma_cookie)[0] == 403
    # Bert signs out: his cookie opens nothing any more.
    other.sign_out()
    assert plain.request("/credentials", {"csrf": bert_token}, cookie=bert_cookie)[0] == 403
    status, _, headers = plain.request("/home", cookie=bert_cookie)
    assert status == 303 and headers["Location"] == "/login"


def test_the_console_is_https_from_the_clouds_ca_with_safe_cookies(console):
    context = ssl.create_default_context(cafile=str(console.cloud.state / "ca" / "ca.crt"))
    with urllib.request.urlopen(console.url + "/login", context=context, timeout=30) as response:
        cookie = response.headers["Set-Cookie"]
        policy = response.headers["Content-Security-Policy"]
        certificate = response.fp.raw._sock.getpeercert()
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict"))
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert ("organizationalUnitName", "euca-console") in [pair for rdn in certificate["subject"] for pair in rdn]
    # Plain HTTP on the console's port gets no page.
    port = int(console.url.rsplit(":", 1)[1])
    with pytest.raises(Exception):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).read()


def test_a_password_marked_for_reset_must_be_changed_first(console, browser):
    admin(console.cloud, "create-account", "reset-lab")
    key = admin(console.cloud, "create-access-key", "--account", "reset-lab", "--user", "admin").split("\t")
    iam = boto3.client("iam", endpoint_url=console.cloud.endpoint + "/services/Euare", region_name=console.cloud.credentials["region"],
                       aws_access_key_id=key[1], aws_secret_access_key=key[2])
    iam.create_user(UserName="tina")
    iam.create_login_profile(UserName="tina", Password="temporary passphrase", PasswordResetRequired=True)
    browser.sign_in("reset-lab", "tina", "temporary passphrase")
    assert browser.driver.current_url.endswith("/password") and "must be changed" in browser.text("notice")
    browser.open("/home")
    assert browser.driver.current_url.endswith("/password")
    browser.fill(current="not the one", password="tina's own passphrase", password2="tina's own passphrase")
    browser.click("change")
    assert browser.text("error") == "The current password is wrong."
    browser.fill(current="temporary passphrase", password="tina's own passphrase", password2="tina's own passphrase")
    browser.click("change")
    assert browser.driver.current_url.endswith("/login") and "sign in with the new one" in browser.text("notice")
    browser.sign_in("reset-lab", "tina", "temporary passphrase")
    assert browser.text("error") == "Wrong account, user or password."
    browser.sign_in("reset-lab", "tina", "tina's own passphrase")
    assert browser.driver.current_url.endswith("/home")
    assert iam.get_login_profile(UserName="tina")["LoginProfile"]["PasswordResetRequired"] is False


def test_values_a_thousand_times_too_long_are_refused_at_once(console):
    plain = Plain(console.url)
    token = plain.csrf()
    started = time.monotonic()
    status, body, _ = plain.request("/login", {"csrf": token, "account": "a" * 63_000, "user": "u", "password": "p"})
    assert status == 401 and b"Wrong account, user or password." in body
    status, _, _ = plain.request("/login", {"csrf": token, "account": "lab", "user": "u" * 64_000, "password": "p"})
    assert status == 401
    assert time.monotonic() - started < 5, "overlong names are wrong without a password hash"
    # A form over 64 KiB is refused before it is read.
    status, body, _ = plain.request("/signup", {"csrf": token, "account": "x" * 100_000})
    assert status == 413
    status, _, _ = plain.request("/login", {"csrf": token * 1000, "account": "lab", "user": "u", "password": "p"})
    assert status == 403
