// tests/browser/config.mjs - the dashboard's Config view (#/config) in a
// real headless Chromium.
//
//   node tests/browser/config.mjs CONFIG.json
//
// Driven by tests/integration/test_gitcfg_diff.py, which starts a hub
// following a bare repository whose commit a is in force, pushes commit b
// (a subject shaped like HTML) without syncing, and writes CONFIG: {url,
// token, chromium, a, b, plain_url, plain_token (a hub with no config
// repository), artifact}.  The page shows a as in force and the diff to b;
// "Sync now" applies b; "Roll back to this" on a's row, confirmed, puts a
// back; the hub with no repository says how to set one.  Every text is
// shown as text, under the hub's CSP with no violation, and on a phone
// nothing sticks out of the screen (phone.mjs).  Prints one JSON
// line; exit status 0 when every check passed.
import { readFileSync } from "node:fs";
import { launch, signIn } from "./common.mjs";
import { recordCspViolations } from "./terminal.mjs";
import { fits, wordsWhole, WIDTH, HEIGHT } from "./phone.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { checks: [] };

function check(ok, what) {
  result.checks.push((ok ? "ok " : "FAIL ") + what);
  if (!ok) throw new Error(what);
}
const t = { check };

async function until(page, fn, arg, ms) {
  return page.waitForFunction(fn, arg, { timeout: ms, polling: 50 }).then(() => true, () => false);
}

const inForce = (page, id, ms) => until(page, (c) => {
  const e = document.getElementById("cfg-applied");
  return !!e && e.dataset.commit === c;
}, id, ms);

async function openConfig(page, url, token) {
  await signIn(page, url, token);
  await page.goto(url + "/#/config");
}

async function main() {
  const browser = await launch(cfg);
  const problems = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 },
      ignoreHTTPSErrors: true });
    await ctx.addInitScript(recordCspViolations);
    const page = await ctx.newPage();
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("dialog", (d) => { problems.push("dialog: " + d.message()); d.dismiss(); });
    await openConfig(page, cfg.url, cfg.token);

    check(await inForce(page, cfg.a, 10000), "commit a is shown in force");
    const head = await page.textContent("#cfg-applied");
    check(head.includes(cfg.a.slice(0, 12)) && head.includes("start"), "its id and subject: " + head);
    check(await until(page, () => {
      const d = document.getElementById("cfg-diff");
      return !!d && d.textContent.includes("+load1 > 20 for 1m") && d.textContent.includes("-load1 > 10 for 1m");
    }, null, 10000), "the diff shows the pushed commit's lines");
    const note = await page.textContent("#cfg-diff-note");
    check(note.includes(cfg.b.slice(0, 12)) && note.includes("rules.conf (modified)"),
      "the diff names the target and its file: " + note);
    check(await page.$$eval("#cfg-diff .d-add", (l) => l.some((e) => e.textContent.startsWith("+load1"))),
      "added lines are marked for their colour");

    await page.click("#cfg-sync");
    check(await inForce(page, cfg.b, 15000), "Sync now applies the pushed commit");
    check(await until(page, () => {
      const s = document.getElementById("cfg-status");
      return !!s && s.dataset.state === "ok";
    }, null, 5000), "the sync's outcome is said: " + await page.textContent("#cfg-status"));
    const subj = await page.textContent("#cfg-applied");
    check(subj.includes(cfg.xss), "the HTML-shaped subject is shown as text: " + subj);
    check(await page.$$eval("#config-view img", (l) => l.length) === 0, "and made no element");
    check(await until(page, () => /Nothing differs/.test(document.getElementById("cfg-diff-note").textContent),
      null, 10000), "after the sync nothing differs");

    const row = `#cfg-log tr[data-commit="${cfg.a}"] .cfg-rollback`;
    await page.click(row);
    await page.waitForSelector("#cfg-rollback-yes", { timeout: 5000 });
    check(await page.$eval("#cfg-applied", (e) => e.dataset.commit) === cfg.b,
      "nothing is rolled back before the confirmation");
    await page.click("#cfg-rollback-yes");
    check(await inForce(page, cfg.a, 15000), "Roll back to this, confirmed, puts commit a in force");
    check((await page.textContent("#cfg-applied")).includes("rolled back"), "it says it was rolled back to");
    check(await until(page, () => {
      const d = document.getElementById("cfg-diff");
      return !!d && d.textContent.includes("+load1 > 20 for 1m");
    }, null, 10000), "after the rollback the diff shows the tip again");
    await page.screenshot({ path: cfg.artifact, fullPage: true });

    const csp = await page.evaluate(() => window.__csp);
    check(csp.length === 0, "no CSP violation: " + csp.join(" | "));

    const phoneCtx = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT },
      ignoreHTTPSErrors: true });
    const phone = await phoneCtx.newPage();
    phone.on("pageerror", (e) => problems.push("page error (phone): " + e.message));
    await openConfig(phone, cfg.url, cfg.token);
    check(await inForce(phone, cfg.a, 10000), "phone: the page shows the commit in force");
    await phone.waitForSelector("#cfg-diff .d-add", { timeout: 10000 });
    await fits(phone, t, "the config page");
    await wordsWhole(phone, t, "#config-view", "the config log");
    await phoneCtx.close();

    const plain = await ctx.newPage();
    plain.on("pageerror", (e) => problems.push("page error (plain hub): " + e.message));
    await openConfig(plain, cfg.plain_url, cfg.plain_token);
    check(await until(plain, () => {
      const e = document.getElementById("cfg-off");
      return !!e && e.textContent.includes("config_repo") && e.textContent.includes("docs/config.md");
    }, null, 10000), "a hub with no repository says how to set one");
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
