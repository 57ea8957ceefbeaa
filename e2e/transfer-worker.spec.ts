/**
 * Transfer learning in the VGG16 worker, in headless Chromium through the
 * harness page, with the full-size synthetic model (WASM backend) and 24
 * images of the shared dogs-vs-cats set: features (computed, then cached),
 * training with resume, evaluation, export/import, and no tensor leaks.
 *
 * Run: npx tsx tools/e2e-prepare.ts && npx playwright test e2e/transfer-worker.spec.ts
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type BrowserContext, expect, type Page, test } from "@playwright/test";
import type { LabelledSample } from "../src/transfer/api";
import { defaultHeadConfig } from "../src/transfer/head";
import type { HarnessFile } from "./harness/worker-harness";

const HARNESS = "/e2e/harness/worker-harness.html";
const MODEL_URL = "/models/vgg16/model.json";
const SHARED_DATA = process.env.VGG16_SHARED_DATA ?? resolve(process.cwd(), "../shared/data");
const DATA_DIR = join(SHARED_DATA, "dogs-vs-cats");
const missingData = existsSync(join(DATA_DIR, "train", "cats"))
  ? null
  : `SKIPPED: dogs-vs-cats not found at ${DATA_DIR} (set VGG16_SHARED_DATA)`;
if (missingData) console.warn(`\n*** ${missingData} ***\n`);

const CLASSES = ["cats", "dogs"] as const;

/** The first `perClass` JPEGs of each class of a split (sorted by name), with their labels. */
function splitFiles(split: string, perClass: number): { file: HarnessFile; label: number }[] {
  return CLASSES.flatMap((cls, label) =>
    readdirSync(join(DATA_DIR, split, cls))
      .filter((name) => name.toLowerCase().endsWith(".jpg"))
      .sort()
      .slice(0, perClass)
      .map((name) => ({
        file: {
          name: `${split}/${cls}/${name}`,
          type: "image/jpeg",
          base64: readFileSync(join(DATA_DIR, split, cls, name)).toString("base64"),
        },
        label,
      })),
  );
}

test.describe.configure({ mode: "serial" });
test.skip(missingData !== null, missingData ?? "");

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }, testInfo) => {
  if (missingData) return;
  context = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
  page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning")
      console.log(`[page ${message.type()}] ${message.text()}`);
  });
});

test.afterAll(async () => {
  await context?.close();
});

test("extracts features (then from the cache), trains, resumes, evaluates, exports and imports", async () => {
  test.setTimeout(180_000);
  const train = splitFiles("train", 6);
  const validation = splitFiles("validation", 3);
  const test_ = splitFiles("test", 3);
  const all = [...train, ...validation, ...test_];
  expect(all).toHaveLength(24);
  const files = all.map((x) => x.file);

  await page.goto(HARNESS);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  const loaded = await page.evaluate(
    (modelUrl) => window.vgg16Harness.load({ modelUrl, backend: "wasm" }),
    MODEL_URL,
  );
  if (!loaded.outcome.ok) throw new Error(`load failed: ${JSON.stringify(loaded.outcome.error)}`);
  console.log(`load: ${Math.round(loaded.outcome.ms)} ms, ${loaded.outcome.value.backend.reason}`);
  const cleared = await page.evaluate(() => window.vgg16Harness.clearFeatureCache());
  expect(cleared.ok).toBe(true);
  const baseline = (await page.evaluate(() => window.vgg16Harness.memory())).numTensors;

  // 1. Cold: every image computed.
  const cold = await page.evaluate(
    (f) => window.vgg16Harness.extractFeatures(f, { batchSize: 4, preprocessing: "stretch" }),
    files,
  );
  if (!cold.outcome.ok) throw new Error(`extract failed: ${JSON.stringify(cold.outcome.error)}`);
  expect(cold.results).toHaveLength(24);
  for (const { result } of cold.results) {
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (result.ok) expect(result.cached).toBe(false);
  }
  const coldLast = cold.results.at(-1)?.progress;
  expect(coldLast?.done).toBe(24);
  expect(coldLast?.total).toBe(24);
  expect(coldLast?.cacheHits).toBe(0);
  console.log(
    `extraction (cold): ${(cold.outcome.ms / 1000).toFixed(1)} s for 24 images, ${coldLast?.imagesPerSecond.toFixed(2)} images/s computed`,
  );
  expect((await page.evaluate(() => window.vgg16Harness.memory())).numTensors).toBe(baseline);

  // 2. Warm: every image from the cache, nothing computed.
  const warm = await page.evaluate(
    (f) => window.vgg16Harness.extractFeatures(f, { batchSize: 4, preprocessing: "stretch" }),
    files,
  );
  if (!warm.outcome.ok) throw new Error(`extract failed: ${JSON.stringify(warm.outcome.error)}`);
  for (const { result } of warm.results) {
    expect(result.ok && result.cached, JSON.stringify(result)).toBe(true);
  }
  expect(warm.results.at(-1)?.progress.cacheHits).toBe(24);
  expect(warm.results.at(-1)?.progress.imagesPerSecond).toBe(0);
  console.log(`extraction (all cached): ${Math.round(warm.outcome.ms)} ms for 24 images`);
  const info = await page.evaluate(() => window.vgg16Harness.featureCacheInfo());
  if (!info.ok) throw new Error(JSON.stringify(info.error));
  expect(info.value.entries).toBe(24);
  expect(info.value.problem).toBeNull();

  const hashOf = new Map<string, string>();
  cold.results.forEach(({ result }, i) => {
    if (result.ok) hashOf.set(files[i]?.name ?? "", result.contentHash);
  });
  const samples = (items: typeof all): LabelledSample[] =>
    items.map((x) => ({ contentHash: hashOf.get(x.file.name) ?? "", label: x.label }));

  // 3. Train 3 epochs, then continue to 5.
  const config = { ...defaultHeadConfig(), epochs: 3, seed: 42 };
  const request = {
    classes: [...CLASSES],
    train: samples(train),
    validation: samples(validation),
    config,
    preprocessing: "stretch" as const,
    resume: false,
  };
  const first = await page.evaluate((r) => window.vgg16Harness.trainHead(r), request);
  if (!first.outcome.ok) throw new Error(`train failed: ${JSON.stringify(first.outcome.error)}`);
  const epochs = first.events.flatMap((e) => (e.type === "epoch" ? [e] : []));
  expect(epochs).toHaveLength(3);
  expect(first.events.filter((e) => e.type === "batch")).toHaveLength(3); // 12 images, batch 20
  expect(first.outcome.value.history).toHaveLength(3);
  expect(first.outcome.value.stopped).toBe(false);
  for (const e of first.outcome.value.history) {
    expect(Number.isFinite(e.loss)).toBe(true);
    expect(Number.isFinite(e.val_loss)).toBe(true);
  }
  console.log(
    `training: ${epochs.map((e) => `${e.secondsPerEpoch.toFixed(3)} s`).join(", ")} per epoch; ` +
      `losses ${first.outcome.value.history.map((h) => h.loss.toFixed(4)).join(", ")}`,
  );
  const state = await page.evaluate(() => window.vgg16Harness.headState());
  expect(state.ok && state.value?.history.length).toBe(3);

  const second = await page.evaluate((r) => window.vgg16Harness.trainHead(r), {
    ...request,
    config: { ...config, epochs: 5 },
    resume: true,
  });
  if (!second.outcome.ok) throw new Error(`resume failed: ${JSON.stringify(second.outcome.error)}`);
  expect(second.events.filter((e) => e.type === "epoch")).toHaveLength(2);
  expect(second.outcome.value.history).toHaveLength(5);
  console.log(
    `resumed: ${second.events
      .flatMap((e) => (e.type === "epoch" ? [`${e.secondsPerEpoch.toFixed(3)} s`] : []))
      .join(", ")} per epoch`,
  );
  expect(second.outcome.value.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
  const trained = (await page.evaluate(() => window.vgg16Harness.memory())).numTensors;

  // 4. Evaluate on the 6 test images.
  const evaluation = await page.evaluate((r) => window.vgg16Harness.evaluateHead(r), {
    classes: [...CLASSES],
    test: samples(test_),
    preprocessing: "stretch" as const,
  });
  if (!evaluation.ok) throw new Error(`evaluate failed: ${JSON.stringify(evaluation.error)}`);
  expect(evaluation.value.confusion.flat().reduce((a, b) => a + b, 0)).toBe(6);
  expect(evaluation.value.probabilities).toHaveLength(6);
  console.log(`test accuracy ${evaluation.value.accuracy}, loss ${evaluation.value.loss.toFixed(4)}`);

  // 5. Export, import, same probabilities.
  // One cat and one dog: each tryHead runs the conv base again (~3 s per image on 2 WASM threads).
  const testFiles = [test_[0], test_[3]].map((x) => x?.file as HarnessFile);
  const before = await page.evaluate((f) => window.vgg16Harness.tryHead(f, "stretch"), testFiles);
  if (!before.ok) throw new Error(`tryHead failed: ${JSON.stringify(before.error)}`);
  expect((await page.evaluate(() => window.vgg16Harness.memory())).numTensors).toBe(trained);
  const exported = await page.evaluate(() => window.vgg16Harness.exportHead());
  if (!exported.ok || !exported.value) throw new Error(`export failed: ${JSON.stringify(exported)}`);
  expect(exported.value.weightBytes).toBeGreaterThan(25088 * 256 * 4);
  const imported = await page.evaluate(() => window.vgg16Harness.importHead());
  if (!imported.ok) throw new Error(`import failed: ${JSON.stringify(imported.error)}`);
  const afterImport = (await page.evaluate(() => window.vgg16Harness.memory())).numTensors;
  const after = await page.evaluate((f) => window.vgg16Harness.tryHead(f, "stretch"), testFiles);
  if (!after.ok) throw new Error(`tryHead failed: ${JSON.stringify(after.error)}`);
  expect(after.value).toHaveLength(2);
  after.value.forEach((r, i) => {
    const b = before.value[i];
    expect(r.ok).toBe(true);
    expect(r.label).toBe(b?.label);
    expect(r.probability).toBeCloseTo(b?.probability ?? Number.NaN, 5);
  });
  const importedState = await page.evaluate(() => window.vgg16Harness.headState());
  expect(importedState.ok && importedState.value?.history.length).toBe(5);
  // No leaks: the jobs leave exactly the head's tensors behind.
  expect((await page.evaluate(() => window.vgg16Harness.memory())).numTensors).toBe(afterImport);
  expect(afterImport).toBeLessThanOrEqual(trained);
});
