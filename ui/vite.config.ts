import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// The server serves `dist/` at `/`; hashed asset names make them cacheable forever,
// index.html is never cached. No inline scripts or styles: the server's CSP forbids them.
export default defineConfig({
  plugins: [vue()],
  base: "/",
  build: {
    outDir: process.env.BREAKGLASS_UI_OUT ?? "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: "es2022",
  },
  server: {
    proxy: { "/api": process.env.BREAKGLASS_API ?? "http://127.0.0.1:18080" },
  },
});
