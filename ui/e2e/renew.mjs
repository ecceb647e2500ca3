// Token renewal in a real browser, driven by `crates/server/tests/e2e/ui.rs` while only
// testenv's Dex is configured. Playwright's clock stands in for the hours a session
// lasts: the page's time jumps to just before the access token expires, then past its
// expiry (a laptop waking up); each time the app must renew with the refresh token at
// Dex and call the API with the new token. Then a second sign-in of the same user
// elsewhere makes Dex drop this tab's refresh token (Dex keeps one per user and client),
// and the next renewal, refused, must end in a clean signed-out state.
//
// Input (environment): BASE_URL, SHOTS, USER and PASSWORD (a user of Dex's password
// database: only its connector gives refresh tokens), PROVIDER (the only provider's
// name), CLIENT_ID (its client), CHROMIUM.
// Output: one JSON line: {renewals, apiCalls, storage, refused, axe, consoleErrors}.

import { BASE, check, dexPasswordLogin, env, expect, personContext, run, shot, signIn } from "./lib.mjs";

const USER = { email: env("USER") };
const login = dexPasswordLogin(USER.email, env("PASSWORD"));
const PROVIDER = env("PROVIDER");
const CLIENT_ID = env("CLIENT_ID");

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

await run(async () => {
  const { page } = await personContext(USER, { clock: true });
  const apiCalls = [];
  const tokenCalls = [];
  const authorize = [];
  page.on("request", (req) => {
    const u = new URL(req.url());
    if (u.pathname.endsWith("/dex/auth")) authorize.push({ clientId: u.searchParams.get("client_id"), scope: u.searchParams.get("scope") });
  });
  page.on("requestfinished", async (req) => {
    const u = new URL(req.url());
    const res = await req.response();
    if (u.origin === BASE && u.pathname.startsWith("/api/breakglassSessions")) {
      const auth = req.headers().authorization ?? "";
      apiCalls.push({ path: u.pathname + u.search, status: res?.status(), token: auth.replace(/^Bearer /, "") });
    }
    if (u.pathname.endsWith("/dex/token")) {
      const form = new URLSearchParams(req.postData() ?? "");
      tokenCalls.push({ grant: form.get("grant_type"), clientId: form.get("client_id"), status: res?.status() });
    }
  });
  const lastCall = () => apiCalls[apiCalls.length - 1];
  const stored = async () => {
    const s = await page.evaluate(() => ({
      session: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])),
      local: Object.keys(localStorage),
    }));
    const key = Object.keys(s.session).find((k) => k.startsWith("oidc.user:"));
    return { keys: Object.keys(s.session), local: s.local, user: key ? JSON.parse(s.session[key]) : null, key };
  };
  const secondsLeft = async (u) => u.expires_at - Math.floor((await page.evaluate(() => Date.now())) / 1000);
  /** The API call the view behind navigation link `link` makes (its query has `marker`). */
  async function apiCallAfter(link, marker) {
    const n = apiCalls.length;
    await page.click(`#nav >> text=${link}`);
    const found = () => apiCalls.slice(n).find((c) => c.path.includes(marker));
    for (let i = 0; i < 100 && !found(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(found(), `the app called the API after opening ${link}`);
    return found();
  }
  /** Moves the page's clock by `seconds` and waits for the refresh-token grant at Dex. */
  async function jump(seconds) {
    const refreshed = page.waitForResponse((r) => r.url().endsWith("/dex/token") && /grant_type=refresh_token/.test(r.request().postData() ?? ""));
    await page.clock.fastForward(seconds * 1000);
    return refreshed;
  }

  // One provider: no chooser, straight to Dex.
  await signIn(page, "/sessions", PROVIDER, login);
  expect(authorize.length === 1 && authorize[0].clientId === CLIENT_ID, `one authorization request, client ${CLIENT_ID}: ${JSON.stringify(authorize)}`);
  expect(authorize[0].scope.split(" ").includes("offline_access"), `offline_access asked for: ${authorize[0].scope}`);
  await page.waitForFunction(() => document.querySelector("h1")?.textContent?.includes("My sessions"));
  for (let i = 0; i < 100 && !apiCalls.length; i++) await new Promise((r) => setTimeout(r, 100));
  const first = lastCall();
  expect(first?.status === 200, `the API answers the first token: ${JSON.stringify(first)}`);

  // What the tab keeps: the library's user object in sessionStorage, nothing in localStorage.
  const s1 = await stored();
  expect(
    s1.user && s1.user.refresh_token && s1.user.access_token === first.token,
    `the tokens are in sessionStorage: ${JSON.stringify({ keys: s1.keys, fields: s1.user && Object.keys(s1.user), same: s1.user?.access_token === first.token })}`,
  );
  expect(s1.local.length === 0, `nothing in localStorage: ${s1.local}`);
  const storage = { sessionStorage: s1.keys, localStorage: s1.local, userFields: Object.keys(s1.user).sort() };

  // 1. Just before expiry: the app renews, the next call carries the new token.
  const left1 = await secondsLeft(s1.user);
  expect(left1 > 120, `a usable token (${left1} s left)`);
  const r1 = await jump(left1 - 30);
  expect(r1.status() === 200, `Dex renewed the tokens (${r1.status()})`);
  const second = await apiCallAfter("Approvals", "approver=true");
  expect(second.token && second.token !== first.token, "a new access token is used after the renewal");
  expect(second.status === 200, `the API accepts the renewed token: ${second.status}`);
  expect(claims(second.token).exp >= claims(first.token).exp, "the new token does not expire earlier");
  expect(new URL(page.url()).pathname === "/approvals", `still signed in: ${page.url()}`);

  // 2. Past expiry (the tab slept through the renewal): renewed on waking, no sign-in.
  const s2 = await stored();
  expect(s2.user.access_token === second.token && s2.user.refresh_token !== s1.user.refresh_token, "the renewal stored the new tokens (the refresh token rotates)");
  const r2 = await jump((await secondsLeft(s2.user)) + 120);
  expect(r2.status() === 200, `Dex renewed the expired tokens (${r2.status()})`);
  const third = await apiCallAfter("My sessions", "mine=true");
  expect(third.token !== second.token && third.token !== first.token && third.status === 200, `a third token, accepted: ${third.status}`);
  await page.waitForSelector('[data-test="who"]');

  // 3. The same user signs in elsewhere: Dex replaces this tab's refresh token, so the
  // next renewal is refused and the tab ends up signed out, saying why.
  const other = await personContext(USER);
  await signIn(other.page, "/sessions", PROVIDER, login);
  const s3 = await stored();
  const r3 = await jump((await secondsLeft(s3.user)) - 30);
  expect(r3.status() >= 400, `Dex refused the replaced refresh token (${r3.status()})`);
  await page.waitForURL((u) => u.pathname === "/signin");
  const notice = page.locator('[data-test="signin-notice"]');
  await notice.waitFor();
  const noticeText = (await notice.textContent()).trim();
  expect(/could not be renewed/.test(noticeText), `the sign-in page says why: ${noticeText}`);
  expect(new URL(page.url()).searchParams.get("returnTo") === "/sessions", `comes back to where it was: ${page.url()}`);
  const s4 = await stored();
  expect(s4.user === null && s4.local.length === 0, `no tokens left: ${JSON.stringify(s4.keys)}`);
  expect(!(await page.locator('[data-test="who"]').count()), "nobody is shown as signed in");
  expect(!(await page.locator('[data-test="chooser"]').count()), "one provider: no chooser");
  // It waits for the user: no redirect to the provider on its own.
  await new Promise((r) => setTimeout(r, 1500));
  expect(new URL(page.url()).pathname === "/signin", `stays on the sign-in page: ${page.url()}`);
  await check(page, "renewal-failed");
  await shot(page, "renewal-failed");

  // Signing in again works and returns to the page the user was on.
  await page.click(`[data-test="signin-${PROVIDER}"]`);
  await page.waitForURL(/\/dex\//);
  await login(page);
  expect(new URL(page.url()).pathname === "/sessions", `back on /sessions: ${page.url()}`);
  expect(!(await page.locator('[data-test="signin-notice"]').count()), "no stale notice");

  const renewals = tokenCalls.filter((c) => c.grant === "refresh_token");
  return {
    renewals,
    apiCalls: apiCalls.map(({ path, status, token }) => ({ path, status, sub: token ? claims(token).sub : null, exp: token ? claims(token).exp : null })),
    storage,
    refused: { status: r3.status(), notice: noticeText },
  };
});
