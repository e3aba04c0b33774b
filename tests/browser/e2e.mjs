// tests/browser/e2e.mjs - the dashboard in a real headless Chromium.
//
//   node tests/browser/e2e.mjs CONFIG.json
//
// Driven by tests/integration/test_browser.py, which starts the hub (with
// alert_on_offline, so first connections are alerted too) and the
// listeners and writes CONFIG: {url, token, agents: [names], shell: agent
// to run commands on (and open terminals on), xss: the agent named like
// HTML, victim: agent to stop, victim_pid: its listener's pid,
// viewer_token: a viewer's token, artifact: PNG path, phone_artifact,
// agent_artifact}.  Prints one JSON line of results; exit status 0 when
// every check passed, 1 with "FAIL: why" on stderr otherwise.
//
// The Terminal tab (a shell over /ws/term, copy and paste, the CSP, the
// replay of a recorded session) is tested in terminal.mjs.
//
// A second browser context is a phone (390 x 844): there nothing may be
// wider than the screen unless it is inside a box that scrolls sideways,
// and no word in a table may be cut across lines.
//
// Chromium is Debian's (/usr/bin/chromium), driven by playwright-core from
// npm; no browser is downloaded.
import { readFileSync } from "node:fs";
import { launch, signIn as signInAt } from "./common.mjs";
import * as phone from "./phone.mjs";
import * as polish from "./polish.mjs";
import * as terminal from "./terminal.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { checks: [] };
const problems = [];

function check(ok, what) {
  result.checks.push((ok ? "ok " : "FAIL ") + what);
  if (!ok) throw new Error(what);
}

function note(k, v) {
  result[k] = v;
}

async function cardStatus(page, name) {
  return page.evaluate((n) => {
    for (const c of document.querySelectorAll("#cards .card")) {
      if (c.dataset.agent === n) return c.dataset.status;
    }
    return null;
  }, name);
}

async function waitCardStatus(page, name, status, ms) {
  await page.waitForFunction(([n, s]) => {
    for (const c of document.querySelectorAll("#cards .card")) {
      if (c.dataset.agent === n) return c.dataset.status === s;
    }
    return false;
  }, [name, status], { timeout: ms, polling: 20 });
}

async function signIn(page) {
  await signInAt(page, cfg.url, cfg.token);
  for (const n of cfg.agents) await waitCardStatus(page, n, "online", 15000);
  check(true, "signed in; every agent's card is online");
  check(!page.url().includes(cfg.token), "the token is not in the URL");
  const stored = await page.evaluate(() => sessionStorage.getItem("maestro-token"));
  check(stored === cfg.token, "the token is kept in sessionStorage");
  const count = await page.$$eval("#cards .card", (l) => l.length);
  check(count === cfg.agents.length, "one card per agent (" + count + ")");
  const online = await page.textContent("#count-online .n");
  check(online === String(cfg.agents.length), "the online count at the top says " + online);
}

async function xssIsText(page, dialogs) {
  const shown = await page.evaluate((n) => {
    for (const c of document.querySelectorAll("#cards .card")) {
      if (c.dataset.agent === n) return c.querySelector(".name").textContent;
    }
    return null;
  }, cfg.xss);
  check(shown === cfg.xss, "the agent named like HTML is shown as its text");
  const imgs = await page.$$eval("#cards img", (l) => l.length);
  check(imgs === 0, "no element was made from an agent's name");
  check(dialogs.length === 0, "no script ran from an agent's name");
}

async function openAgent(page, name) {
  await page.evaluate((n) => { location.hash = "#/agent/" + encodeURIComponent(n); }, name);
  await page.waitForFunction((n) => {
    const h = document.getElementById("agent-name");
    return h && h.textContent === n;
  }, name, { timeout: 5000 });
}

const SHELL_CMD = "echo first-$((6*7)); echo oops >&2; sleep 2; echo second";

async function shell(page) {
  await openAgent(page, cfg.shell);
  await page.waitForSelector("#agent-view .facts dd", { timeout: 5000 });
  // the first line must be on screen while the command still runs
  await page.fill("#shell-cmd", SHELL_CMD);
  await page.click("#shell-run");
  await page.waitForFunction(() =>
    document.getElementById("shell-out").textContent.includes("first-42"), null,
  { timeout: 10000, polling: 20 });
  const mid = await page.evaluate(() => ({
    out: document.getElementById("shell-out").textContent,
    status: document.getElementById("shell-status").textContent,
  }));
  check(!mid.out.includes("second") && mid.status.startsWith("running"),
    "shell output streams: the first line shows while the command runs");
  await page.waitForFunction(() =>
    /exit 0/.test(document.getElementById("shell-status").textContent), null,
  { timeout: 15000 });
  const out = await page.textContent("#shell-out");
  check(out.includes("second") && out.includes("oops"), "all of the output arrived");
  const err = await page.$$eval("#shell-out .stderr", (l) => l.map((e) => e.textContent).join(""));
  check(err.includes("oops"), "stderr is marked as such");
  await page.waitForFunction(() => {
    const r = document.querySelector("#history tr");
    return r && /done/.test(r.textContent);
  }, null, { timeout: 5000 });
  check(true, "the command shows in the agent's command history");
}

async function screenshot(page) {
  await page.click("#btn-screenshot");
  await page.waitForFunction(() => {
    const img = document.getElementById("shot-img");
    const st = document.getElementById("shot-status");
    return (img && img.complete && img.naturalWidth > 0) ||
      (st && /not available/.test(st.textContent));
  }, null, { timeout: 30000 });
  const r = await page.evaluate(() => {
    const img = document.getElementById("shot-img");
    return { width: img ? img.naturalWidth : 0, height: img ? img.naturalHeight : 0,
      status: document.getElementById("shot-status").textContent,
      download: !!document.getElementById("shot-download") };
  });
  if (r.width > 0) {
    check(r.download, "the screenshot is shown inline (" + r.width + "x" + r.height +
      ") with a download link");
    note("screenshot", "shown " + r.width + "x" + r.height);
  } else {
    check(r.status.length > 0, "the screenshot says clearly why it is not available: " + r.status);
    note("screenshot", r.status);
  }
  if (cfg.agent_artifact) await page.screenshot({ path: cfg.agent_artifact, fullPage: true });
}

// The docker table and its restart buttons.  There is no Docker daemon
// here, so the browser gets the hub's answers from page.route(): a 202 for
// the command and the ndjson stream with docker_ps output (JSON text, as
// the listener sends it), including a container named like HTML.
async function mockDocker(page, restarted) {
  const ps = JSON.stringify([
    { id: "a1b2c3", name: "web", image: "nginx:1.25", state: "running",
      status: "Up 2 hours", ports: "0.0.0.0:80->80/tcp" },
    { id: "d4e5f6", name: "<script>alert(2)</script>", image: "evil", state: "exited",
      status: "Exited (0)", ports: "" }]);
  await page.route("**/api/agents/*/command", async (route) => {
    const body = JSON.parse(route.request().postData() || "{}");
    if (body.type === "docker_ps") {
      await route.fulfill({ status: 202, contentType: "application/json", body: '{"id":"c-fakeps"}' });
    } else if (body.type === "docker_restart") {
      if (restarted) restarted.push(body.arg);
      await route.fulfill({ status: 202, contentType: "application/json", body: '{"id":"c-fakerestart"}' });
    } else {
      await route.continue();
    }
  });
  await page.route("**/api/commands/c-fake*/stream", (route) => route.fulfill({
    status: 200, contentType: "application/x-ndjson",
    body: route.request().url().includes("fakeps") ?
      JSON.stringify({ t: "out", stream: "stdout", data: ps }) + "\n" +
      '{"t":"end","status":"done","exit":0,"truncated":false,"out_bytes":10,"error":null}\n' :
      '{"t":"end","status":"done","exit":0,"truncated":false,"out_bytes":0,"error":null}\n' }));
  return async () => {
    await page.unroute("**/api/agents/*/command");
    await page.unroute("**/api/commands/c-fake*/stream");
  };
}

async function docker(page) {
  const restarted = [];
  const unroute = await mockDocker(page, restarted);
  await page.click("#btn-docker");
  await page.waitForSelector("#docker tbody tr:nth-child(2)", { timeout: 5000 });
  const rows = await page.$$eval("#docker tbody tr", (l) => l.map((r) => r.children[0].textContent));
  check(rows.length === 2 && rows[1] === "<script>alert(2)</script>",
    "docker containers show as a table, names as text");
  await page.click("#docker tbody tr:nth-child(1) button");
  await page.waitForFunction(() =>
    document.querySelector("#docker tbody tr td:nth-child(3)").textContent === "restarted", null,
  { timeout: 5000 });
  check(restarted.length === 1 && restarted[0] === "a1b2c3", "a row's Restart sends docker_restart for it");
  await unroute();
}

async function critical(page) {
  await page.evaluate(() => { location.hash = "#/"; });
  await page.waitForSelector("#grid-view:not([hidden])");
  check(await cardStatus(page, cfg.victim) === "online", "the victim is online before the stop");
  process.kill(cfg.victim_pid, "SIGSTOP");
  await waitCardStatus(page, cfg.victim, "critical", 20000);
  const seen = Date.now() / 1000;
  // when did the hub decide?  Its event says, to the microsecond.
  const decided = await page.evaluate(async (n) => {
    const r = await fetch("/api/events?limit=100", {
      headers: { Authorization: "Bearer " + sessionStorage.getItem("maestro-token") } });
    const doc = await r.json();
    const e = doc.events.find((x) => x.agent === n && x.to === "critical");
    return e ? e.ts : null;
  }, cfg.victim);
  check(decided !== null, "the hub recorded the victim's critical event");
  const delay = seen - decided;
  note("critical_delay_s", Number(delay.toFixed(3)));
  check(delay < 1.0, "the card turned critical " + delay.toFixed(3) +
    " s after the hub decided (limit 1 s)");
  const crit = await page.textContent("#count-critical .n");
  check(crit === "1", "the critical count at the top is 1");
}

// Stop asks first; only "Yes" sends it; the agent then shows offline.
async function stopListener(page) {
  await openAgent(page, cfg.shell);
  await page.click("#btn-stop");
  await page.waitForSelector("#btn-stop-yes", { timeout: 3000 });
  await page.waitForTimeout(300);
  check(await page.evaluate(() => document.getElementById("agent-view").dataset.status) === "online",
    "stop waits for the confirmation");
  await page.click("#btn-stop-yes");
  await page.waitForFunction(() =>
    document.getElementById("agent-view").dataset.status === "offline", null, { timeout: 10000 });
  check(true, "after the confirmation the listener stops and shows offline");
  await terminal.afterStop(page, t);
  await page.evaluate(() => { location.hash = "#/"; });
  await waitCardStatus(page, cfg.shell, "offline", 5000);
}

// what the other test files use
const t = { cfg, check, note, openAgent, problems };

async function main() {
  const browser = await launch(cfg);
  const dialogs = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 },
      ignoreHTTPSErrors: true });
    await ctx.addInitScript(polish.recordCanvasText);
    await ctx.addInitScript(terminal.recordCspViolations);
    const page = await ctx.newPage();
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
    await signIn(page);
    await xssIsText(page, dialogs);
    await shell(page);
    await polish.manyCommands(page, t);
    await polish.historyInPlace(page, t);
    await polish.charts(page, t);
    await screenshot(page);
    await docker(page);
    await polish.restartAsks(page, t);
    await terminal.run(page, t);
    await terminal.viewer(browser, t);
    await polish.unknownAgent(page, t);
    await phone.run(browser, t, (p) => mockDocker(p, null));
    await critical(page);
    await polish.criticalPage(page, t);
    await terminal.beforeStop(page, t);
    await stopListener(page);
    await polish.queueOffline(page, t);
    await polish.eventLog(page, t, SHELL_CMD);
    await page.evaluate(() => { location.hash = "#/"; });
    await page.waitForSelector("#grid-view:not([hidden])");
    await xssIsText(page, dialogs);
    await page.screenshot({ path: cfg.artifact, fullPage: true });
    note("artifact", cfg.artifact);
    if (cfg.phone_artifact) {
      await page.setViewportSize({ width: phone.WIDTH, height: phone.HEIGHT });
      await phone.fits(page, t, "the agent cards, the window made narrow");
      await page.screenshot({ path: cfg.phone_artifact, fullPage: true });
    }
    await page.click("#signout");
    await page.waitForSelector("#signin:not([hidden])");
    const left = await page.evaluate(() => sessionStorage.getItem("maestro-token"));
    check(left === null, "signing out forgets the token");
    await polish.refusedToken(browser, t);
    check(problems.length === 0, "no page errors: " + problems.join("; "));
    result.ok = true;
  } finally {
    await browser.close();
  }
}

main().then(() => {
  console.log(JSON.stringify(result));
}, (e) => {
  result.ok = false;
  result.error = e.message;
  result.problems = problems;
  console.log(JSON.stringify(result));
  console.error("FAIL: " + e.message);
  process.exit(1);
});
