/**
 * Classification end to end in Debian Chromium on WASM, against the full-size
 * synthetic model (tools/e2e-prepare.ts), with the real photos from
 * ../shared/data/photos: every photo gets a top-5 whose top-1 matches the
 * Node reference (same preprocessing function, TF.js WASM in Node), bad files
 * get alerts while the rest classify, no tensor leaks, and a reload loads the
 * model from the cache with no model request.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { fallbackLabels } from "../src/model/labels";

const PHOTOS = resolve(import.meta.dirname, "../../shared/data/photos");
const REFERENCE = resolve(import.meta.dirname, "../.cache/e2e-models/vgg16/reference.json");
const haveData = existsSync(PHOTOS) && existsSync(REFERENCE);
if (!haveData) console.warn(`\n*** SKIPPED classify e2e: ${PHOTOS} or ${REFERENCE} not found ***\n`);

interface Reference {
  photos: Record<string, { top5: Array<[number, number]> }>;
}

const percent = (text: string): number => Number(/(\d+\.\d\d)%/.exec(text)?.[1] ?? Number.NaN);

async function diagnostics(page: Page): Promise<{ tensors: number; bytes: number }> {
  const text = (await page.getByRole("region", { name: "Diagnostics" }).textContent()) ?? "";
  return {
    tensors: Number(/tensors: (\d+)/.exec(text)?.[1] ?? Number.NaN),
    bytes: Number(/bytes: (\d+)/.exec(text)?.[1] ?? Number.NaN),
  };
}

async function waitReady(page: Page): Promise<number> {
  const started = Date.now();
  await expect(page.getByRole("status").filter({ hasText: /Ready/ }).first()).toContainText(/WASM/i, {
    timeout: 180_000,
  });
  return Date.now() - started;
}

test.describe.configure({ mode: "serial" });
test.skip(!haveData, "shared photos or the e2e reference are missing");

test("classifies the 18 shared photos on WASM like the Node reference, with alerts for bad files", async ({
  page,
}) => {
  test.setTimeout(600_000);
  const reference = JSON.parse(readFileSync(REFERENCE, "utf8")) as Reference;
  const names = fallbackLabels().classes.map(([, name]) => name);
  const photos = readdirSync(PHOTOS)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort();
  expect(photos).toHaveLength(18);

  const coldStart = Date.now();
  await page.goto("/?backend=wasm");
  const coldLoadMs = (await waitReady(page)) + 0;
  const before = await diagnostics(page);
  expect(before.tensors).toBeGreaterThan(0);
  // On WASM the app runs VGG16 through the WASM runner, not the graph model (so the top-5s below test it).
  await expect(page.getByRole("region", { name: "Diagnostics" })).toContainText(
    "engine: WASM runner (Winograd convolutions, streaming dense layers)",
  );

  const truncated = readFileSync(join(PHOTOS, "grace_hopper.jpg")).subarray(0, 2048);
  await page.getByLabel("Add images").setInputFiles([
    // Playwright takes paths or buffers, not both, in one call.
    ...photos.map((f) => ({
      name: f,
      mimeType: f.endsWith(".png") ? "image/png" : "image/jpeg",
      buffer: readFileSync(join(PHOTOS, f)),
    })),
    { name: "empty.png", mimeType: "image/png", buffer: Buffer.alloc(0) },
    { name: "notes.png", mimeType: "image/png", buffer: Buffer.from("these are my notes, not an image\n") },
    { name: "truncated.jpg", mimeType: "image/jpeg", buffer: truncated },
  ]);

  const results = page.getByRole("region", { name: "Results" });
  for (const bad of ["empty.png", "notes.png", "truncated.jpg"]) {
    await expect(results.getByRole("alert").filter({ hasText: bad })).toBeVisible({ timeout: 300_000 });
  }
  const times: number[] = [];
  for (const photo of photos) {
    const card = results.getByRole("article", { name: photo });
    const items = card.locator("ol > li");
    await expect(items).toHaveCount(5, { timeout: 300_000 });
    const texts = await items.allTextContents();
    const values = texts.map(percent);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1] as number);
    expect(values.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100.01);
    await expect(card).toContainText(/synthetic/i);
    const expectedTop1 = names[reference.photos[photo]?.top5[0]?.[0] ?? -1] as string;
    expect(texts[0], `${photo}: top-1`).toContain(expectedTop1);
    const ms = Number(/(\d[\d,]*) ms/.exec((await card.textContent()) ?? "")?.[1]?.replace(/,/g, ""));
    if (Number.isFinite(ms)) times.push(ms);
  }
  await expect.poll(async () => (await diagnostics(page)).tensors, { timeout: 30_000 }).toBe(before.tensors);
  expect((await diagnostics(page)).bytes).toBe(before.bytes);
  await page.screenshot({ path: "test-results/results-page.png", fullPage: true });

  times.sort((a, b) => a - b);
  console.log(
    `[classify e2e] cold load ${coldLoadMs} ms (page open → Ready ${Date.now() - coldStart} ms incl. classifying); median ${times[Math.floor(times.length / 2)]} ms/image over ${times.length} photos`,
  );
});

test("a reload takes the model from the cache, with no model request", async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto("/?backend=wasm");
  await waitReady(page);
  const modelRequests: string[] = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname.startsWith("/models/")) modelRequests.push(r.url());
  });
  const started = Date.now();
  await page.reload();
  const warmLoadMs = await waitReady(page);
  expect(modelRequests).toEqual([]);
  await page.getByLabel("Add images").setInputFiles(join(PHOTOS, "chelsea.png"));
  await expect(
    page
      .getByRole("region", { name: "Results" })
      .getByRole("article", { name: "chelsea.png" })
      .locator("ol > li"),
  ).toHaveCount(5, { timeout: 120_000 });
  console.log(
    `[classify e2e] cached reload → Ready ${warmLoadMs} ms; reload → first prediction ${Date.now() - started} ms`,
  );
});
