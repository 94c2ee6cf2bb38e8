"""The web console in a real browser: headless Chromium driven by selenium against a running
euca-cloud. Skips, saying what is missing, without chromium and chromedriver (Debian's
`chromium` and `chromium-driver`) or selenium. A screenshot of each page visited is kept under
.build/browser-artifacts/."""

import importlib.util
import pathlib
import shutil
import socket
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("blackbox_conftest", ROOT / "tests" / "blackbox" / "conftest.py")
blackbox = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(blackbox)
Cloud, wait_for, states = blackbox.Cloud, blackbox.wait_for, blackbox.states

ADMIN = ROOT / ".build" / "debug" / "euca-admin"
ARTIFACTS = ROOT / ".build" / "browser-artifacts"
ADMIN_PASSWORD = "the administrator's passphrase"


def missing() -> str | None:
    for tool, package in [("chromium", "chromium"), ("chromedriver", "chromium-driver")]:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(cloud, *args, stdin=None) -> str:
    result = subprocess.run([str(ADMIN), *args, "--state", str(cloud.state)], capture_output=True, text=True, timeout=60, input=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


class Console:
    """A euca-cloud whose console listens on a known port, its administrator with a password."""

    def __init__(self, cloud, url):
        self.cloud, self.url = cloud, url

    def user_with_password(self, account, user, password):
        admin(self.cloud, "create-account", account)
        admin(self.cloud, "create-user", "--account", account, "--user", user)
        admin(self.cloud, "set-password", "--account", account, "--user", user, stdin=password + "\n")


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    reason = missing()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    port = free_port()
    cloud = Cloud(tmp_path_factory.mktemp("console") / "var", env={"CONSOLE_PORT": str(port)}).start()
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    admin(cloud, "set-password", "--account", "eucalyptus", "--user", "admin", stdin=ADMIN_PASSWORD + "\n")
    try:
        yield Console(cloud, url)
    finally:
        if cloud.process.poll() is None:
            cloud.stop()


class Browser:
    """One Chromium with its own cookies and download folder; `shot` keeps a screenshot."""

    def __init__(self, driver, downloads, test_name, base):
        self.driver, self.downloads, self.test_name, self.base = driver, downloads, test_name, base
        self.shots = 0

    def open(self, path):
        self.driver.get(self.base + path)
        self.shot(path.strip("/").replace("/", "-") or "root")

    def shot(self, what):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        self.driver.save_screenshot(str(ARTIFACTS / f"{self.test_name}-{self.shots:02d}-{what}.png"))

    def fill(self, **fields):
        from selenium.webdriver.common.by import By
        for name, value in fields.items():
            element = self.driver.find_element(By.ID, name)
            element.clear()
            element.send_keys(value)

    def click(self, element_id):
        from selenium.webdriver.common.by import By
        self.driver.find_element(By.ID, element_id).click()
        self.shot(element_id)

    def text(self, element_id):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.ID, element_id).text

    def sign_in(self, account, user, password):
        self.open("/login")
        self.fill(account=account, user=user, password=password)
        self.click("signin")

    def sign_out(self):
        self.click("logout")

    def cookie(self):
        found = self.driver.get_cookie("euca-session")
        return found["value"] if found else None


@pytest.fixture
def browser(console, tmp_path, request):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(argument)
    options.accept_insecure_certs = True
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False, "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(2)
    made = []

    def new():
        d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        made.append(d)
        return Browser(d, downloads, request.node.name + f"-b{len(made) + 1}", console.url)

    browser = Browser(driver, downloads, request.node.name, console.url)
    browser.another = new
    yield browser
    for d in [driver] + made:
        d.quit()
