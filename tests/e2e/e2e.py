#!/usr/bin/env python3
"""End-to-end test of the built page in headless Chromium, driven through
chromedriver's W3C WebDriver API with nothing but the standard library.

Scenario: stop the scheduler, create a Deployment in the editor, see its pods
Pending, start the scheduler, see them Running, partition a node and heal it
from its panel, see a Secret's values hidden in the terminal until revealed,
copy the link, open it in a fresh browser profile, see the same pods. All the
while the page must make no request beyond its own files after loading and
break none of its Content-Security-Policy (the server's log counts the
requests). Also measures time to first render and, with --bench, p95 frame
time on a 100-node, 2,000-pod cluster at 10x.

Usage: e2e.py --page http://127.0.0.1:PORT/ --driver http://127.0.0.1:PORT2 [--http-log FILE] [--bench]
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.request

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,900"]
CTRL, NULL, DELETE = "\ue009", "\ue000", "\ue017"

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
"""


class Browser:
    """One Chromium with its own fresh profile."""

    def __init__(self, driver):
        self.driver = driver.rstrip("/")
        profile = tempfile.mkdtemp(prefix="miniplane-e2e-")
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium", "args": CHROMIUM_ARGS + [f"--user-data-dir={profile}"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        url = self.driver + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: {e.read().decode(errors='replace')[:500]}") from None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def open(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, test_id):
        value = self.s("POST", "/element", {"using": "css selector", "value": f'[data-testid="{test_id}"]'})
        return next(iter(value.values()))

    def click(self, test_id):
        self.s("POST", f"/element/{self.find(test_id)}/click", {})

    def type(self, test_id, text):
        self.s("POST", f"/element/{self.find(test_id)}/value", {"text": text})

    def wait(self, what, check, timeout=30.0):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = check()
                if last:
                    return last
            except RuntimeError as e:
                last = str(e)
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last saw: {last!r}")

    def pods(self, prefix):
        return self.js("""return [...document.querySelectorAll('[data-testid^="' + arguments[0] + '"]')]
            .map(e => [e.dataset.testid, e.dataset.status]);""", prefix)

    def quit(self):
        try:
            self.s("DELETE", "")
        except Exception:
            pass


PAGE_FILES = {"/", "/index.html", "/boot.js", "/miniplane-web.js", "/miniplane-web_bg.wasm", "/style.css"}


def requests_logged(http_log):
    """The paths python's http.server has served, in order."""
    if not http_log or not os.path.exists(http_log):
        return None
    with open(http_log, encoding="utf-8", errors="replace") as f:
        return [m.group(1).split("#")[0] for m in re.finditer(r'"GET ([^ ]+) HTTP', f.read())]


def check_page_safety(browser, http_log, since, phase):
    """No request after loading but the page's own files; no CSP violation."""
    violations = browser.js("return document.documentElement.dataset.cspViolations || null")
    assert violations is None, f"{phase}: {violations} Content-Security-Policy violations, last: " + str(browser.js("return document.documentElement.dataset.cspLast"))
    origin = browser.js("return location.origin")
    resources = browser.js("return performance.getEntriesByType('resource').map(e => e.name)")
    foreign = [r for r in resources if not r.startswith(origin) and not r.startswith("data:")]
    assert not foreign, f"{phase}: requests beyond the page's own origin: {foreign}"
    served = requests_logged(http_log)
    if served is not None:
        new = served[since:]
        strangers = [p for p in new if p.split("?")[0] not in PAGE_FILES]
        assert not strangers, f"{phase}: requests for files the page does not have: {strangers}"
        return len(served), new
    return since, []


def scenario(page, driver, http_log=None):
    first = Browser(driver)
    try:
        first.open(page)
        first.wait("the topology", lambda: first.js('return !!document.querySelector(\'[data-testid="topology"]\')'))
        first_render = first.js("return document.documentElement.dataset.firstRenderMs")
        print(f"first render: {first_render} ms after navigation start")
        loaded, load_requests = check_page_safety(first, http_log, 0, "load")
        print(f"requests while loading: {len(load_requests)} ({', '.join(load_requests)})")

        first.click("stop-scheduler")
        first.wait("scheduler stopped", lambda: first.js(
            "return document.querySelector('[data-testid=\"component-scheduler\"]').dataset.state") == "stopped")

        first.click("yaml-editor")
        first.type("yaml-editor", CTRL + "a" + NULL)
        first.type("yaml-editor", DELETE)
        first.type("yaml-editor", DEPLOYMENT)
        typed = first.js("return document.querySelector('[data-testid=\"yaml-editor\"]').value")
        assert typed.strip() == DEPLOYMENT.strip(), f"the editor holds what was typed:\n{typed}"
        first.click("apply-button")

        pending = first.wait("two web pods Pending", lambda: (lambda p: p if len(p) == 2 and all(s == "Pending" for _, s in p) else None)(
            first.pods("pod-default-web-")), timeout=60)
        print("pending:", pending)

        first.click("start-scheduler")
        first.js("const s = document.querySelector('[data-testid=\"speed\"]'); s.value = '10'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        running = first.wait("web pods Running", lambda: (lambda p: p if len(p) == 2 and all(s == "Running" for _, s in p) else None)(
            first.pods("pod-default-web-")), timeout=90)
        print("running:", running)

        first.click("partition-worker-1")
        first.wait("worker-1 partitioned", lambda: first.js("return !!document.querySelector('[data-testid=\"partitioned-worker-1\"]')"))
        first.click("heal-worker-1")
        first.wait("worker-1 healed", lambda: first.js("return !document.querySelector('[data-testid=\"partitioned-worker-1\"]')"))

        first.click("terminal-input")
        first.type("terminal-input", "kubectl create secret generic db --from-literal=password=s3cr3t\ue007")
        first.type("terminal-input", "kubectl get secret db -o yaml\ue007")
        output = lambda: first.js("return document.querySelector('[data-testid=\"terminal-output\"]').innerText")
        first.wait("the secret listed, its value hidden", lambda: "password: ••••" in output())
        assert "czNjcjN0" not in output(), "the secret's value shows before Reveal"
        first.click("reveal-secret")
        first.wait("the secret's value revealed", lambda: "czNjcjN0" in output())

        first.click("share-button")
        link = first.wait("the share link", lambda: first.js("return document.querySelector('[data-testid=\"share-link\"]').value"))
        print(f"link: {len(link)} characters")
        _, after_load = check_page_safety(first, http_log, loaded, "after load")
        assert not after_load, f"the page made requests after loading: {after_load}"
        print("requests after loading: 0")
    finally:
        first.quit()

    second = Browser(driver)
    try:
        second.open(link)
        again = second.wait("the same pods Running in a fresh profile", lambda: (lambda p: p if sorted(n for n, _ in p) == sorted(n for n, _ in running)
                                                                                      and all(s == "Running" for _, s in p) else None)(
            second.pods("pod-default-web-")), timeout=90)
        print("rebuilt:", again)
        check_page_safety(second, None, 0, "linked page")
    finally:
        second.quit()


def bench(page, driver):
    b = Browser(driver)
    try:
        b.open(page.rstrip("/") + "/?bench=100x2000")
        report = b.wait("the bench report", lambda: b.js("return document.documentElement.dataset.bench"), timeout=240)
        print("bench:", report)
        return json.loads(report)
    finally:
        b.quit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--page", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--bench", action="store_true", help="only measure frame times on a big cluster")
    ap.add_argument("--http-log", help="the page server's log, to count the requests it served")
    args = ap.parse_args()
    if args.bench:
        bench(args.page, args.driver)
        return 0
    scenario(args.page, args.driver, args.http_log)
    print("e2e: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"e2e FAILED: {e}", file=sys.stderr)
        print("e2e: 0 passed, 1 failed")
        sys.exit(1)
