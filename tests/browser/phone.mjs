// tests/browser/phone.mjs - the dashboard on a phone-sized screen
// (390 x 844), in its own browser context, driven by e2e.mjs.
//
// On a phone nothing may stick out of the screen: the page never scrolls
// sideways, and every element lies within the screen unless a box that
// scrolls (or clips) sideways holds it.  Tables scroll in their own box
// instead of squeezing their cells: no word in a cell is cut across lines
// (a line may end after a hyphen, where text normally breaks), and no
// cell's text runs out of its cell unless it ends in an ellipsis on
// purpose.  Command output keeps its columns and scrolls.
export const WIDTH = 390;
export const HEIGHT = 844;

// Every element that sticks out of the screen sideways, outside any box
// that scrolls or clips sideways; and the page's own scroll width.
function overflowing() {
  const vw = window.innerWidth;
  const clips = (e) => /^(auto|scroll|hidden|clip)$/.test(getComputedStyle(e).overflowX);
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\s+/).join(".") : "");
  const bad = [];
  for (const e of document.body.querySelectorAll("*")) {
    if (!e.getClientRects().length) continue;        // not rendered
    let inside = false;
    for (let p = e.parentElement; p && p !== document.body && !inside; p = p.parentElement) {
      inside = clips(p);
    }
    if (inside) continue;
    const r = e.getBoundingClientRect();
    if (r.left < -1 || r.right > vw + 1) {
      bad.push(name(e) + " " + Math.round(r.left) + ".." + Math.round(r.right));
    }
  }
  return { vw, page: document.scrollingElement.scrollWidth, bad };
}

// Words cut inside table cells, and cells whose text runs out of them.
// A word is cut when its letters lie on more than one line, except right
// after a hyphen.  Text in a <pre> (command output) is left to the output
// check.
function cutCells(scope) {
  const cut = [], spill = [];
  const cells = document.querySelectorAll(scope + " table:not(.u-legend) td, " +
    scope + " table:not(.u-legend) th");
  const line = (rects) => new Set([...rects].filter((x) => x.width > 0).map((x) => Math.round(x.top)));
  for (const cell of cells) {
    if (!cell.getClientRects().length) continue;
    const st = getComputedStyle(cell);
    if (st.textOverflow !== "ellipsis" && !cell.querySelector("pre") &&
        cell.scrollWidth > cell.clientWidth + 1) {
      spill.push(cell.textContent.slice(0, 40) + " (" + cell.scrollWidth + " > " + cell.clientWidth + ")");
    }
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest("pre")) continue;
      const re = /\S+/g;
      for (let m = re.exec(n.data); m; m = re.exec(n.data)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        if (line(r.getClientRects()).size <= 1) continue;
        let prev = null, bad = false;
        for (let i = 0; i < m[0].length; i++) {
          r.setStart(n, m.index + i);
          r.setEnd(n, m.index + i + 1);
          const rc = [...r.getClientRects()].find((x) => x.width > 0);
          if (!rc) continue;
          const top = Math.round(rc.top);
          if (prev !== null && top !== prev && m[0][i - 1] !== "-") bad = true;
          prev = top;
        }
        if (bad) cut.push(m[0]);
      }
    }
  }
  return { cells: cells.length, cut, spill };
}

export async function fits(page, t, what) {
  const r = await page.evaluate(overflowing);
  t.check(r.vw === WIDTH && r.page <= WIDTH && r.bad.length === 0,
    "phone, " + what + ": nothing wider than the " + r.vw + " px screen (page " + r.page +
    " px wide; sticking out: " + (r.bad.slice(0, 6).join(", ") || "none") + ")");
}

export async function wordsWhole(page, t, scope, what) {
  const r = await page.evaluate(cutCells, scope);
  t.check(r.cells > 0 && r.cut.length === 0 && r.spill.length === 0,
    "phone, " + what + ": " + r.cells + " table cells, no word cut across lines (" +
    (r.cut.slice(0, 8).join(" | ") || "none") + "), no text running out of its cell (" +
    (r.spill.slice(0, 4).join(" | ") || "none") + ")");
}

async function shellOutput(page, t) {
  await page.fill("#shell-cmd", "df -h; seq -s ' ' 1 99");
  await page.click("#shell-run");
  await page.waitForFunction(() =>
    /exit 0/.test(document.getElementById("shell-status").textContent), null, { timeout: 15000 });
  const o = await page.evaluate(() => {
    const e = document.getElementById("shell-out");
    const st = getComputedStyle(e);
    // each line of the output must stay one line on the screen
    let wrapped = 0, lines = 0;
    const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      let from = 0;
      for (const l of n.data.split("\n")) {
        if (l.trim()) {
          const r = document.createRange();
          r.setStart(n, from);
          r.setEnd(n, from + l.length);
          const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0)
            .map((x) => Math.round(x.top)));
          lines++;
          if (tops.size > 1) wrapped++;
        }
        from += l.length + 1;
      }
    }
    return { ws: st.whiteSpace, ox: st.overflowX, sw: e.scrollWidth, cw: e.clientWidth, lines, wrapped };
  });
  t.check(o.ws === "pre" && o.ox === "auto" && o.sw > o.cw,
    "phone: shell output keeps its columns (white-space " + o.ws + ", overflow-x " + o.ox +
    ") and scrolls sideways (" + o.sw + " px in " + o.cw + ")");
  t.check(o.lines > 2 && o.wrapped === 0,
    "phone: none of the " + o.lines + " output lines (df -h, a long line) wraps (" + o.wrapped + " do)");
}

// Sign in on a phone, then the cards, an agent's page (charts, the shell
// with df -h, the containers and the command history) and the event log.
export async function run(browser, t, mockDocker) {
  const ctx = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT },
    ignoreHTTPSErrors: true });
  try {
    const page = await ctx.newPage();
    page.on("pageerror", (e) => t.problems.push("phone page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error") t.problems.push("phone console: " + m.text()); });
    await page.goto(t.cfg.url + "/");
    await page.fill("#token", t.cfg.token);
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("#cards .card", { timeout: 10000 });
    await fits(page, t, "the agent cards");

    await t.openAgent(page, t.cfg.shell);
    await page.waitForFunction(() => document.querySelectorAll("#history tr[data-id]").length > 5 &&
      document.querySelectorAll("#agent-view .uplot").length >= 4, null, { timeout: 10000 });
    await shellOutput(page, t);
    const unroute = await mockDocker(page);
    await page.click("#btn-docker");
    await page.waitForSelector("#docker tbody tr:nth-child(2)", { timeout: 5000 });
    await unroute();
    // a row's output opened in place must not widen the page either
    const id = await page.$eval("#history tr[data-id]", (r) => r.dataset.id);
    await page.click(`#history tr[data-id="${id}"]`);
    await page.waitForFunction((cid) => [...document.querySelectorAll("#agent-view pre")]
      .some((p) => p.textContent.startsWith(cid + " ")), id, { timeout: 5000 });
    await fits(page, t, "an agent's page");
    await wordsWhole(page, t, "#agent-view", "the command history and the containers");
    if (t.cfg.phone_artifact) {
      await page.screenshot({ path: t.cfg.phone_artifact.replace(/\.png$/, "-agent.png"), fullPage: true });
    }

    await page.evaluate(() => { location.hash = "#/events"; });
    await page.waitForFunction(() => document.querySelectorAll("#events tr").length > 10, null,
      { timeout: 5000 });
    await fits(page, t, "the event log");
    await wordsWhole(page, t, "#events-view", "the event log");
    if (t.cfg.phone_artifact) {
      await page.screenshot({ path: t.cfg.phone_artifact.replace(/\.png$/, "-events.png"), fullPage: true });
    }
  } finally {
    await ctx.close();
  }
}
