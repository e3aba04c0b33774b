// tests/browser/terminal.mjs - the agent page's Terminal tab in real
// Chromium, driven by e2e.mjs (t: {cfg, check, note, openAgent, problems}).
//
// A shell on the agent over /ws/term: `echo $((6*7))` typed with the
// keyboard comes back as 42 in the xterm.js buffer (read through the one
// test hook, the terminal element's terminalText()); `stty size` shows the
// size the browser sent, and again after the window is made phone-narrow;
// a selection copies with Ctrl+Shift+C and Ctrl+Shift+V pastes; a 24-bit
// colour and the theme are drawn while not one Content-Security-Policy
// violation is reported (xterm.js writes styles: termcsp.js); `exit` ends
// the session with a message in the terminal and a Reconnect button that
// works; the session's recording replays (at 4×) and shows 42 again.  A
// viewer token gets an explanation and no session; so does an agent that
// went away, and a session open when it goes says so.
import { fits, WIDTH, HEIGHT } from "./phone.mjs";
import { signIn } from "./common.mjs";

// Installed with addInitScript before any page script runs.
export function recordCspViolations() {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(e.effectiveDirective + " " + (e.blockedURI || "") + " " + (e.sample || ""));
  });
}

// Whether the terminal in sel shows a line matching re within ms.
async function shows(page, sel, re, ms) {
  return page.waitForFunction(([s, src, flags]) => {
    const el = document.querySelector(s);
    return !!(el && el.terminalText && new RegExp(src, flags).test(el.terminalText()));
  }, [sel, re.source, re.flags], { timeout: ms, polling: 50 }).then(() => true, () => false);
}

async function text(page, sel) {
  return page.evaluate((s) => {
    const el = document.querySelector(s);
    return el && el.terminalText ? el.terminalText() : "";
  }, sel);
}

async function size(page) {
  return page.evaluate(() => {
    const d = document.getElementById("term").dataset;
    return { cols: Number(d.cols), rows: Number(d.rows) };
  });
}

async function typeLine(page, line) {
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
}

async function openTerminal(page, t) {
  await t.openAgent(page, t.cfg.shell);
  await page.click("#tab-terminal");
  const open = await page.waitForSelector('#term-status[data-state="ok"]', { timeout: 10000 })
    .then(() => true, () => false);
  t.check(open, "the Terminal tab opens a session: " +
    await page.textContent("#term-status").catch(() => "no status"));
  await page.click("#term");
}

async function echo42(page, t) {
  await typeLine(page, "echo $((6*7))");
  t.check(await shows(page, "#term", /^42\s*$/m, 10000),
    "typed `echo $((6*7))` + Enter: the terminal shows 42");
}

async function sttySize(page, t, what) {
  const s = await size(page);
  await typeLine(page, "stty size");
  t.check(await shows(page, "#term", new RegExp("^" + s.rows + " " + s.cols + "\\s*$", "m"), 10000),
    "`stty size` on the agent says " + s.rows + " " + s.cols + ", the size of the terminal " + what);
  return s;
}

// The window made phone-narrow and back: the terminal refits, the hub is
// told, the shell sees it; nothing sticks out of the phone's screen.
async function resize(page, t) {
  const before = await size(page);
  await page.setViewportSize({ width: WIDTH, height: HEIGHT });
  const narrowed = await page.waitForFunction((c) =>
    Number(document.getElementById("term").dataset.cols) < c, before.cols, { timeout: 5000 })
    .then(() => true, () => false);
  t.check(narrowed, "a narrower window refits the terminal (" + before.cols + " columns before)");
  await sttySize(page, t, "after the window was made " + WIDTH + " px wide");
  await fits(page, t, "the Terminal tab");
  await page.setViewportSize({ width: 1280, height: 860 });
  await page.waitForFunction((c) => Number(document.getElementById("term").dataset.cols) >= c,
    before.cols, { timeout: 5000 }).catch(() => {});
}

// Colours through the CSSOM, selection, copy and paste, and not one CSP
// violation for all of it.
async function stylesAndClipboard(page, t) {
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: t.cfg.url });
  await typeLine(page, "printf '\\033[38;2;255;120;0mtrue-colour\\033[0m\\n'");
  t.check(await shows(page, "#term", /^true-colour\s*$/m, 10000), "printf of a 24-bit colour ran");
  const drawn = await page.waitForFunction(() => {
    const rows = document.querySelector("#term .xterm-rows");
    const orange = [...document.querySelectorAll("#term .xterm-rows span")].some((s) =>
      s.textContent.includes("true-colour") && getComputedStyle(s).color === "rgb(255, 120, 0)");
    return rows && orange && getComputedStyle(rows).color === "rgb(229, 231, 235)";
  }, null, { timeout: 5000, polling: 50 }).then(() => true, () => false);
  t.check(drawn, "the theme and a 24-bit colour are drawn (through the CSSOM)");

  const box = await page.locator("#term .xterm-screen").boundingBox();
  await page.mouse.move(box.x + 2, box.y + 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height - 4, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.press("Control+Shift+C");
  const copied = await page.waitForFunction(async () =>
    /42/.test(await navigator.clipboard.readText()), null, { timeout: 3000, polling: 100 })
    .then(() => true, () => false);
  t.check(copied, "a selection in the terminal copies with Ctrl+Shift+C");

  await page.evaluate(() => navigator.clipboard.writeText("echo pasted-$((2*3))"));
  await page.keyboard.press("Control+Shift+V");
  await page.keyboard.press("Enter");
  t.check(await shows(page, "#term", /^pasted-6\s*$/m, 10000),
    "Ctrl+Shift+V pastes into the terminal (`echo pasted-$((2*3))` printed pasted-6)");

  const csp = await page.evaluate(() => ({ v: window.__csp, styles: document.querySelectorAll("style").length,
    adopted: document.adoptedStyleSheets.length }));
  t.check(csp.v.length === 0 && csp.styles === 0 && csp.adopted > 0,
    "xterm.js runs under the hub's CSP: " + csp.v.length + " violations (" +
    (csp.v.slice(0, 3).join(" | ") || "none") + "), " + csp.styles + " <style> elements, " +
    csp.adopted + " constructed stylesheets");
}

async function exitAndReplay(page, t) {
  await typeLine(page, "exit");
  const ended = await page.waitForFunction(() =>
    /shell exited/.test(document.getElementById("term-status").textContent), null, { timeout: 10000 })
    .then(() => true, () => false);
  const said = await text(page, "#term");
  t.check(ended && /\[maestro\] the shell exited/.test(said),
    "`exit` ends the session, and the terminal says so: " + (said.match(/\[maestro\].*/) || ["nothing"])[0]);
  const btn = await page.evaluate(() => {
    const b = document.getElementById("term-connect");
    return { text: b.textContent, disabled: b.disabled };
  });
  t.check(btn.text === "Reconnect" && !btn.disabled, "a Reconnect button is offered");

  // the list reloads on the feed's event; Refresh, should the hub's row lag
  let listed = false;
  for (let i = 0; i < 20 && !listed; i++) {
    listed = await page.waitForFunction(() => {
      const r = document.querySelector("#sessions tr[data-id]");
      return r && /exit 0/.test(r.textContent);
    }, null, { timeout: 500 }).then(() => true, () => false);
    if (!listed) await page.click("#sessions-refresh");
  }
  t.check(listed, "the session is listed under Terminal sessions, ended with exit 0");
  const id = await page.$eval("#sessions tr[data-id]", (r) => r.dataset.id);
  await page.click(`#sessions tr[data-id="${id}"] .replay-btn`);
  await page.waitForSelector('#replay[data-state="playing"]', { timeout: 10000 });
  await page.click("#replay-toggle");
  const paused = await page.getAttribute("#replay", "data-state");
  await page.click("#replay-toggle");
  await page.click("#replay-speed-4");
  const done = await page.waitForSelector('#replay[data-state="done"]', { timeout: 30000 })
    .then(() => true, () => false);
  const shown = await text(page, "#replay-term");
  t.check(paused === "paused" && done && /^42\s*$/m.test(shown) && /^true-colour\s*$/m.test(shown),
    "the recording of " + id + " replays (paused, then at 4×) and shows 42: " +
    await page.textContent("#replay-status"));

  await page.click("#term-connect");
  await page.waitForSelector('#term-status[data-state="ok"]', { timeout: 10000 });
  await page.click("#term");
  await typeLine(page, "echo again-$((1+1))");
  t.check(await shows(page, "#term", /^again-2\s*$/m, 10000), "Reconnect opens a new session that works");
}

export async function run(page, t) {
  const sockets = [];
  const onSocket = (ws) => sockets.push(ws.url());
  page.on("websocket", onSocket);
  await openTerminal(page, t);
  t.check(sockets.some((u) => u.endsWith("/ws/term")) && !sockets.some((u) => u.includes(t.cfg.token)),
    "the terminal's WebSocket is /ws/term, without the token in its URL");
  page.off("websocket", onSocket);
  await echo42(page, t);
  await sttySize(page, t, "the browser sent");
  await resize(page, t);
  await stylesAndClipboard(page, t);
  await exitAndReplay(page, t);
}

// A viewer token (on a phone): the tab explains, opens nothing, and the
// list offers no replay.
export async function viewer(browser, t) {
  const ctx = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, ignoreHTTPSErrors: true });
  try {
    const page = await ctx.newPage();
    page.on("pageerror", (e) => t.problems.push("viewer page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error") t.problems.push("viewer console: " + m.text()); });
    const sockets = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await signIn(page, t.cfg.url, t.cfg.viewer_token);
    await t.openAgent(page, t.cfg.shell);
    await page.click("#tab-terminal");
    await page.waitForSelector("#sessions tr[data-id]", { timeout: 10000 });
    const r = await page.evaluate(() => ({
      note: document.getElementById("term-note").textContent,
      disabled: document.getElementById("term-connect").disabled,
      replays: [...document.querySelectorAll("#sessions .replay-btn")].map((b) => b.disabled),
    }));
    t.check(r.disabled && /viewer/.test(r.note) && !sockets.some((u) => u.endsWith("/ws/term")),
      "a viewer token opens no terminal and is told why: " + r.note);
    t.check(r.replays.length > 0 && r.replays.every((d) => d),
      "a viewer sees the " + r.replays.length + " sessions, with Replay disabled");
    await fits(page, t, "the Terminal tab of a viewer, with the sessions");
  } finally {
    await ctx.close();
  }
}

// Before the listener is stopped: a session is open on it.
export async function beforeStop(page, t) {
  await openTerminal(page, t);
  await typeLine(page, "echo before-$((1+2))");
  t.check(await shows(page, "#term", /^before-3\s*$/m, 10000), "a session is open before the stop");
  await page.click("#tab-overview");
}

// After: the session says it ended because the agent went, and no new
// one can be opened while the agent is offline.
export async function afterStop(page, t) {
  await page.click("#tab-terminal");
  const ended = await page.waitForFunction(() =>
    /^Session ended/.test(document.getElementById("term-status").textContent), null, { timeout: 10000 })
    .then(() => true, () => false);
  const said = (await text(page, "#term")).match(/\[maestro\].*/);
  t.check(ended && said && !/connection to the hub/.test(said[0]),
    "the open session ends when the agent goes, and the terminal says why: " + (said ? said[0] : "nothing"));
  const r = await page.evaluate(() => ({
    note: document.getElementById("term-note").textContent,
    disabled: document.getElementById("term-connect").disabled,
  }));
  t.check(r.disabled && /offline/.test(r.note), "while the agent is offline the tab says so: " + r.note);
}
