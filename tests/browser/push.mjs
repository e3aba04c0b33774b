// tests/browser/push.mjs - the dashboard's "Notify me on this device" in a
// real headless Chromium.
//
//   node tests/browser/push.mjs CONFIG.json
//
// Driven by tests/integration/test_push.py, which starts a plain-HTTP hub
// on 127.0.0.1 (a secure context, so service workers are allowed) and
// writes CONFIG: {url, token (a viewer), chromium, mine: [ids], other: id}
// after subscribing through the API twice for this token and once for
// another.  The panel registers /sw.js at scope /, lists this token's
// subscriptions only, and Revoke removes one.  "Notify me" fetches the
// VAPID key and asks the browser to subscribe: headless Chromium has no
// push service to subscribe with, so the outcome (a subscription posted,
// or the browser's refusal shown) is reported, not required.  No CSP
// violation.  Prints one JSON line; exit status 0 when every check passed.
import { readFileSync } from "node:fs";
import { launch, signIn } from "./common.mjs";
import { recordCspViolations } from "./terminal.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { checks: [] };

function check(ok, what) {
  result.checks.push((ok ? "ok " : "FAIL ") + what);
  if (!ok) throw new Error(what);
}

async function until(page, fn, arg, ms) {
  return page.waitForFunction(fn, arg, { timeout: ms, polling: 50 }).then(() => true, () => false);
}

const listed = (page) => page.$$eval("#push-list li", (ls) => ls.map((l) => l.dataset.id).sort());

async function main() {
  const browser = await launch(cfg);
  const problems = [];
  const seen = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.grantPermissions(["notifications"], { origin: cfg.url });
    await ctx.addInitScript(recordCspViolations);
    const page = await ctx.newPage();
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("request", (r) => seen.push(r.method() + " " + new URL(r.url()).pathname));
    await signIn(page, cfg.url, cfg.token);
    await page.click("#push-toggle");
    check(await until(page, () => document.getElementById("push-state").textContent.length > 0, null, 10000),
      "the panel says this device's state");
    const scope = await page.evaluate(async () => {
      const r = await navigator.serviceWorker.getRegistration("/");
      return r ? r.scope : null;
    });
    check(scope === cfg.url + "/", "service worker registered at scope / (" + scope + ")");
    check(await until(page, (n) => document.querySelectorAll("#push-list li").length === n, cfg.mine.length, 5000),
      "the token's subscriptions are listed");
    const ids = await listed(page);
    check(JSON.stringify(ids) === JSON.stringify([...cfg.mine].sort()) && !ids.includes(cfg.other),
      "only this token's subscriptions: " + ids.join(","));
    await page.click(`#push-list li[data-id="${cfg.mine[0]}"] button`);
    check(await until(page, (id) => !document.querySelector(`#push-list li[data-id="${id}"]`), cfg.mine[0], 5000),
      "Revoke removes it from the list");
    await page.click("#push-enable");
    check(await until(page, () => /Could not|gets alerts|blocked/.test(document.getElementById("push-state").textContent), null, 15000),
      "subscribing ends in a state shown");
    check(seen.includes("GET /api/push/key"), "the VAPID key was fetched");
    result.subscribe = await page.textContent("#push-state");
    result.posted = seen.includes("POST /api/push/subscriptions");
    const csp = await page.evaluate(() => window.__csp);
    check(csp.length === 0, "no CSP violation: " + csp.join("; "));
    check(problems.length === 0, "no page error: " + problems.join("; "));
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
