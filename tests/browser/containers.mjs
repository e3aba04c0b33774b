// tests/browser/containers.mjs - containers on the dashboard, in a real
// headless Chromium.
//
//   node tests/browser/containers.mjs CONFIG.json
//
// Driven by tests/integration/test_containers_hub.py, which starts a hub
// and scripted agents and writes CONFIG: {url, token, chromium, go: a file
// to write when the test should change a container, withCtr: the agent
// with containers (web behind its registry, db exited), plain: the agent
// without Docker}.  Checks the Containers view (rows, the behind marker,
// the filters, a live change through /ws/ui) and the agent pages (the
// Containers panel from the heartbeats, its Restart buttons, the
// docker_ps button hidden).  Prints one JSON line; exit status 0 when every
// check passed.
import { readFileSync, writeFileSync } from "node:fs";
import { launch, signIn } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { checks: [] };

function check(ok, what) {
  result.checks.push((ok ? "ok " : "FAIL ") + what);
  if (!ok) throw new Error(what);
}

function rows(sel) {
  return [...document.querySelectorAll(sel + " tr")].map((r) =>
    [...r.children].map((c) => c.textContent));
}

async function rowsWhen(page, sel, pred, what) {
  let got = [];
  for (const end = Date.now() + 10000; Date.now() < end;) {
    got = await page.evaluate(rows, sel);
    if (pred(got)) return got;
    await page.waitForTimeout(100);
  }
  check(false, what + ": " + JSON.stringify(got));
  return got;
}

async function main() {
  const browser = await launch(cfg);
  const problems = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 },
      ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    await signIn(page, cfg.url, cfg.token);

    await page.click("nav a[data-view=containers-view]");
    let got = await rowsWhen(page, "#containers", (r) => r.length === 2, "the fleet's two containers");
    check(got[0][0] === cfg.withCtr && got[0][1] === "db" && got[0][3].startsWith("exited") &&
      got[1][1] === "webbehind" && got[1][3] === "running" && got[1][5] === "2",
      "rows: agent, name (behind marker), state, restarts: " + JSON.stringify(got));
    check(await page.$eval("#c-note", (e) => e.textContent) === "2 containers", "the count");

    await page.selectOption("#c-state", "exited");
    got = await rowsWhen(page, "#containers", (r) => r.length === 1, "state=exited");
    check(got[0][1] === "db", "filtered by state");
    await page.selectOption("#c-state", "");
    await page.fill("#c-image", "127.0.0.1:5000/web");
    got = await rowsWhen(page, "#containers", (r) => r.length === 1 && r[0][1] === "webbehind",
      "image=127.0.0.1:5000/web");
    await page.fill("#c-image", "");
    await page.selectOption("#c-tag", "nothing-here");
    await rowsWhen(page, "#containers", (r) => r.length === 0, "a tag without containers");
    await page.selectOption("#c-tag", "");
    await page.selectOption("#c-agent", cfg.withCtr);
    await rowsWhen(page, "#containers", (r) => r.length === 2, "agent filter");

    // live: the test kills web; the row follows through /ws/ui
    writeFileSync(cfg.go, "1");
    got = await rowsWhen(page, "#containers", (r) => r.length === 2 && r[1][3] === "exited (137, OOM)",
      "web's exit, live");
    const down = await page.$eval("#containers tr[data-down=true] td.name", (e) => e.textContent);
    check(down === "webbehind", "the dead container is marked down: " + down);

    await page.goto(cfg.url + "/#/agent/" + encodeURIComponent(cfg.withCtr));
    await page.waitForSelector("#containers-panel:not([hidden])", { timeout: 10000 });
    got = await rowsWhen(page, "#agent-containers", (r) => r.length === 2, "the agent's containers");
    const buttons = await page.$$eval("#agent-containers button", (l) => l.map((b) => b.textContent));
    check(buttons.length === 2 && buttons.every((b) => b === "Restart"), "restart buttons: " + buttons);
    check(await page.$eval("#btn-docker", (b) => b.hidden), "no docker_ps button: the heartbeats fill the table");

    await page.goto(cfg.url + "/#/agent/" + encodeURIComponent(cfg.plain));
    await page.waitForSelector("#btn-docker", { timeout: 10000 });
    check(await page.$eval("#containers-panel", (e) => e.hidden), "no Containers panel without Docker");
    check(!(await page.$eval("#btn-docker", (b) => b.hidden)), "the docker_ps button stays for it");
    check(problems.length === 0, "no page errors: " + problems.join("; "));
    result.ok = true;
  } catch (e) {
    result.ok = false;
    result.error = e.message;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main();
