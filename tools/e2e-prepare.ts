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
import { readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { syntheticModel } from "../src/model/convert";
import { modelIdFor, readVgg16Metadata } from "../src/model/metadata";
import { ensureReference } from "./e2e-reference";
import { writeModelDir } from "./weights/write-model";

const E2E_MODELS_DIR = ".cache/e2e-models";
const SEED = 1;
const QUANTIZATION = "none";
const INCLUDE_TOP = true;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Why the model folder must be (re)written, or null when it is complete and current. */
async function staleReason(dir: string, expectedId: string): Promise<string | null> {
  let json: { userDefinedMetadata?: unknown; weightsManifest?: Array<{ paths?: string[] }> };
  try {
    json = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
  } catch {
    return "absent";
  }
  const meta = readVgg16Metadata(json.userDefinedMetadata);
  if (meta?.modelId !== expectedId) return `modelId is ${meta?.modelId ?? "missing"}, want ${expectedId}`;
  for (const path of json.weightsManifest?.flatMap((g) => g.paths ?? []) ?? []) {
    const exists = await stat(join(dir, path)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) return `shard ${path} is missing`;
  }
  return null;
}

async function ensureModel(): Promise<void> {
  const dir = resolve(E2E_MODELS_DIR, "vgg16");
  const shown = relative(process.cwd(), dir);
  const expectedId = modelIdFor({ kind: "synthetic", seed: SEED }, QUANTIZATION, INCLUDE_TOP);
  const reason = await staleReason(dir, expectedId);
  if (reason === null) {
    console.log(`e2e model: ${shown} is up to date (${expectedId}).`);
    return;
  }
  console.log(`e2e model: writing ${expectedId} to ${shown} (${reason})…`);
  const started = performance.now();
  const artifacts = syntheticModel(SEED, INCLUDE_TOP, { quantization: QUANTIZATION });
  const written = await writeModelDir(dir, artifacts);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`e2e model: wrote ${written.files} files, ${mib(written.bytes)}, in ${seconds} s.`);
}

function build(): void {
  console.log("e2e build: npx vite build");
  const result = spawnSync("npx", ["vite", "build"], { stdio: "inherit" });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`vite build failed (exit ${result.status ?? result.signal})`);
  }
}

try {
  await ensureModel();
  await ensureReference(resolve(E2E_MODELS_DIR, "vgg16"));
  build();
} catch (error) {
  console.error(`e2e-prepare: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
