/**
 * End-to-end tests against the production build (`vite preview`), in the
 * system's Chromium (Playwright's own browsers are never downloaded).
 * Run `npx tsx tools/e2e-prepare.ts` first: it writes the synthetic model the
 * tests expect and builds dist/.
 */
import { defineConfig } from "@playwright/test";
import { CHROMIUM_PATH, HEADLESS_CHROMIUM_ARGS } from "./tools/chromium-flags";

// E2E_PORT lets two checkouts run the suite at once.
const PORT = Number(process.env.E2E_PORT ?? 4173);
const BASE_URL = `http://localhost:${PORT}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  use: {
    baseURL: BASE_URL,
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [...HEADLESS_CHROMIUM_ARGS],
    },
  },
  projects: [{ name: "chromium" }],
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort`,
    url: BASE_URL,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: { VGG16_MODELS_DIR: ".cache/e2e-models" },
  },
});
