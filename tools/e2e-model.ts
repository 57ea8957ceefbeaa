/**
 * The full-size synthetic VGG16 (seed 1, float32, with top) that the
 * Playwright tests and the benchmark load, in .cache/e2e-models/vgg16/ (served
 * at /models/ by `vite preview` when VGG16_MODELS_DIR points there).
 * Regenerated only when absent or stale.
 */
import { readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { syntheticModel } from "../src/model/convert";
import { modelIdFor, readVgg16Metadata } from "../src/model/metadata";
import { writeModelDir } from "./weights/write-model";

export const E2E_MODELS_DIR = ".cache/e2e-models";
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

/** Writes the model unless it is there and current; returns its folder (absolute). */
export async function ensureE2eModel(log: (line: string) => void = console.log): Promise<string> {
  const dir = resolve(E2E_MODELS_DIR, "vgg16");
  const shown = relative(process.cwd(), dir);
  const expectedId = modelIdFor({ kind: "synthetic", seed: SEED }, QUANTIZATION, INCLUDE_TOP);
  const reason = await staleReason(dir, expectedId);
  if (reason === null) {
    log(`e2e model: ${shown} is up to date (${expectedId}).`);
    return dir;
  }
  log(`e2e model: writing ${expectedId} to ${shown} (${reason})…`);
  const started = performance.now();
  const artifacts = syntheticModel(SEED, INCLUDE_TOP, { quantization: QUANTIZATION });
  const written = await writeModelDir(dir, artifacts);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(`e2e model: wrote ${written.files} files, ${mib(written.bytes)}, in ${seconds} s.`);
  return dir;
}
