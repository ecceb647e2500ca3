// Sign-in with OIDC authorization code + PKCE (oidc-client-ts). The UI is a public
// client: no secret, tokens kept by the library in sessionStorage (gone with the tab),
// renewed silently in a hidden iframe before they expire.

import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";
import { ref } from "vue";
import type { IdentityProviderInfo, IdpConfig } from "./api";

const CHOSEN_KEY = "breakglass.provider";

export const user = ref<User | null>(null);
export const providers = ref<IdentityProviderInfo[]>([]);
export const authError = ref<string | null>(null);

let manager: UserManager | null = null;

async function loadProviders(): Promise<IdentityProviderInfo[]> {
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
    automaticSilentRenew: true,
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
  manager = managerFor(p);
  manager.events.addUserLoaded((u) => {
    user.value = u;
  });
  manager.events.addUserUnloaded(() => {
    user.value = null;
  });
  manager.events.addSilentRenewError((e) => {
    authError.value = `Session renewal failed: ${e.message}`;
  });
  manager.events.addAccessTokenExpired(() => {
    user.value = null;
  });
  return manager;
}

/** Restores a signed-in user from the library's store at start-up. */
export async function restore(): Promise<void> {
  try {
    const m = await managerForChosen();
    const u = m ? await m.getUser() : null;
    user.value = u && !u.expired ? u : null;
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
  await m?.signinRedirect({ state: { returnTo } });
}

/** Completes the code flow on `/auth/callback`; returns where the user wanted to go. */
export async function completeSignIn(): Promise<string> {
  const m = await managerForChosen();
  if (!m) throw new Error("no identity provider was chosen for this sign-in");
  const u = await m.signinRedirectCallback();
  user.value = u;
  const state = u.state as { returnTo?: string } | undefined;
  const to = state?.returnTo ?? "/";
  // Only paths of this app: never an open redirect.
  return to.startsWith("/") && !to.startsWith("//") ? to : "/";
}

/** Completes a silent renewal inside the hidden iframe. */
export async function completeSilentRenew(): Promise<void> {
  const m = await managerForChosen();
  await m?.signinSilentCallback();
}

export async function signOut(): Promise<void> {
  const m = await managerForChosen();
  sessionStorage.removeItem(CHOSEN_KEY);
  user.value = null;
  if (!m) return;
  await m.removeUser();
  try {
    await m.signoutRedirect();
  } catch {
    // A provider without an end-session endpoint (Dex): the local sign-out is enough.
    window.location.assign("/");
  }
}

/** The Bearer token for the API (the access token), or null when signed out. */
export async function currentToken(): Promise<string | null> {
  const m = await managerForChosen();
  const u = m ? await m.getUser() : null;
  if (!u || u.expired) return null;
  return u.access_token;
}

/** The signed-in user's display name and e-mail. */
export function who(): { name: string; email: string } {
  const p = user.value?.profile;
  return { name: String(p?.name ?? p?.preferred_username ?? p?.email ?? ""), email: String(p?.email ?? "") };
}
