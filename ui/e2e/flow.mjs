// Browser scenario against a running server and testenv's Dex, driven by the e2e test
// `crates/server/tests/e2e/ui.rs` (which creates the fixtures and checks the hub's state
// afterwards). Real headless Chromium, real sign-in through Dex, the server's real CSP.
//
// Input (environment): BASE_URL, CLUSTER, GROUP, REQUESTER, APPROVER (e-mail:groups,
// groups comma-separated), DEBUG_TEMPLATE (optional), SHOTS (screenshot directory),
// CHROMIUM (default /usr/bin/chromium).
// Output: one JSON line on stdout: {session, debugSession, axe, consoleErrors}.
// Any failed expectation exits non-zero with the reason on stderr.

import { BASE, check, env, expect, expectedErrors, person, personContext, run, shot, signIn } from "./lib.mjs";

const CLUSTER = env("CLUSTER");
const GROUP = env("GROUP");
const DEBUG_TEMPLATE = process.env.DEBUG_TEMPLATE ?? "";
const REQUESTER = person(env("REQUESTER"));
const APPROVER = person(env("APPROVER"));

async function stateOf(page, name) {
  const card = page.locator(`[data-session="${name}"]`);
  await card.waitFor();
  return (await card.locator('[data-test="state"]').textContent()).trim();
}

await run(async () => {
  // 1. The requester asks for the group on the cluster.
  const r = await personContext(REQUESTER);
  await signIn(r.page, "/");
  await r.page.waitForSelector('[data-test="escalations"]');
  await r.page.fill('[data-test="filter"]', GROUP);
  await r.page.click(`[data-test="choose-${CLUSTER}-${GROUP}"]`);
  expect((await r.page.inputValue('[data-test="cluster"]')) === CLUSTER, "the cluster is filled in");
  await r.page.fill('[data-test="reason"]', "INC-7 <script>alert(1)</script> checkout is down");
  await r.page.fill('[data-test="minutes"]', "30");
  await check(r.page, "request");
  await shot(r.page, "request");
  await r.page.click('[data-test="submit"]');
  const created = r.page.locator('[data-test="created"]');
  await created.waitFor();
  const session = (await created.locator("strong").first().textContent()).trim();
  expect(session.startsWith(`${CLUSTER}-${GROUP}-`), `session name ${session}`);
  // The API's refusal appears next to the action: the same request again is a 409
  // (Chromium logs the failed fetch once).
  expectedErrors.push([/status of 409/, 1]);
  await r.page.click('[data-test="submit"]');
  const refusal = r.page.locator('form [role="alert"]');
  await refusal.waitFor();
  const refusalText = await refusal.textContent();
  expect(/already requested/i.test(refusalText) && refusalText.includes("409"), `duplicate refused with the API's message: ${refusalText}`);

  // 2. The approver follows the mail's deep link, signs in, reads, approves.
  const a = await personContext(APPROVER);
  await signIn(a.page, `/session/${session}/approve`);
  expect(a.page.url().endsWith(`/session/${session}/approve`), `back on the deep link: ${a.page.url()}`);
  const card = a.page.locator(`[data-session="${session}"]`);
  await card.waitFor();
  const reasonText = await card.locator('[data-test="reason"]').textContent();
  expect(reasonText.includes("INC-7") && !reasonText.includes("<"), `the reason is shown as text: ${reasonText}`);
  expect((await card.locator('[data-test="requester"]').textContent()).trim() === REQUESTER.email, "requester shown");
  expect((await stateOf(a.page, session)) === "Pending", "pending before the decision");
  await check(a.page, "approve-link");
  await shot(a.page, "approve-link");
  await a.page.fill(`[data-test="decision-reason-${session}"]`, "looks right");
  await a.page.click(`[data-test="approve-${session}"]`);
  await a.page.waitForFunction(
    (n) => document.querySelector(`[data-session="${n}"] [data-test="state"]`)?.textContent?.trim() === "Approved",
    session,
  );
  await a.page.goto(`${BASE}/approvals`);
  await a.page.waitForSelector("h1");
  await a.page.waitForLoadState("networkidle");
  await check(a.page, "approvals");
  await shot(a.page, "approvals");

  // 3. The requester sees it approved, with a countdown, and drops it.
  await r.page.goto(`${BASE}/sessions`);
  expect((await stateOf(r.page, session)) === "Approved", "approved in the requester's view");
  expect(/^in /.test((await r.page.locator(`[data-session="${session}"] [data-test="expires"]`).textContent()).trim()), "expiry countdown");
  await check(r.page, "sessions");
  await shot(r.page, "sessions");
  await r.page.click(`[data-test="drop-${session}"]`);
  await r.page.waitForFunction((n) => !document.querySelector(`[data-session="${n}"]`), session);
  await r.page.check('[data-test="show-ended"]');
  expect((await stateOf(r.page, session)) === "Expired", "dropped: ended");

  await r.page.goto(`${BASE}/browse`);
  await r.page.waitForLoadState("networkidle");
  await check(r.page, "browse");
  await shot(r.page, "browse");

  // 4. A debug session, created and terminated through the UI.
  let debugSession = null;
  if (DEBUG_TEMPLATE) {
    await r.page.goto(`${BASE}/debug-sessions/create`);
    await r.page.waitForSelector(`[data-test="template"] option[value="${DEBUG_TEMPLATE}"]`, { state: "attached" });
    await r.page.selectOption('[data-test="template"]', DEBUG_TEMPLATE);
    await r.page.waitForSelector(`[data-test="cluster"] option[value="${CLUSTER}"]`, { state: "attached" });
    await r.page.selectOption('[data-test="cluster"]', CLUSTER);
    await r.page.fill('[data-test="reason"]', "network check on checkout");
    await check(r.page, "debug-create");
    await shot(r.page, "debug-create");
    await r.page.click('[data-test="submit"]');
    await r.page.waitForURL((u) => /^\/debug-sessions\/[^/]+$/.test(u.pathname) && !u.pathname.endsWith("/create"));
    debugSession = decodeURIComponent(r.page.url().split("/").pop());
    await r.page.waitForSelector('[data-test="terminate"]');
    await check(r.page, "debug-detail");
    await shot(r.page, "debug-detail");
    await r.page.click('[data-test="terminate"]');
    await r.page.waitForFunction(() => document.querySelector('[data-test="state"]')?.textContent?.trim() === "Terminated");
    await r.page.goto(`${BASE}/debug-sessions`);
    await r.page.waitForSelector('[data-test="debug-sessions"]');
    await check(r.page, "debug-list");
    await shot(r.page, "debug-list");
  }

  // 5. Narrow screens: 375 px wide, nothing wider than the screen.
  const m = await personContext(REQUESTER, { viewport: { width: 375, height: 812 } });
  await signIn(m.page, "/sessions");
  await m.page.check('[data-test="show-ended"]');
  await m.page.locator(`[data-session="${session}"]`).waitFor();
  const width = await m.page.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= 375, `no horizontal scrolling at 375 px (page is ${width} px wide)`);
  await shot(m.page, "sessions-375");

  // Sign-out forgets the tokens; the sign-in page says so and waits for a click rather
  // than redirecting to the only provider.
  await m.page.click('button:has-text("Sign out")');
  await m.page.waitForURL(/\/signin/);
  await m.page.waitForSelector('[data-test="signin-notice"]');
  expect((await m.page.textContent('[data-test="signin-notice"]')).includes("signed out"), "the sign-in page says the user signed out");
  const stored = await m.page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("oidc.user")));
  expect(stored.length === 0, `no tokens left after sign-out: ${stored}`);
  const local = await m.page.evaluate(() => localStorage.length);
  expect(local === 0, "nothing in localStorage");
  expect(m.page.url().startsWith(BASE), `still on the app after sign-out: ${m.page.url()}`);
  await check(m.page, "signin");
  await shot(m.page, "signin");

  return { session, debugSession };
});
