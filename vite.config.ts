import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { APP_HEADERS, DEV_HEADERS } from "./tools/security-headers.js";
import { serveModels } from "./tools/vite-serve-models.js";

export default defineConfig({
  plugins: [react(), serveModels()],
  // COOP/COEP (threaded WASM) and the Content-Security-Policy, on every response: tools/security-headers.ts.
  server: { headers: DEV_HEADERS },
  preview: { headers: APP_HEADERS },
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
