// tests/browser/signed.mjs - operator-signed commands from the dashboard,
// in a real headless Chromium.
//
//   node tests/browser/signed.mjs CONFIG.json
//
// Driven by tests/integration/test_signed_ctl.py, which starts a hub and a
// listener that requires commands signed by the key "alice" and writes
// CONFIG: {url, token, chromium, agent, pem (alice's unencrypted PKCS#8),
// enc_pem (an encrypted key), line (alice's public line)}.  Without a key
// the agent's command and terminal buttons are disabled with the reason
// and the hubctl line; an encrypted key is refused with the openssl line;
// alice's key loaded, a shell command runs signed and streams its output
// and the terminal opens a signed session; the key is in no storage; after
// "Forget key" the buttons are disabled again.  Prints one JSON line; exit
// status 0 when every check passed.
import { readFileSync } from "node:fs";
import { launch, signIn } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { checks: [] };

function check(ok, what) {
  result.checks.push((ok ? "ok " : "FAIL ") + what);
  if (!ok) throw new Error(what);
}

const disabled = (page, sel) => page.$eval(sel, (e) => e.disabled);

async function until(page, fn, arg, ms) {
  return page.waitForFunction(fn, arg, { timeout: ms, polling: 50 }).then(() => true, () => false);
}

async function blocked(page, what) {
  const ok = await until(page, () => {
    const b = document.getElementById("sign-block");
    return b && !b.hidden && document.getElementById("shell-run").disabled;
  }, null, 10000);
  check(ok, what + ": the Run button is disabled with a reason shown");
  const why = await page.textContent("#sign-block");
  check(why.includes("hubctl --key NAME send " + cfg.agent + " shell -- CMD"),
    what + ": the reason gives the hubctl line: " + why);
  for (const id of ["btn-restart", "btn-stop", "btn-screenshot"]) {
    check(await disabled(page, "#" + id), what + ": #" + id + " is disabled");
  }
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
    await page.goto(cfg.url + "/#/agent/" + encodeURIComponent(cfg.agent));
    await blocked(page, "no key loaded");
    await page.click("#tab-terminal");
    const termBlocked = await until(page, () => {
      const n = document.getElementById("term-note");
      return n && !n.hidden && document.getElementById("term-connect").disabled;
    }, null, 5000);
    check(termBlocked, "no key loaded: the terminal's Connect is disabled");
    const note = await page.textContent("#term-note");
    check(note.includes("hubctl --key NAME term " + cfg.agent), "the terminal's reason: " + note);
    await page.click("#tab-overview");

    // an encrypted key: refused, with how to export it
    await page.fill("#key-pem", cfg.enc_pem);
    await page.click("#key-load");
    check(await until(page, () => /encrypted/.test(document.getElementById("key-status").textContent),
      null, 5000), "an encrypted key is refused");
    const encWhy = await page.textContent("#key-status");
    check(encWhy.includes("openssl pkey"), "the refusal says how to export it: " + encWhy);
    await blocked(page, "after the encrypted key");

    // alice's key
    await page.fill("#key-pem", cfg.pem);
    await page.fill("#key-name", "alice");
    await page.click("#key-load");
    check(await until(page, (l) => document.getElementById("key-status").textContent === "Loaded: " + l,
      cfg.line, 5000), "alice's key loads and shows its public line");
    check(await page.inputValue("#key-pem") === "", "the pasted PEM is cleared from the page");
    check(await until(page, () => !document.getElementById("shell-run").disabled &&
      document.getElementById("sign-block").hidden, null, 5000), "with the key, Run is enabled");
    const stored = await page.evaluate(() => JSON.stringify([localStorage, sessionStorage]));
    check(!stored.includes("PRIVATE") && !stored.includes(cfg.pem.split("\n")[1].slice(0, 20)),
      "the key is in neither localStorage nor sessionStorage");

    await page.fill("#shell-cmd", "echo signed-$((20+22))");
    await page.click("#shell-run");
    check(await until(page, () => document.getElementById("shell-out").textContent.includes("signed-42") &&
      document.getElementById("shell-status").dataset.state === "ok", null, 15000),
    "a signed shell command runs and streams its output: " + await page.textContent("#shell-status"));

    await page.click("#tab-terminal");
    const open = await page.waitForSelector('#term-status[data-state="ok"]', { timeout: 10000 })
      .then(() => true, () => false);
    check(open, "a signed terminal session opens: " + await page.textContent("#term-status"));
    await page.click("#term");
    await page.keyboard.type("echo $((6*7))");
    await page.keyboard.press("Enter");
    check(await until(page, () => {
      const el = document.getElementById("term");
      return !!(el && el.terminalText && /^42\s*$/m.test(el.terminalText()));
    }, null, 10000), "the signed session runs what is typed");
    await page.click("#tab-overview");

    await page.click("#key-forget");
    await blocked(page, "after Forget key");
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
