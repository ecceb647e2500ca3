// Sign-in with OIDC authorization code + PKCE (oidc-client-ts). The UI is a public
// client: no secret, tokens kept by the library in sessionStorage (gone with the tab),
// renewed with the refresh token before they expire. A renewal the provider refuses
// ends the session cleanly: tokens removed, the sign-in page says why.

import { ErrorResponse, UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import { ref } from "vue";
import type { IdentityProviderInfo, IdpConfig } from "./api";

const CHOSEN_KEY = "breakglass.provider";
const NOTICE_KEY = "breakglass.signin-notice";

/** Why the user is on the sign-in page: after one of these the page waits for a click
 * instead of redirecting to the only provider (which could sign them straight back in). */
export interface SignInNotice {
  kind: "signed-out" | "renewal-failed";
  detail?: string;
}

export const user = ref<User | null>(null);
export const providers = ref<IdentityProviderInfo[]>([]);
export const authError = ref<string | null>(null);

let manager: UserManager | null = null;
let renewing: Promise<User | null> | null = null;

/** The enabled providers the UI can sign in with (`GET /api/config/idps`), loaded once. */
export async function loadProviders(): Promise<IdentityProviderInfo[]> {
  if (providers.value.length) return providers.value;
  const res = await fetch("/api/config/idps", { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(`cannot load identity providers (HTTP ${res.status})`);
  const cfg = (await res.json()) as IdpConfig;
  providers.value = cfg.identityProviders.filter((p) => p.enabled !== false && p.oidcAuthority && p.oidcClientID);
  return providers.value;
}

function managerFor(p: IdentityProviderInfo): UserManager {
  const origin = window.location.origin;
  // offline_access: renewal by refresh token (no hidden iframe, which providers such as
  // Dex cannot answer without a login page).
  const scopes = ["openid", "email", "profile", "groups", "offline_access", ...(p.uiScopes ?? [])];
  return new UserManager({
    authority: p.oidcAuthority,
    client_id: p.oidcClientID,
    redirect_uri: `${origin}/auth/callback`,
    silent_redirect_uri: `${origin}/auth/silent-renew`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: "code",
    scope: Array.from(new Set(scopes)).join(" "),
    // Renewal is driven below (one at a time, failures end the session) rather than by
    // the library's own renew service, which would only raise an event.
    automaticSilentRenew: false,
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
}

async function managerForChosen(): Promise<UserManager | null> {
  if (manager) return manager;
  const list = await loadProviders();
  const chosen = sessionStorage.getItem(CHOSEN_KEY);
  const p = list.find((x) => x.name === chosen) ?? (list.length === 1 ? list[0] : undefined);
  if (!p) return null;
  const m = managerFor(p);
  manager = m;
  m.events.addUserLoaded((u) => {
    user.value = u;
  });
  m.events.addUserUnloaded(() => {
    user.value = null;
  });
  // Shortly before expiry (the library's default: 60 s), and again at expiry should the
  // first attempt have failed for want of a network.
  m.events.addAccessTokenExpiring(() => void renew(m));
  m.events.addAccessTokenExpired(() => void renew(m));
  return m;
}

/** Renews the tokens with the refresh token; concurrent callers share one attempt. A
 * refusal by the provider, or any failure once the access token has expired, ends the
 * session; a network failure before expiry keeps the current tokens for another try. */
function renew(m: UserManager): Promise<User | null> {
  renewing ??= (async () => {
    try {
      const u = await m.signinSilent();
      user.value = u;
      return u;
    } catch (e) {
      const current = await m.getUser().catch(() => null);
      if (!(e instanceof ErrorResponse) && current && !current.expired) return current;
      const detail = e instanceof ErrorResponse ? (e.error_description ?? e.error ?? e.message) : e instanceof Error ? e.message : String(e);
      await endSession(m, { kind: "renewal-failed", detail: detail ?? undefined });
      return null;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

/** Forgets the tokens and leaves a notice for the sign-in page. */
async function endSession(m: UserManager, notice: SignInNotice): Promise<void> {
  sessionStorage.setItem(NOTICE_KEY, JSON.stringify(notice));
  try {
    await m.removeUser();
  } finally {
    user.value = null;
  }
}

/** Why the sign-in page is shown, if the user did not just arrive. */
export function signInNotice(): SignInNotice | null {
  const raw = sessionStorage.getItem(NOTICE_KEY);
  if (!raw) return null;
  try {
    const n = JSON.parse(raw) as SignInNotice;
    return n.kind === "signed-out" || n.kind === "renewal-failed" ? n : null;
  } catch {
    return null;
  }
}

/** Restores a signed-in user from the library's store at start-up; an expired access
 * token is renewed first. */
export async function restore(): Promise<void> {
  try {
    const m = await managerForChosen();
    const u = m ? await m.getUser() : null;
    if (m && u?.expired) {
      await renew(m);
      return;
    }
    user.value = u;
  } catch (e) {
    authError.value = String(e);
  }
}

/** Starts the redirect to the provider named `name`; `returnTo` is where to come back. */
export async function signIn(name: string, returnTo: string): Promise<void> {
  const list = await loadProviders();
  const p = list.find((x) => x.name === name);
  if (!p) throw new Error(`unknown identity provider ${name}`);
  sessionStorage.setItem(CHOSEN_KEY, p.name);
  manager = null;
  const m = await managerForChosen();
  try {
    await m?.signinRedirect({ state: { returnTo } });
  } catch (e) {
    // Discovery failed: the provider cannot be reached or is misconfigured.
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`${p.displayName || p.name} cannot be reached at ${p.oidcAuthority} (${why}).`);
  }
}

/** Completes the code flow on `/auth/callback`; returns where the user wanted to go. */
export async function completeSignIn(): Promise<string> {
  const m = await managerForChosen();
  if (!m) throw new Error("no identity provider was chosen for this sign-in");
  const u = await m.signinRedirectCallback();
  user.value = u;
  sessionStorage.removeItem(NOTICE_KEY);
  const state = u.state as { returnTo?: string } | undefined;
  const to = state?.returnTo ?? "/";
  // Only paths of this app: never an open redirect.
  return to.startsWith("/") && !to.startsWith("//") ? to : "/";
}

/** Completes a silent renewal inside the hidden iframe (providers without refresh tokens). */
export async function completeSilentRenew(): Promise<void> {
  const m = await managerForChosen();
  await m?.signinSilentCallback();
}

export async function signOut(): Promise<void> {
  const m = await managerForChosen();
  sessionStorage.removeItem(CHOSEN_KEY);
  sessionStorage.setItem(NOTICE_KEY, JSON.stringify({ kind: "signed-out" } satisfies SignInNotice));
  if (!m) {
    user.value = null;
    return;
  }
  // Whether the provider can end its own session too; Dex cannot, and then the local
  // sign-out is all there is (the app moves to the sign-in page when the user goes).
  const endpoint = await m.metadataService.getEndSessionEndpoint().catch(() => undefined);
  if (endpoint) {
    try {
      // Removes the local tokens itself, after reading the ID token for the hint.
      await m.signoutRedirect();
      return;
    } catch {
      // The provider is unreachable: at least sign out here.
    }
  }
  await m.removeUser();
  user.value = null;
}

/** The Bearer token for the API (the access token), or null when signed out. An expired
 * token (a laptop that slept through the renewal) is renewed before it is used. */
export async function currentToken(): Promise<string | null> {
  const m = await managerForChosen();
  if (!m) return null;
  if (renewing) await renewing;
  let u = await m.getUser();
  if (u?.expired) u = await renew(m);
  return u && !u.expired ? u.access_token : null;
}

/** The signed-in user's display name and e-mail. */
export function who(): { name: string; email: string } {
  const p = user.value?.profile;
  return { name: String(p?.name ?? p?.preferred_username ?? p?.email ?? ""), email: String(p?.email ?? "") };
}
