// tests/browser/polish.mjs - the agent page and the event log say what is
// true, driven by e2e.mjs (t: {cfg, check, note, openAgent, problems}).
//
// An unknown agent is "no such agent", not a page of buttons; a refused
// token leaves no "connecting" badge; a critical agent is not called
// connected; chart times are 24-hour and their legends show numbers; a
// clicked history row's output opens where the row is; an offline agent's
// shell can queue; Restart asks first; the event log names the command
// and its outcome once, and a first connection is not "online again".

// Canvas text, recorded for the axis check (installed with addInitScript
// before any page script runs: uPlot draws its axes with fillText).
export function recordCanvasText() {
  window.__drawn = [];
  const fill = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    if (window.__drawn.length < 20000) window.__drawn.push(String(text));
    return fill.call(this, text, ...rest);
  };
}

async function api(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, { method: m, headers: {
      Authorization: "Bearer " + sessionStorage.getItem("maestro-token"),
      "Content-Type": "application/json" }, body: b ? JSON.stringify(b) : undefined });
    return { status: r.status, doc: await r.json() };
  }, [method, path, body]);
}

// Enough commands for a command history longer than the screen, and one
// that times out (its event must say "timeout" once).
export async function manyCommands(page, t) {
  const path = "/api/agents/" + encodeURIComponent(t.cfg.shell) + "/command";
  const slow = await api(page, "POST", path, { type: "shell", cmd: "sleep 5", timeout: 1 });
  t.check(slow.status === 202, "a command that will time out is accepted");
  const n = 40;
  const all = await Promise.all(Array.from({ length: n }, () =>
    api(page, "POST", path, { type: "shell", cmd: "true" })));
  t.check(all.every((r) => r.status === 202), n + " short commands are accepted");
  await page.waitForFunction((k) => document.querySelectorAll("#history tr[data-id]").length >= k,
    n + 2, { timeout: 15000 });
  t.note("timeout_cmd", slow.doc.id);
}

export async function historyInPlace(page, t) {
  const id = await page.evaluate(() => {
    const r = document.querySelector("#history tr[data-id]");
    r.scrollIntoView({ block: "start" });
    return r.dataset.id;
  });
  const below = await page.evaluate(() =>
    document.getElementById("history").getBoundingClientRect().bottom > window.innerHeight);
  t.check(below, "the command history runs past the bottom of the screen");
  await page.click(`#history tr[data-id="${id}"]`);
  await page.waitForFunction((cid) => {
    const o = [...document.querySelectorAll("#agent-view pre")]
      .find((p) => p.textContent.startsWith(cid + " "));
    if (!o) return false;
    const r = o.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.top < window.innerHeight - 20;
  }, id, { timeout: 5000 });
  t.check(true, "a clicked history row's output opens on screen, not below the table");
}

// The first two charts' legend values: [[time, value, ...], ...], and
// whether each shows a time and at least one number, and no "--".
function legendValues() {
  const ls = [...document.querySelectorAll("#agent-view .u-legend")].slice(0, 2)
    .map((l) => [...l.querySelectorAll(".u-value")].map((v) => v.textContent));
  const good = ls.length === 2 && ls.every((vs) => vs.length > 1 && /\d/.test(vs[0]) &&
    vs.slice(1).some((v) => /\d/.test(v)) && vs.every((v) => v !== "--"));
  return { ls, good };
}

export async function charts(page, t) {
  await page.waitForFunction(() => document.querySelectorAll("#agent-view .uplot").length >= 4, null,
    { timeout: 5000 });
  const over = page.locator("#agent-view .uplot .u-over").first();
  await over.scrollIntoViewIfNeeded();
  await over.hover();
  const under = await page.evaluate(legendValues);
  await page.mouse.move(1, 1);
  await page.waitForFunction("(" + legendValues + ")().good", null, { timeout: 5000 })
    .catch(() => {});
  const idle = await page.evaluate(legendValues);
  t.check(idle.good && /\d/.test(under.ls[0][0]), "the live charts' legends show the time and values " +
    "(under the cursor: " + under.ls[0].join(" ") + "; away from it, the latest: " +
    idle.ls.map((vs) => vs.join(" ")).join(" / ") + ")");
  const drawn = await page.evaluate(() => window.__drawn || []);
  const twelve = drawn.filter((s) => /\d\s*[ap]m\b/i.test(s));
  const times = drawn.filter((s) => /^\d{2}:\d{2}(:\d{2})?$/.test(s));
  t.check(drawn.length > 0 && twelve.length === 0 && times.length > 0,
    "chart axes use 24-hour times (" + times.slice(0, 4).join(" ") + "; 12-hour: " +
    (twelve.slice(0, 4).join(" ") || "none") + ")");
}

// Restart, like Stop, asks first (the hub's answer is stubbed: the
// listener is not really restarted), and then says where its status shows.
export async function restartAsks(page, t) {
  const sent = [];
  await page.route("**/api/agents/*/restart", (route) => {
    sent.push(route.request().url());
    return route.fulfill({ status: 202, contentType: "application/json", body: '{"id":"c-fakerestart"}' });
  });
  await page.click("#btn-restart");
  const asked = await page.waitForSelector("#agent-view .confirm button", { timeout: 3000 })
    .then(() => true, () => false);
  t.check(asked && sent.length === 0, "Restart asks for a confirmation and sends nothing before it");
  await page.click("#btn-restart-yes");
  await page.waitForFunction(() => /sent/.test(document.getElementById("action-status").textContent),
    null, { timeout: 5000 });
  const said = await page.textContent("#action-status");
  t.check(sent.length === 1 && !/card/.test(said), "after Yes the restart is sent and the page " +
    "points at something it shows: " + said);
  await page.unroute("**/api/agents/*/restart");
}

export async function unknownAgent(page, t) {
  await page.evaluate(() => { location.hash = "#/agent/no-such"; });
  await page.waitForFunction(() =>
    /no such agent/i.test(document.getElementById("agent-view").textContent), null, { timeout: 5000 });
  const controls = await page.$$eval("#agent-view button, #agent-view input, #agent-view select",
    (l) => l.length);
  t.check(controls === 0, "#/agent/no-such says \"no such agent\" and offers no buttons (" +
    controls + " controls)");
}

export async function criticalPage(page, t) {
  await t.openAgent(page, t.cfg.victim);
  await page.waitForFunction(() => document.getElementById("agent-view").dataset.status === "critical",
    null, { timeout: 5000 });
  const head = await page.textContent("#agent-view .agent-head");
  t.check(!/connected/i.test(head), "a critical agent's page does not call it connected: " + head);
}

// After the stop: the agent is offline, the shell may let the hub hold a
// command for it, and the hub takes it (202, then queued).
export async function queueOffline(page, t) {
  await t.openAgent(page, t.cfg.shell);
  await page.waitForFunction(() => document.getElementById("agent-view").dataset.status === "offline",
    null, { timeout: 5000 });
  const options = await page.$$eval("#agent-view select option", (l) => l.map((o) => o.value));
  t.check(options.includes("5m"), "an offline agent's shell has a queue choice (" + options.join(",") + ")");
  await page.selectOption("#agent-view form select", "5m");
  await page.fill("#shell-cmd", "echo queued");
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/command") && r.request().method() === "POST",
      { timeout: 5000 }),
    page.click("#shell-run")]);
  const sent = JSON.parse(resp.request().postData());
  const { id } = await resp.json();
  t.check(resp.status() === 202 && sent.queue === "5m", "the queued command is accepted: " +
    resp.status() + " " + JSON.stringify(sent));
  await page.waitForFunction(() => /^queued/.test(document.getElementById("shell-status").textContent),
    null, { timeout: 5000 });
  const c = await api(page, "GET", "/api/commands/" + id);
  t.check(c.doc.status === "queued", "the hub holds it: " + c.doc.status + "; the page says: " +
    await page.textContent("#shell-status"));
}

export async function eventLog(page, t, shellCmd) {
  await page.evaluate(() => { location.hash = "#/events"; });
  const rows = async () => page.$$eval("#events tr", (l) => l.map((r) => ({
    cls: r.className, text: r.textContent, what: r.lastChild.textContent })));
  // the timed-out command and the first connections' notices are in
  await page.waitForFunction(([names]) => {
    const texts = [...document.querySelectorAll("#events tr")].map((r) => r.textContent);
    return texts.some((x) => /sleep 5/.test(x) && /timeout/.test(x)) &&
      names.every((n) => texts.some((x) => x.includes(n) && /first time/.test(x)));
  }, [t.cfg.agents], { timeout: 10000 }).catch(() => {});
  const all = await rows();
  const cmds = all.filter((r) => r.cls.includes("ev-command"));
  const once = (r) => {
    const to = (r.cls.match(/to-(\w+)/) || [])[1];
    return to && r.what.split(to).length === 2;
  };
  const twice = cmds.filter((r) => !once(r)).map((r) => r.what);
  const mine = cmds.find((r) => r.what.includes(shellCmd));
  const slow = cmds.find((r) => r.what.includes("sleep 5"));
  t.check(mine && slow && /timeout/.test(slow.what) && twice.length === 0,
    "command events name the command and say the outcome once: " +
    (mine ? mine.what : "no row with " + shellCmd) + " | " + (slow ? slow.what : "no sleep 5 row") +
    (twice.length ? " | twice: " + twice.slice(0, 3).join(" | ") : ""));
  const again = all.filter((r) => /again/i.test(r.text)).map((r) => r.text);
  const first = t.cfg.agents.filter((n) =>
    all.some((r) => r.cls.includes("ev-status") && r.text.includes(n) && /first connection/.test(r.text)) &&
    all.some((r) => r.cls.includes("ev-alert") && r.text.includes(n) && /first time/.test(r.text)));
  t.check(again.length === 0 && first.length === t.cfg.agents.length,
    "first connections are told as such (" + first.length + " of " + t.cfg.agents.length +
    "), none as \"online again\" (" + (again.slice(0, 3).join(" | ") || "none") + ")");
}

export async function refusedToken(browser, t) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await ctx.newPage();
    await page.goto(t.cfg.url + "/");
    await page.fill("#token", "t00000000.no-such-secret");
    await page.click("#signin button[type=submit]");
    await page.waitForFunction(() => /refused/i.test(document.getElementById("error").textContent),
      null, { timeout: 10000 });
    const live = await page.textContent("#live");
    t.check(!/connect/i.test(live), "after a refused token the header badge says \"" + live +
      "\", not \"connecting\"");
  } finally {
    await ctx.close();
  }
}
