#!/usr/bin/env python3
"""End-to-end test of the built page in headless Chromium, driven through
chromedriver's W3C WebDriver API with nothing but the standard library.

Scenarios:
- sandbox: stop the scheduler, create a Deployment in the editor, see its pods
  Pending, start the scheduler, see them Running, partition a node and heal
  it from its panel, see a Secret's values hidden until revealed, open a shell in one of them
  with `kubectl exec -it` and type into it, copy the link, open it in a fresh
  browser profile, see the same pods and the file the shell wrote;
- bench: a short frame benchmark on a 20-node cluster must report (the page's
  bench is tested, not timed);
- traffic: aim the traffic panel at a three-replica Deployment's NodePort,
  delete its pods one by one and watch the chart stay free of failures; with
  one replica, deleting it shows failures;
- lesson: Exercise 2.05 (the pod life cycle) done by clicking and typing only,
  with a wrong attempt that must not pass and a reload in the middle;
- embed: `?embed=1&lesson=…` in a fresh browser (the compact layout, a reload),
  and the postMessage API from a host page that frames it.
Also measures time to first render. --screenshots DIR saves what a laptop and
a projector show.
All the while the page must make no request beyond its own files after
loading and break none of its Content-Security-Policy (the server's log
counts the requests).

With --bench: frame times at 10x on 100 nodes / 2,000 pods, then the latency
of clicks at 60x; with --bench-big, the same on 1,000 nodes / 50,000 pods
(memory included). Figures are printed, never asserted.

Usage: e2e.py --page http://127.0.0.1:PORT/ --driver http://127.0.0.1:PORT2 [--http-log FILE] [--bench] [--bench-big] [--screenshots DIR] [--only NAME]
"""
import base64
import os
import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.request
import shutil
import socket
import subprocess

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,900"]
CTRL, NULL, DELETE, ENTER = "\ue009", "\ue000", "\ue017", "\ue007"

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


# A module with one exported function, `f`, whose body is `unreachable`.
UNREACHABLE_WASM = bytes([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11])


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

    def js_async(self, script, *args):
        return self.s("POST", "/execute/async", {"script": script, "args": list(args)})

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

    def exists(self, test_id):
        return self.js("return !!document.querySelector('[data-testid=\"' + arguments[0] + '\"]')", test_id)

    def attr(self, test_id, name):
        return self.js("const e = document.querySelector('[data-testid=\"' + arguments[0] + '\"]'); return e ? e.getAttribute(arguments[1]) : null;", test_id, name)

    def text(self, test_id):
        return self.js("const e = document.querySelector('[data-testid=\"' + arguments[0] + '\"]'); return e ? e.textContent : '';", test_id)

    def run(self, line):
        """Types a line into the terminal and presses Enter."""
        self.click("terminal-input")
        self.type("terminal-input", line + "\ue007")

    def speed(self, value):
        self.js("const s = document.querySelector('[data-testid=\"speed\"]'); s.value = arguments[0]; s.dispatchEvent(new Event('change', {bubbles: true}));", str(value))

    def step_state(self, n):
        return self.attr(f"lesson-step-{n}", "data-state")

    def wait_step(self, n, state, timeout=60.0):
        return self.wait(f"step {n} {state}", lambda: self.step_state(n) == state, timeout=timeout)

    def screenshot(self, path, width, height):
        self.s("POST", "/window/rect", {"width": width, "height": height})
        time.sleep(1.0)
        png = self.s("GET", "/screenshot")
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print(f"screenshot: {path} ({width}x{height})")

    def type_line(self, text):
        self.type("terminal-input", text + "\ue007")

    def prompt(self):
        return self.js("return document.querySelector('[data-testid=\"terminal-prompt\"]').textContent")

    def terminal(self):
        return self.js("return document.querySelector('[data-testid=\"terminal-output\"]').textContent")

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

        # The switch acts only while the scheduler runs (a stopped one's Stop
        # is disabled): click once the page shows it running.
        first.wait("scheduler running and its Stop enabled", lambda: first.js(
            "const c = document.querySelector('[data-testid=\"component-scheduler\"]');"
            " const b = document.querySelector('[data-testid=\"stop-scheduler\"]');"
            " return !!c && !!b && c.dataset.state === 'running' && !b.disabled"))
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

        # Lines with a pipe run on the learner's machine, kubectl's output feeding the next program.
        first.type_line("echo -n piped-through | base64")
        first.wait("base64 on the learner's machine", lambda: "cGlwZWQtdGhyb3VnaA==" in first.terminal())
        first.type_line("kubectl get deploy web -o name | xargs echo found:")
        first.wait("kubectl piped into xargs", lambda: "found: deployment.apps/web" in first.terminal())

        # An interactive shell in a container, typed into through the terminal.
        first.type_line("kubectl exec -it deploy/web -- bash")
        prompt = first.wait("bash's prompt", lambda: (lambda p: p if p.startswith("root@web-") else None)(first.prompt()))
        print("prompt:", prompt)
        first.type_line("echo saved-by-the-shell > /tmp/note && ls /usr/share/nginx/html")
        first.wait("the shell's output", lambda: "50x.html" in first.terminal() and "index.html" in first.terminal())
        first.type_line("cat /tmp/note")
        first.wait("the file the shell wrote", lambda: "saved-by-the-shell" in first.terminal())
        first.type_line("exit")
        first.wait("kubectl's prompt again", lambda: first.prompt() == "$")

        first.click("share-button")
        link = first.wait("the share link", lambda: first.js("return document.querySelector('[data-testid=\"share-link\"]').value"))
        print(f"link: {len(link)} characters")
        _, after_load = check_page_safety(first, http_log, loaded, "after load")
        assert not after_load, f"the page made requests after loading: {after_load}"
        print("requests after loading: 0")

        # A panic in the page's build is a WebAssembly trap: the page says it
        # stopped. An ordinary script error does not; a real trap in a
        # callback (a one-function module whose body is `unreachable`) does.
        first.js("setTimeout(() => { throw new Error('not a trap'); });")
        time.sleep(0.5)
        assert first.js("return document.getElementById('engine-stopped') === null"), "a script error shown as the engine stopping"
        first.js("const trap = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(arguments[0])));"
                 "setTimeout(() => trap.exports.f());", list(UNREACHABLE_WASM))
        notice = first.wait("the stopped notice", lambda: first.js("const n = document.getElementById('engine-stopped'); return n && n.textContent"))
        assert "stopped on an internal error" in notice, notice
        print("trap: the page says it stopped")
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
        # The shell's lines are part of the scene: the file is there again.
        second.type_line("kubectl exec deploy/web -- cat /tmp/note")
        second.wait("the shell's file after the rebuild", lambda: "saved-by-the-shell" in second.terminal())
    finally:
        second.quit()


def lesson(page, driver, shots=None):
    """Exercise 2.05 by clicking and typing, as a learner would."""
    b = Browser(driver)
    try:
        b.open(page)
        b.wait("the page", lambda: b.exists("topology"))
        b.click("lessons")
        b.wait("the picker", lambda: b.exists("lesson-picker"))
        if shots:
            b.screenshot(os.path.join(shots, "picker-laptop.png"), 1400, 900)
        b.click("lesson-pod-life-cycle")
        b.wait("the lesson panel", lambda: b.attr("lesson-panel", "data-lesson") == "pod-life-cycle")
        assert b.step_state(1) == "current" and b.step_state(2) == "pending"
        b.wait("the minikube node", lambda: b.exists("node-minikube"))

        # Step 1, a wrong attempt first: kube-proxy is not the kubelet.
        b.click("stop-kube-proxy-minikube")
        b.speed(60)
        start = int(b.attr("clock", "data-ms"))
        b.wait("a minute of virtual time", lambda: int(b.attr("clock", "data-ms")) > start + 70_000)
        b.run("kubectl get node")
        b.wait("the output", lambda: "minikube" in b.text("terminal-output"))
        time.sleep(1.0)
        assert b.step_state(1) == "current", "stopping kube-proxy must not pass the step"
        assert b.attr("lesson-check", "data-holds") == "false"
        b.click("start-kube-proxy-minikube")
        # Now the kubelet.
        b.click("stop-kubelet-minikube")
        b.wait("the node NotReady", lambda: b.attr("node-minikube", "data-ready") != "Ready", timeout=60)
        b.run("kubectl get node")
        b.wait_step(1, "passed")
        print("lesson: step 1 passed after a wrong attempt")
        b.speed(1)
        if shots:
            b.screenshot(os.path.join(shots, "lesson-laptop.png"), 1400, 900)
            b.click("large-text")
            b.screenshot(os.path.join(shots, "lesson-projector.png"), 1024, 768)
            b.click("large-text")
            b.s("POST", "/window/rect", {"width": 1400, "height": 900})

        # Step 2: the control plane.
        for c in ["scheduler", "controller-manager", "apiserver"]:
            b.click(f"stop-{c}")
        b.wait_step(2, "passed")
        # Step 3: apply with the API server down, from the editor.
        b.click("lesson-copy-yaml")
        b.click("apply-button")
        b.wait_step(3, "passed")
        print("lesson: steps 2 and 3 passed")

        # Reload in the middle of the lesson.
        b.open(page)
        b.wait("the lesson panel after reload", lambda: b.attr("lesson-panel", "data-lesson") == "pod-life-cycle", timeout=60)
        b.wait("the scene rebuilt", lambda: not b.exists("replay-progress"), timeout=90)
        assert [b.step_state(n) for n in (1, 2, 3, 4)] == ["passed", "passed", "passed", "current"], "progress survives the reload"
        assert b.attr("component-apiserver", "data-state") == "stopped", "the cluster is rebuilt as it was"
        print("lesson: reload kept steps 1-3 and the stopped API server")

        # Step 4: the API server comes back.
        b.click("start-apiserver")
        b.run("kubectl get node")
        b.wait_step(4, "passed")
        # Step 5: create the Deployment for real; no pod yet.
        b.click("lesson-copy-yaml")
        b.click("apply-button")
        b.run("kubectl get deploy")
        b.run("kubectl get pod")
        b.wait_step(5, "passed")
        # Step 6: the controller manager makes a Pending pod.
        b.click("start-controller-manager")
        b.wait("a pending pod", lambda: any(s == "Pending" for _, s in b.pods("pod-default-k8s-for-beginners-")), timeout=60)
        b.run("kubectl get pod -o wide")
        b.wait_step(6, "passed")
        print("lesson: steps 4-6 passed")
        # Step 7: the scheduler cannot place it (the node is unreachable).
        b.click("start-scheduler")
        def describe():
            b.run("kubectl describe pod")
            time.sleep(1.5)
            return b.step_state(7) == "passed"
        b.wait("step 7 passed", describe, timeout=60)
        # Step 8: the kubelet returns and the pod runs.
        b.click("start-kubelet-minikube")
        b.speed(10)
        b.wait("the lesson complete", lambda: b.exists("lesson-done"), timeout=120)
        print("lesson: complete:", " ".join(b.text("lesson-done").split())[:160])
    finally:
        b.quit()


def embed(page, driver, shots=None):
    """?embed=1 in a fresh browser, a reload, and the postMessage API."""
    url = page.rstrip("/") + "/?embed=1&lesson=apiserver-down"
    b = Browser(driver)
    try:
        b.open(url)
        b.wait("the embedded lesson", lambda: b.attr("lesson-panel", "data-lesson") == "apiserver-down", timeout=60)
        assert b.exists("topology") and b.exists("terminal-input"), "embed shows the cluster and the terminal"
        assert not b.exists("event-log"), "embed leaves the event log out"
        assert not b.exists("share-button"), "embed is compact"
        if shots:
            b.screenshot(os.path.join(shots, "embed-800.png"), 1000, 700)
        # A wrong attempt, then show me.
        b.run("kubectl get pods")
        time.sleep(1.0)
        assert b.step_state(1) == "current"
        b.click("lesson-solve")
        b.wait_step(1, "passed", timeout=30)
        b.open(url)
        b.wait("the lesson after reload", lambda: b.step_state(1) == "passed" and b.step_state(2) == "current", timeout=90)
        print("embed: layout, show me, and reload ok")
    finally:
        b.quit()

    # The host page is served from loopback too: Chromium's local network
    # access rules keep a data: page from framing a loopback address.
    host_dir = tempfile.mkdtemp(prefix="miniplane-host-")
    frame = page.rstrip("/") + "/?embed=1&lesson=apiserver-down"
    with open(os.path.join(host_dir, "host.html"), "w") as f:
        f.write("<!doctype html><title>host</title><iframe id=f width=1200 height=760 src='" + frame + "'></iframe>"
                "<script>window.msgs=[];addEventListener('message',e=>msgs.push(e.data));</script>")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host_port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(host_port), "--bind", "127.0.0.1", "--directory", host_dir],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    host = Browser(driver)
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{host_port}/host.html", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        host.open(f"http://127.0.0.1:{host_port}/host.html")
        host.wait("miniplane:ready", lambda: host.js("return msgs.some(m => m.type === 'miniplane:ready')"), timeout=60)
        post = "document.getElementById('f').contentWindow.postMessage(arguments[0], '*');"
        host.js(post, {"type": "miniplane:run", "line": "stop apiserver"})
        host.js(post, {"type": "miniplane:run", "line": "kubectl get pods"})
        passed = host.wait("miniplane:step-passed", lambda: host.js("return msgs.find(m => m.type === 'miniplane:step-passed')"), timeout=30)
        assert passed["lesson"] == "apiserver-down" and passed["step"] == 1, passed
        host.js("msgs.length = 0;")
        host.js(post, {"type": "miniplane:get-progress"})
        progress = host.wait("miniplane:progress", lambda: host.js("return msgs.find(m => m.type === 'miniplane:progress')"), timeout=30)
        assert progress["step"] == 2 and progress["passed"][0] is True and progress["done"] is False, progress
        host.js(post, {"type": "miniplane:run", "line": "kubectl version --client"})
        output = host.wait("miniplane:output", lambda: host.js("return msgs.find(m => m.type === 'miniplane:output')"), timeout=30)
        assert "Client Version" in output["output"], output
        print("embed: postMessage run / step-passed / progress ok")
    finally:
        host.quit()
        server.terminate()
        shutil.rmtree(host_dir, ignore_errors=True)


def chart(b):
    """The traffic chart's totals and the pods in its legend."""
    return b.js("""const cols = [...document.querySelectorAll('[data-testid="traffic-column"]')];
        return {ok: cols.reduce((n, c) => n + Number(c.dataset.ok), 0),
                failed: cols.reduce((n, c) => n + Number(c.dataset.failed), 0),
                sent: document.querySelector('[data-testid="traffic-panel"]').textContent,
                pods: [...document.querySelectorAll('[data-testid="traffic-pod"]')].map(e => e.dataset.pod)};""")


def run_line(b, line):
    b.type("terminal-input", line + ENTER)


def traffic_scenario(page, driver):
    b = Browser(driver)
    try:
        b.open(page)
        b.wait("the topology", lambda: b.js('return !!document.querySelector(\'[data-testid="topology"]\')'))
        run_line(b, "kubectl create deployment web --image=nginx --replicas=3")
        run_line(b, "kubectl create service nodeport web --tcp=80:80 --node-port=30080")
        b.js("const s = document.querySelector('[data-testid=\"speed\"]'); s.value = '10'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        running = lambda n: (lambda p: p if len(p) == n and all(st == "Running" for _, st in p) else None)(b.pods("pod-default-web-"))
        pods = b.wait("three web pods Running", lambda: running(3), timeout=90)
        b.type("traffic-url", "http://172.18.0.3:30080/")
        b.click("traffic-start")
        b.wait("successes on the chart", lambda: chart(b)["ok"] >= 30 or None, timeout=60)
        for test_id, _ in pods[:2]:
            name = test_id[len("pod-default-"):]
            run_line(b, f"kubectl delete pod {name}")
            b.wait(f"{name} replaced", lambda: (lambda p: p if len(p) == 3 and all(st == "Running" for _, st in p) and not any(n == test_id for n, _ in p) else None)(
                b.pods("pod-default-web-")), timeout=90)
        seen = b.wait("more successes", lambda: (lambda c: c if c["ok"] >= 120 else None)(chart(b)), timeout=90)
        print("three replicas, two killed:", {k: seen[k] for k in ("ok", "failed", "pods")})
        assert seen["failed"] == 0, f"no request fails while pods of three replicas are killed one by one: {seen}"
        assert len(seen["pods"]) >= 4, f"the chart names the pods that answered, old and new: {seen['pods']}"
        run_line(b, "kubectl scale deployment web --replicas=1")
        last = b.wait("one web pod", lambda: running(1), timeout=90)
        run_line(b, f"kubectl delete pod {last[0][0][len('pod-default-'):]}")
        failed = b.wait("failures on the chart", lambda: (lambda c: c if c["failed"] > 0 else None)(chart(b)), timeout=60)
        print("one replica, killed:", {k: failed[k] for k in ("ok", "failed")})
        b.click("traffic-stop")
        b.wait("the generator stopped", lambda: b.js("return document.querySelector('[data-testid=\"traffic-panel\"]').dataset.running") == "false")
    finally:
        b.quit()


# Clicks the scheduler's Stop and Start switches at random moments and
# measures, from the moment the click is queued (as a user's click would be,
# behind whatever frame is running) to the moment the page shows its effect.
CLICKS = """
const [count, done] = [arguments[0], arguments[arguments.length - 1]];
const latencies = [];
// Each click's parts, from the moment it was queued: when the browser
// dispatched it, when the page's DOM showed its effect, and the page's own
// marks after the switch (<html data-bench-switch>, `?bench` only).
const parts = [];
const state = () => document.querySelector('[data-testid="component-scheduler"]').dataset.state;
function one(i) {
  if (i >= count) { setTimeout(() => done({latencies, parts}), 300); return; }
  const want = state() === 'running' ? 'stopped' : 'running';
  const button = document.querySelector(want === 'stopped' ? '[data-testid="stop-scheduler"]' : '[data-testid="start-scheduler"]');
  const started = performance.now();
  const part = {want};
  document.addEventListener('click', () => { part.dispatched = performance.now() - started; }, {capture: true, once: true});
  const observer = new MutationObserver(() => {
    if (state() === want) {
      observer.disconnect();
      const latency = performance.now() - started;
      latencies.push(latency);
      part.latency = latency;
      parts.push(part);
      setTimeout(() => {
        const marks = JSON.parse(document.documentElement.dataset.benchSwitch || '[]');
        part.marks = marks.map(([what, at]) => [what, Math.round((at - started) * 10) / 10]);
      }, 120);
      setTimeout(() => one(i + 1), 150 + Math.random() * 350);
    }
  });
  observer.observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-state']});
  setTimeout(() => button.click(), 0);
}
one(0);
"""


def bench_run(page, driver, query, timeout, clicks=0):
    """Opens ?bench=..., waits for the frame report, then measures clicks at 60x."""
    b = Browser(driver)
    try:
        b.open(page.rstrip("/") + "/?" + query)
        started = time.time()
        report = b.wait(f"the bench report of ?{query}", lambda: b.js("return document.documentElement.dataset.bench"), timeout=timeout)
        report = json.loads(report)
        report["report_after_s"] = round(time.time() - started, 1)
        if clicks:
            b.js("const s = document.querySelector('[data-testid=\"speed\"]'); s.value = '60'; s.dispatchEvent(new Event('change', {bubbles: true}));")
            time.sleep(3)
            b.call("POST", f"/session/{b.session}/timeouts", {"script": 120000})
            clock_before = (time.time(), int(b.attr("clock", "data-ms")))
            measured = b.js_async(CLICKS, clicks)
            clock_after = (time.time(), int(b.attr("clock", "data-ms")))
            latencies = sorted(measured["latencies"])
            # The speed virtual time ran at while clicking, against what the clock said.
            report["achieved_while_clicking"] = round((clock_after[1] - clock_before[1]) / 1000 / (clock_after[0] - clock_before[0]), 3)
            report["slowest_clicks"] = sorted(measured["parts"], key=lambda p: -p["latency"])[:2]
            report["clicks_at_60x"] = len(latencies)
            report["click_p95_ms"] = round(latencies[int(round((len(latencies) - 1) * 0.95))], 1)
            report["click_max_ms"] = round(latencies[-1], 1)
            report["clock_behind"] = b.js("const e = document.querySelector('[data-testid=\"clock-behind\"]'); return e ? e.textContent : null")
            # What could have held a click up: the slowest frame, component run and switch meanwhile.
            after = b.js("return document.documentElement.dataset.benchAfter")
            report["while_clicking"] = json.loads(after) if after else None
        print("bench:", json.dumps(report))
        return report
    finally:
        b.quit()


def bench(page, driver, big):
    bench_run(page, driver, "bench=100x2000", timeout=600, clicks=20)
    if big:
        bench_run(page, driver, "bench=1000x50000&frames=120", timeout=1800, clicks=10)


def short_bench(page, driver):
    """The page's own benchmark must report; its figures are not judged here."""
    report = bench_run(page, driver, "bench=20x200&frames=40", timeout=180)
    # The 200 bench pods plus kube-system's own (kube-proxy and kindnet on every node, the control plane, CoreDNS).
    assert report["frames"] == 40 and report["pods"] >= 200, f"the bench report is complete: {report}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--page", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--bench", action="store_true", help="only measure frame times and clicks on a big cluster")
    ap.add_argument("--bench-big", action="store_true", help="with --bench, also 1,000 nodes and 50,000 pods")
    ap.add_argument("--http-log", help="the page server's log, to count the requests it served")
    ap.add_argument("--screenshots", help="save screenshots (laptop, projector, embed) into this folder")
    ap.add_argument("--only", choices=["sandbox", "bench", "traffic", "lesson", "embed"], help="run one scenario")
    args = ap.parse_args()
    if args.bench:
        bench(args.page, args.driver, args.bench_big)
        return 0
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    scenarios = {"sandbox": lambda: scenario(args.page, args.driver, args.http_log),
                 "bench": lambda: short_bench(args.page, args.driver),
                 "traffic": lambda: traffic_scenario(args.page, args.driver),
                 "lesson": lambda: lesson(args.page, args.driver, args.screenshots),
                 "embed": lambda: embed(args.page, args.driver, args.screenshots)}
    chosen = [args.only] if args.only else list(scenarios)
    for name in chosen:
        scenarios[name]()
    print(f"e2e: {len(chosen)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"e2e FAILED: {e}", file=sys.stderr)
        print("e2e: 0 passed, 1 failed")
        sys.exit(1)
