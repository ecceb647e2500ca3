// Typed access to the breakglass REST API. Every call sends the signed-in user's token
// as Bearer; every failure becomes an ApiError carrying the server's message, so views
// can show it next to the action that failed.

import { currentToken } from "./auth";

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
    public readonly code?: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = await currentToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch (e) {
    throw new ApiError(0, `The server cannot be reached (${String(e)})`);
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const obj = (data ?? {}) as { error?: string; message?: string; code?: string };
    const message = obj.error ?? obj.message ?? (text.slice(0, 300) || res.statusText);
    throw new ApiError(res.status, message, obj.code);
  }
  return data as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => call<T>("POST", path, body);

export function query(params: Record<string, string | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const seg = encodeURIComponent;

// --- discovery ---------------------------------------------------------------------

export interface FrontendConfig {
  frontend: { oidcAuthority?: string; oidcClientID?: string; brandingName?: string; uiFlavour?: string };
}

export interface IdentityProviderInfo {
  name: string;
  displayName?: string;
  issuer?: string;
  enabled?: boolean;
  oidcAuthority: string;
  oidcClientID: string;
  uiScopes?: string[];
}

export interface IdpConfig {
  identityProviders: IdentityProviderInfo[];
  userIdentifierClaim?: string;
}

// --- escalations and sessions --------------------------------------------------------

export interface Escalation {
  metadata: { name: string; namespace?: string };
  spec: {
    escalatedGroup: string;
    allowed: { clusters?: string[]; groups?: string[] };
    approvers?: { users?: string[]; groups?: string[] };
    maxValidFor?: string;
    approvalTimeout?: string;
    clusterConfigRefs?: string[];
    requestReason?: { mandatory?: boolean; description?: string };
    approvalReason?: { mandatory?: boolean; description?: string };
  };
}

export interface Session {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  spec: { cluster: string; user: string; grantedGroup: string; requestReason?: string; scheduledStartTime?: string; maxValidFor?: string };
  status?: {
    state?: string;
    expiresAt?: string;
    timeoutAt?: string;
    approvedAt?: string;
    approver?: string;
    approvers?: string[];
    approvalReason?: string;
    reasonEnded?: string;
    actualStartTime?: string;
  };
  approvalReason?: { mandatory?: boolean; description?: string };
}

export interface SessionDetail {
  session: Session;
  approvalMeta: {
    canApprove: boolean;
    canReject: boolean;
    isRequester: boolean;
    isApprover: boolean;
    sessionState?: string;
    stateMessage?: string;
    denialReason?: string;
    denialMessage?: string;
  };
}

export interface List<T> {
  items: T[];
  total: number;
}

export interface SessionRequest {
  cluster: string;
  group: string;
  reason?: string;
  duration?: number;
  scheduledStartTime?: string;
}

// --- debug sessions -------------------------------------------------------------------

export interface DebugTemplate {
  name: string;
  displayName?: string;
  description?: string;
  mode?: string;
  requiresApproval?: boolean;
  allowedClusters?: string[];
  hasAvailableClusters?: boolean;
  constraints?: { maxDuration?: string; defaultDuration?: string };
  schedulingOptions?: { required?: boolean; options?: { name: string; displayName?: string; default?: boolean }[] };
  extraDeployVariables?: DeployVariable[];
  namespaceConstraints?: { defaultNamespace?: string; allowUserNamespace?: boolean };
}

export interface DeployVariable {
  name: string;
  displayName?: string;
  description?: string;
  inputType?: string;
  required?: boolean;
  default?: unknown;
  options?: { value: string; displayName?: string }[];
}

export interface TemplateClusters {
  templateName: string;
  clusters: { name: string; displayName?: string; status?: { healthy?: boolean }; bindingRef?: { name: string; namespace: string } | null }[];
}

export interface DebugSummary {
  name: string;
  namespace?: string;
  templateRef: string;
  targetNamespace?: string;
  cluster: string;
  requestedBy: string;
  state?: string;
  statusMessage?: string;
  startsAt?: string;
  expiresAt?: string;
  isParticipant?: boolean;
  canApprove?: boolean;
  canReject?: boolean;
}

export interface AllowedPod {
  name: string;
  namespace: string;
  nodeName?: string;
  ready?: boolean;
  phase?: string;
}

export interface DebugDetail {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  spec: {
    cluster: string;
    templateRef: string;
    requestedBy: string;
    reason?: string;
    targetNamespace?: string;
    requestedDuration?: string;
    invitedParticipants?: string[];
  };
  status?: {
    state?: string;
    message?: string;
    startsAt?: string;
    expiresAt?: string;
    allowedPods?: AllowedPod[];
    participants?: { user: string; role?: string; joinedAt?: string; leftAt?: string }[];
    renewalCount?: number;
    approval?: { approvedBy?: string; rejectedBy?: string; reason?: string };
  };
  canApprove?: boolean;
  canReject?: boolean;
  isOwner?: boolean;
  isParticipant?: boolean;
  role?: string;
}
