// tests/browser/gpu.mjs - an agent's GPU and temperatures on the dashboard,
// in a real headless Chromium.
//
//   node tests/browser/gpu.mjs CONFIG.json
//
// Driven by tests/integration/test_gpu_hub.py, which starts a hub and two
// scripted agents and writes CONFIG: {url, token, chromium, gpu: the agent
// with GPUs (busiest at gpu_util %, hottest GPU gpu_temp, CPU cpu_temp),
// plain: the agent without, gpu_util, gpu_temp, cpu_temp}.  Checks the
// cards (a GPU bar and temperatures only on the GPU agent's) and the GPU
// agent's page (its GPU and temperature charts, drawn).  Prints one JSON
// line; exit status 0 when every check passed.
import { readFileSync } from "node:fs";
import { launch, signIn } from "./common.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { checks: [] };

function check(ok, what) {
  result.checks.push((ok ? "ok " : "FAIL ") + what);
  if (!ok) throw new Error(what);
}

// The card's GPU row and temperature line, as a person sees them.
function cardHw(name) {
  for (const c of document.querySelectorAll("#cards .card")) {
    if (c.dataset.agent !== name) continue;
    const gpu = [...c.querySelectorAll(".bar")].find((b) => b.querySelector(".lbl").textContent === "GPU");
    const temps = c.querySelector(".temps");
    return {
      gpu: gpu && !gpu.hidden && gpu.offsetParent !== null ? gpu.querySelector(".val").textContent : null,
      temps: temps && !temps.hidden ? temps.textContent : null,
    };
  }
  return null;
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
    const want = { gpu: cfg.gpu_util + "%", temps: "GPU " + cfg.gpu_temp + "°C · CPU " + cfg.cpu_temp + "°C" };
    // the feed brings the figures; poll until they show or time runs out
    for (const end = Date.now() + 10000; Date.now() < end;) {
      const hw = await page.evaluate(cardHw, cfg.gpu);
      if (hw && hw.gpu === want.gpu && hw.temps === want.temps) break;
      await page.waitForTimeout(100);
    }
    const gpu = await page.evaluate(cardHw, cfg.gpu);
    check(gpu && gpu.gpu === want.gpu && gpu.temps === want.temps,
      "the GPU agent's card shows its busiest GPU and temperatures: " + JSON.stringify(gpu));
    const plain = await page.evaluate(cardHw, cfg.plain);
    check(plain && plain.gpu === null && plain.temps === null,
      "the card of the agent without GPU or sensor shows neither: " + JSON.stringify(plain));

    await page.click(`#cards .card[data-agent="${cfg.gpu}"]`);
    await page.waitForFunction(() => document.querySelectorAll("#agent-view .uplot").length === 8,
      null, { timeout: 10000 }).catch(() => {});
    const titles = await page.$$eval("#agent-view .uplot .u-title", (l) => l.map((x) => x.textContent));
    check(titles.filter((x) => x === "GPU").length === 2 &&
      titles.filter((x) => x === "Temperature").length === 2,
      "the agent page charts GPU and temperature, live and history: " + titles.join(", "));
    const legend = await page.$$eval("#live-hw .u-legend .u-label", (l) => l.map((x) => x.textContent));
    check(["GPU %", "GPU memory %", "GPU °C", "CPU °C"].every((k) => legend.includes(k)),
      "the hardware charts' series: " + legend.join(", "));
    const now = await page.textContent("#agent-view .nowbars");
    check(now.includes("GPU " + cfg.gpu_util + "% (2 GPUs)") && now.includes("CPU " + cfg.cpu_temp + "°C"),
      "the agent page's figures: " + now);

    await page.goto(cfg.url + "/#/agent/" + encodeURIComponent(cfg.plain));
    await page.waitForFunction(() => document.querySelectorAll("#agent-view .uplot").length >= 4,
      null, { timeout: 10000 });
    const n = await page.$$eval("#agent-view .uplot", (l) => l.length);
    check(n === 4, "the page of the agent without GPU has its four charts only (" + n + ")");
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
