// What every browser test does alike: Debian's Chromium (or CONFIG's
// "chromium"), headless, driven by playwright-core; and signing in to
// the dashboard with a token.
import { chromium } from "playwright-core";

export function launch(cfg) {
  return chromium.launch({
    executablePath: cfg.chromium || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
      "--disable-background-networking"],
  });
}

// The sign-in form on url's dashboard; resolves once the page says it is
// signed in.
export async function signIn(page, url, token) {
  await page.goto(url + "/");
  await page.fill("#token", token);
  await page.click("#signin button[type=submit]");
  await page.waitForSelector("body[data-signed-in]", { timeout: 10000 });
}
