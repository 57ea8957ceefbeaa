/**
 * Gets everything the Playwright tests need, then builds the app:
 *   1. a full-size synthetic model (seed 1, float32, with top) in
 *      .cache/e2e-models/vgg16/, served by `vite preview` via VGG16_MODELS_DIR
 *      (see playwright.config.ts); regenerated only when absent or stale;
 *   2. reference.json beside it: the Node reference top-5 for the shared photos
 *      (tools/e2e-reference.ts), which the browser results must match;
 *   3. `vite build` (type-checking is a separate step: `npm run typecheck`).
 *
 * Usage: npx tsx tools/e2e-prepare.ts
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { E2E_MODELS_DIR, ensureE2eModel } from "./e2e-model";
import { ensureReference } from "./e2e-reference";

function build(): void {
  console.log("e2e build: npx vite build");
  const result = spawnSync("npx", ["vite", "build"], { stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
  }
}

try {
  await ensureE2eModel();
  await ensureReference(resolve(E2E_MODELS_DIR, "vgg16"));
  build();
} catch (error) {
  console.error(`e2e-prepare: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
