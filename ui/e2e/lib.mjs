// What the browser scenarios share: Chromium, one browser context per person (Dex's
// header connector learns who it is from headers on Dex's login requests only), the
// sign-in through Dex, screenshots and the axe-core check.

import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
export const BASE = env("BASE_URL").replace(/\/$/, "");
export const SHOTS = env("SHOTS");
export const TIMEOUT = 20_000;
export const person = (spec) => {
  const [email, groups = ""] = spec.split(":");
  return { email, groups };
};

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(SHOTS, { recursive: true });

/** Console errors of every page (failed loads of Dex's own resources aside). */
export const consoleErrors = [];
/** axe-core's violations per view. */
export const axe = {};
/** Console errors a scenario provokes on purpose: [pattern, count] pairs. */
export const expectedErrors = [];

export function expect(cond, what) {
  if (!cond) throw new Error(`expectation failed: ${what}`);
}

export const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

/** A browser context for one person; `clock` installs Playwright's controllable clock
 * before any page script runs (time still flows until the test moves it). */
export async function personContext(who, { viewport = { width: 1280, height: 900 }, clock = false } = {}) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  ctx.setDefaultTimeout(TIMEOUT);
  if (clock) await ctx.clock.install();
  await ctx.route(
    (url) => url.pathname.includes("/dex/auth/testusers") || url.pathname.includes("/dex/callback/testusers"),
    (route) => {
      const headers = { ...route.request().headers(), "x-remote-user": who.email };
      if (who.groups) headers["x-remote-group"] = who.groups;
      return route.continue({ headers });
    },
  );
  const page = await ctx.newPage();
  page.on("console", (m) => {
    if (m.type() !== "error" || m.location().url.includes("/dex/")) return;
    const e = expectedErrors.find(([re, n]) => n > 0 && re.test(m.text()));
    if (e) {
      e[1] -= 1;
      return;
    }
    consoleErrors.push(`${who.email}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${who.email}: ${e.message}`));
  return { ctx, page };
}

/** Opens `path` signed out and signs in through Dex. With one provider the app goes
 * straight to it; when a chooser is shown (another test's provider may exist for a
 * while), `provider` is chosen. */
export async function signIn(page, path, provider = "testenv-dex", login = dexLogin) {
  await page.goto(`${BASE}${path}`);
  const atDex = page.waitForURL(/\/dex\//).then(() => "dex");
  const chooser = page.waitForSelector('[data-test="chooser"]').then(() => "chooser");
  // The loser of the race times out later; that is not an error.
  atDex.catch(() => {});
  chooser.catch(() => {});
  if ((await Promise.race([atDex, chooser])) === "chooser") {
    await page.click(`[data-test="signin-${provider}"]`);
    await page.waitForURL(/\/dex\//);
  }
  await login(page);
}

/** On Dex's connector list: the header connector, then back into the app. */
export async function dexLogin(page) {
  await page.click('a[href*="/auth/testusers"]');
  await page.waitForURL((u) => u.href.startsWith(BASE) && !u.pathname.startsWith("/auth/") && !u.pathname.startsWith("/signin"));
  await page.waitForSelector('[data-test="who"]');
}

/** On Dex's connector list: the password database (Dex issues refresh tokens only
 * through connectors that can refresh, and the header connector cannot). */
export function dexPasswordLogin(email, password) {
  return async (page) => {
    await page.click('a[href*="/auth/local"]');
    await page.fill("#login", email);
    await page.fill("#password", password);
    await page.click("#submit-login");
    await page.waitForURL((u) => u.href.startsWith(BASE) && !u.pathname.startsWith("/auth/") && !u.pathname.startsWith("/signin"));
    await page.waitForSelector('[data-test="who"]');
  };
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the current view; serious or critical violations fail the run. The
 * script is evaluated through the DevTools protocol, so the page's CSP stays on. */
export async function check(page, view) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  axe[view] = result;
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.length === 0, `no serious accessibility violations on ${view}: ${JSON.stringify(bad)}`);
}

/** Runs a scenario: its result as one JSON line on stdout, or the reason on stderr and
 * exit status 1. */
export async function run(scenario) {
  try {
    const result = await scenario();
    expect(consoleErrors.length === 0, `no console errors: ${JSON.stringify(consoleErrors)}`);
    console.log(JSON.stringify({ ...result, axe, consoleErrors }));
    await browser.close();
  } catch (e) {
    console.error(String(e?.stack ?? e));
    if (consoleErrors.length) console.error(`console errors: ${JSON.stringify(consoleErrors)}`);
    await browser.close();
    process.exit(1);
  }
}
