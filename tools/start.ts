/**
 * `npm start`: brings VGG16's real ImageNet weights the first time (as Keras
 * does: download once with progress, md5-checked, cached in ~/.keras/models,
 * then converted), then serves the app with Vite. When the download is
 * impossible it still serves the app; the terminal here and the page both
 * say how to proceed. Set VGG16_SKIP_FETCH=1 to skip the download attempt.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createServer } from "vite";
import { WeightsError } from "../src/model/errors";
import { readVgg16Metadata } from "../src/model/metadata";
import { alternativesMessage, fetchCommand } from "./weights/commands";
import { defaultModelDir, REPO_ROOT } from "./weights/paths";

async function installedModel(): Promise<string | null> {
  try {
    const json = JSON.parse(await readFile(join(defaultModelDir(true), "model.json"), "utf8"));
    const meta = readVgg16Metadata(json.userDefinedMetadata);
    if (!meta) return null;
    return meta.synthetic
      ? `synthetic weights (seed ${meta.source.kind === "synthetic" ? meta.source.seed : "?"}); predictions are random. Replace with: npm run weights -- fetch`
      : `ImageNet weights from ${meta.source.kind === "keras-h5" ? meta.source.file : "?"} (${meta.quantization})`;
  } catch {
    return null;
  }
}

async function ensureWeights(): Promise<void> {
  const existing = await installedModel();
  if (existing) {
    console.log(`VGG16 model: ${existing}`);
    return;
  }
  if (process.env.VGG16_SKIP_FETCH) {
    console.log("VGG16_SKIP_FETCH is set: not downloading weights.");
    console.log(alternativesMessage());
    return;
  }
  console.log("First start: downloading VGG16's ImageNet weights (553 MB, once) and converting them…");
  // Lazy import: the progress-bar reporter lives with the CLI.
  const { terminalReporter } = await import("./weights/reporter");
  const reporter = terminalReporter();
  try {
    const result = await fetchCommand({ notop: false, quantize: "none" }, reporter);
    reporter.stop();
    console.log(`VGG16 model ready: ${result.written.modelJsonPath}`);
  } catch (error) {
    reporter.stop();
    if (!(error instanceof WeightsError)) throw error;
    console.error(`\n✖ ${error.message}\n\n${alternativesMessage()}`);
    console.error("\nStarting the app anyway; it explains the same on the page.\n");
  }
}

await ensureWeights();
const server = await createServer({ root: REPO_ROOT, configFile: join(REPO_ROOT, "vite.config.ts") });
await server.listen();
server.printUrls();
server.bindCLIShortcuts({ print: true });
