import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import { user } from "./auth";

const routes: RouteRecordRaw[] = [
  { path: "/", name: "request", component: () => import("./views/RequestAccess.vue"), meta: { title: "Request access" } },
  { path: "/sessions", name: "mine", component: () => import("./views/MySessions.vue"), meta: { title: "My sessions" } },
  { path: "/approvals", name: "approvals", component: () => import("./views/Approvals.vue"), meta: { title: "Approvals" } },
  { path: "/session/:name/approve", name: "approve", component: () => import("./views/ApproveLink.vue"), meta: { title: "Review request" } },
  { path: "/browse", name: "browse", component: () => import("./views/SessionBrowser.vue"), meta: { title: "Session browser" } },
  { path: "/debug-sessions", name: "debug", component: () => import("./views/DebugSessions.vue"), meta: { title: "Debug sessions" } },
  { path: "/debug-sessions/create", name: "debug-create", component: () => import("./views/DebugCreate.vue"), meta: { title: "New debug session" } },
  { path: "/debug-sessions/:name", name: "debug-detail", component: () => import("./views/DebugDetail.vue"), meta: { title: "Debug session" } },
  { path: "/signin", name: "signin", component: () => import("./views/SignIn.vue"), meta: { public: true, title: "Sign in" } },
  { path: "/auth/callback", name: "callback", component: () => import("./views/AuthCallback.vue"), meta: { public: true, title: "Signing in" } },
  { path: "/auth/silent-renew", name: "silent", component: () => import("./views/SilentRenew.vue"), meta: { public: true, bare: true } },
  { path: "/:rest(.*)*", name: "missing", component: () => import("./views/NotFound.vue"), meta: { public: true, title: "Not found" } },
];

export const router = createRouter({ history: createWebHistory("/"), routes });

router.beforeEach((to) => {
  if (!to.meta.public && !user.value) {
    return { name: "signin", query: { returnTo: to.fullPath } };
  }
  return true;
});

router.afterEach((to) => {
  const title = to.meta.title as string | undefined;
  document.title = title ? `${title} · Breakglass` : "Breakglass";
});
