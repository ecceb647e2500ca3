// The sign-in page with several identity providers, driven by
// `crates/server/tests/e2e/ui.rs` after it added two to testenv's Dex: a second real one
// (Dex under another URL form, with its own client) and one nobody answers at. The page
// offers the choice, is used by keyboard only, says clearly when the chosen provider
// cannot be reached, and signs in through the provider chosen.
//
// Input (environment): BASE_URL, SHOTS, USER (e-mail:groups), PROVIDERS (name=client
// pairs, comma-separated, all shown), CHOOSE (the name to sign in with), CHOOSE_AUTHORITY
// (its authority), UNREACHABLE (a provider that cannot be reached), CHROMIUM.
// Output: one JSON line: {choices, unreachableError, discovery, authorize, azp, apiStatus,
// axe, consoleErrors}.

import { dexLogin, env, expect, expectedErrors, person, personContext, run, shot, check, BASE } from "./lib.mjs";

const USER = person(env("USER"));
const PROVIDERS = Object.fromEntries(env("PROVIDERS").split(",").map((p) => p.split("=")));
const CHOOSE = env("CHOOSE");
const CHOOSE_AUTHORITY = env("CHOOSE_AUTHORITY").replace(/\/$/, "");
const UNREACHABLE = env("UNREACHABLE");

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

await run(async () => {
  const { page } = await personContext(USER);
  const discovery = [];
  const authorize = [];
  const api = [];
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (u.pathname.endsWith("/.well-known/openid-configuration")) discovery.push(`${u.origin}${u.pathname}`);
    if (u.pathname.endsWith("/dex/auth")) authorize.push({ origin: u.origin, clientId: u.searchParams.get("client_id") });
  });
  page.on("requestfinished", async (req) => {
    const u = new URL(req.url());
    if (u.origin === BASE && u.pathname.startsWith("/api/breakglassSessions")) {
      api.push({ status: (await req.response())?.status(), token: (req.headers().authorization ?? "").replace(/^Bearer /, "") });
    }
  });
  // Chromium logs the refused connection to the unreachable provider once.
  expectedErrors.push([/ERR_CONNECTION_REFUSED/, 1]);

  await page.goto(`${BASE}/sessions`);
  const chooser = page.locator('[data-test="chooser"]');
  await chooser.waitFor();
  const choices = await chooser.locator("button").evaluateAll((bs) => bs.map((b) => b.dataset.test.replace(/^signin-/, "")));
  expect(
    choices.length === Object.keys(PROVIDERS).length && Object.keys(PROVIDERS).every((p) => choices.includes(p)),
    `every provider is offered: ${choices}`,
  );
  expect(new URL(page.url()).pathname === "/signin", `the app waits for a choice: ${page.url()}`);
  expect(discovery.length === 0, `nothing fetched from a provider before the choice: ${discovery}`);
  await check(page, "chooser");
  await shot(page, "chooser");

  // Keyboard only: the first choice has the focus; Tab moves on, Enter chooses.
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute("data-test") ?? "");
  expect((await focused()) === `signin-${choices[0]}`, `the first choice has the focus: ${await focused()}`);
  async function choose(name) {
    for (let i = 0; i < 20 && (await focused()) !== `signin-${name}`; i++) await page.keyboard.press("Tab");
    expect((await focused()) === `signin-${name}`, `Tab reaches ${name}`);
    const visible = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    expect(visible && visible !== "none", `a visible focus ring on ${name} (${visible})`);
    await page.keyboard.press("Enter");
  }

  // A provider nobody answers at: a clear error, and the choice stays open.
  await choose(UNREACHABLE);
  const alert = page.locator('section [role="alert"]');
  await alert.waitFor();
  const unreachableError = (await alert.textContent()).trim();
  expect(/cannot be reached/.test(unreachableError), `the error says the provider cannot be reached: ${unreachableError}`);
  expect(new URL(page.url()).pathname === "/signin", `still on the sign-in page: ${page.url()}`);
  expect(authorize.length === 0, "no authorization request went anywhere");
  await page.waitForFunction(() => [...document.querySelectorAll('[data-test="chooser"] button')].every((b) => !b.disabled));
  expect((await focused()) === `signin-${UNREACHABLE}`, `the focus is back on the choice that failed: ${await focused()}`);
  await check(page, "chooser-unreachable");
  await shot(page, "chooser-unreachable");

  // The second real provider: its discovery, its client, its token.
  await choose(CHOOSE);
  await page.waitForURL(/\/dex\//);
  await dexLogin(page);
  expect(new URL(page.url()).pathname === "/sessions", `back where the user wanted to go: ${page.url()}`);
  expect(discovery.includes(`${CHOOSE_AUTHORITY}/.well-known/openid-configuration`), `discovery at the chosen authority: ${discovery}`);
  expect(authorize.length === 1 && authorize[0].clientId === PROVIDERS[CHOOSE], `authorized with the chosen provider's client: ${JSON.stringify(authorize)}`);
  for (let i = 0; i < 100 && !api.length; i++) await new Promise((r) => setTimeout(r, 100));
  const call = api[api.length - 1];
  expect(call?.status === 200, `the API accepts the token: ${JSON.stringify(call?.status)}`);
  const azp = claims(call.token).azp;
  expect(azp === PROVIDERS[CHOOSE], `the token was issued to the chosen provider's client: ${azp}`);
  const chosen = await page.evaluate(() => sessionStorage.getItem("breakglass.provider"));
  expect(chosen === CHOOSE, `the app remembers the choice for this tab: ${chosen}`);

  return { choices, unreachableError, discovery, authorize, azp, apiStatus: call.status };
});
