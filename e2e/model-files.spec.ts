/**
 * A model given as files, in the app: a Keras notop .h5 (58 MB, written here
 * with the fake Keras writer) picked with "Load model files" is converted in
 * the worker, loads, is kept in Cache Storage under a local URL, and comes
 * back on the next visit with no request to /models/. A text file named
 * weights.h5 gets an alert naming it.
 *
 * Run: npx tsx tools/e2e-prepare.ts && npx playwright test e2e/model-files.spec.ts
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { syntheticVgg16Weights } from "../src/model/synthetic";
import { writeFakeKerasH5 } from "../tests/helpers/fake-keras-h5";

const H5_NAME = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";
// A model.json nobody serves: the page starts with "No VGG16 model found".
const NO_MODEL = "/?model=/no-such-model/model.json";

let dir = "";
let h5Path = "";
let md5 = "";

test.beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vgg16-e2e-h5-"));
  h5Path = join(dir, H5_NAME);
  await writeFakeKerasH5(h5Path, syntheticVgg16Weights(7, false));
  md5 = createHash("md5")
    .update(await readFile(h5Path))
    .digest("hex");
});

test.afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test.describe.configure({ mode: "serial" });

test("a Keras notop .h5 loads, says it cannot classify, and comes back from the cache", async ({ page }) => {
  test.setTimeout(150_000);
  await page.goto(NO_MODEL);
  const model = page.getByRole("region", { name: "Model" });
  await expect(model).toContainText("No VGG16 model found");
  await expect(model).toContainText("npm run weights -- fetch");

  const started = Date.now();
  await model.getByLabel("Load model files").setInputFiles(h5Path);
  await expect(page.getByRole("progressbar", { name: "Model loading" })).toBeVisible();
  const status = page.getByRole("status").first();
  await expect(status).toContainText("Ready", { timeout: 120_000 });
  const loadMs = Date.now() - started;
  const timings = (await model.locator(".loader__done").textContent()) ?? "";
  console.log(`notop .h5 (58 MB) picked → ready in ${loadMs} ms; ${timings}`);
  expect(timings).toContain("your files read and converted");

  await expect(model).toContainText(`${H5_NAME} (md5 ${md5})`);
  await expect(model).toContainText("14,714,688");
  await expect(model.getByRole("note").filter({ hasText: "features only" })).toBeVisible();
  await expect(model.getByRole("button", { name: "Use the default model" })).toBeVisible();

  // Classifying with a features-only model: a clear message, no crash.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==",
    "base64",
  );
  await page
    .locator('input[type="file"][accept="image/*"]')
    .setInputFiles({ name: "dot.png", mimeType: "image/png", buffer: png });
  const alert = page.getByRole("alert").filter({ hasText: "dot.png" });
  await expect(alert).toContainText("features-only model cannot classify", { timeout: 60_000 });

  // The next visit (no ?model=) loads the remembered model from Cache Storage: nothing from /models/.
  const modelRequests: string[] = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/models/") || path.startsWith("/__local-models__/")) modelRequests.push(r.url());
  });
  await page.goto("/");
  await expect(page.getByRole("status").first()).toContainText("Ready", { timeout: 90_000 });
  await expect(model).toContainText(`${H5_NAME} (md5 ${md5})`);
  await expect(model.locator(".loader__done")).toContainText("read from the browser's cache");
  expect(modelRequests).toEqual([]);

  // "Use the default model" forgets it: the served synthetic model is back.
  await model.getByRole("button", { name: "Use the default model" }).click();
  await expect(page.getByRole("status").first()).toContainText("synthetic weights, seed 1", {
    timeout: 30_000,
  });
  expect(await page.evaluate(() => localStorage.getItem("vgg16.localModelUrl"))).toBeNull();
});

test("a text file named weights.h5 gets an alert naming it", async ({ page }) => {
  await page.goto(NO_MODEL);
  const model = page.getByRole("region", { name: "Model" });
  await expect(model).toContainText("No VGG16 model found");
  await model.getByLabel("Load model files").setInputFiles({
    name: "weights.h5",
    mimeType: "application/octet-stream",
    buffer: Buffer.from("These are not the weights you are looking for.\n"),
  });
  const alert = model.getByRole("alert").filter({ hasText: "weights.h5" });
  await expect(alert).toContainText("weights.h5");
  await expect(alert).toContainText("not an HDF5 file");
  // The explanation is still there to try again.
  await expect(model).toContainText("npm run weights -- fetch");
});
