import { ref, onBeforeUnmount } from "vue";
import { ApiError } from "./api";

/** A message for any failure, as shown next to the action that failed. */
export function message(e: unknown): string {
  if (e instanceof ApiError) return e.status ? `${e.message} (HTTP ${e.status})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

/** "in 1h 5m", "4m ago": time relative to `now`. */
export function relative(iso: string | undefined, now: number): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = Math.round((t - now) / 1000);
  const a = Math.abs(d);
  const h = Math.floor(a / 3600);
  const m = Math.floor((a % 3600) / 60);
  const s = a % 60;
  const text = h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/** A clock ticking every second while the component lives (countdowns). */
export function useNow() {
  const now = ref(Date.now());
  const id = window.setInterval(() => (now.value = Date.now()), 1000);
  onBeforeUnmount(() => window.clearInterval(id));
  return now;
}

/** Go durations ("1h30m", "45m", "2h") to seconds; null when unreadable. */
export function goDurationSeconds(text: string | undefined): number | null {
  if (!text) return null;
  const re = /(\d+(?:\.\d+)?)(h|m|s|d)/g;
  let total = 0;
  let matched = "";
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += n * ({ d: 86400, h: 3600, m: 60, s: 1 } as Record<string, number>)[m[2] ?? "s"]!;
    matched += m[0];
  }
  return matched === text ? Math.round(total) : null;
}

export function stateClass(state: string | undefined): string {
  switch ((state ?? "").toLowerCase()) {
    case "approved":
    case "active":
      return "ok";
    case "pending":
    case "pendingapproval":
    case "waitingforscheduledtime":
      return "wait";
    default:
      return "ended";
  }
}
