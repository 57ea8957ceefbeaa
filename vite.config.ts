import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { serveModels } from "./tools/vite-serve-models.js";

/**
 * Cross-origin isolation (COOP + COEP) makes SharedArrayBuffer available,
 * which TF.js' WASM backend needs for its multi-threaded build.
 */
const crossOriginIsolation = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
} as const;

export default defineConfig({
  plugins: [react(), serveModels()],
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  worker: { format: "es" },
  build: {
    // The app, plus the worker harness page the Playwright tests drive (e2e/worker.spec.ts) and the
    // benchmark page `npm run bench` drives (bench/harness/bench.html).
    rolldownOptions: {
      input: {
        main: "index.html",
        harness: "e2e/harness/worker-harness.html",
        bench: "bench/harness/bench.html",
      },
    },
  },
});
