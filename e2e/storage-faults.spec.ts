/**
 * Storage faults in the transfer-learning lesson, on 12 of the shared
 * dogs-vs-cats photos with the full-size synthetic model (WASM):
 *
 * - a reload in the middle of feature extraction keeps the features already
 *   extracted, and "Extract features" computes only the rest;
 * - a full disk (every IndexedDB and Cache Storage write, in the worker and
 *   the page, fails with QuotaExceededError as at a used-up quota; see
 *   e2e/fault-injection.ts): the model still loads from its cache, extraction
 *   still completes and the view says features are not being cached; once
 *   space is back, nothing saved before is lost;
 * - a reload in the middle of training keeps the head of the last complete
 *   epoch, and "Continue training" goes on from the next epoch.
 *
 * One page from start to end, so that the 553 MB model is downloaded once
 * (each reload reads it from Cache Storage).
 *
 * Run: npx tsx tools/e2e-prepare.ts && npx playwright test e2e/storage-faults.spec.ts
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { failStorageWrites, injectWorkerFaults } from "./fault-injection";

const SHARED_DATA = process.env.VGG16_SHARED_DATA ?? resolve(import.meta.dirname, "../../shared/data");
const SOURCE = join(SHARED_DATA, "dogs-vs-cats", "train");
const missingData = existsSync(join(SOURCE, "cats"))
  ? null
  : `SKIPPED: dogs-vs-cats not found at ${SOURCE} (set VGG16_SHARED_DATA)`;
if (missingData) console.warn(`\n*** ${missingData} ***\n`);
test.skip(missingData !== null, missingData ?? "");

/** Per class: 4 train, 1 validation, 1 test = 12 photos in the book's folder layout (in a temp folder). */
const LAYOUT = { train: 4, validation: 1, test: 1 } as const;
const TOTAL = 12;

function makeDataset(): string {
  const root = join(mkdtempSync(join(tmpdir(), "vgg16-storage-e2e-")), "cats-dogs-12");
  for (const cls of ["cats", "dogs"]) {
    const photos = readdirSync(join(SOURCE, cls))
      .filter((f) => /\.jpe?g$/i.test(f))
      .sort();
    let next = 0;
    for (const [split, n] of Object.entries(LAYOUT)) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (let i = 0; i < n; i++) {
        const name = photos[next++] as string;
        copyFileSync(join(SOURCE, cls, name), join(root, split, cls, name));
      }
    }
  }
  return root;
}

async function waitReady(page: Page): Promise<void> {
  await expect(page.getByRole("status").filter({ hasText: /Ready/ }).first()).toContainText(/WASM/i, {
    timeout: 120_000,
  });
}

const extractionBar = (page: Page) => page.getByRole("progressbar", { name: "Feature extraction" });

async function extractAll(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Extract features" }).click();
  await expect
    .poll(() => extractionBar(page).evaluate((p: HTMLProgressElement) => [p.value, p.max]), {
      timeout: 90_000,
      intervals: [500],
    })
    .toEqual([TOTAL, TOTAL]);
  await expect(page.getByRole("button", { name: "Extract features" })).toBeEnabled();
}

/** How many image → features entries the view has saved (what a reload brings back). */
function savedHashes(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((done) => {
        const open = indexedDB.open("vgg16-transfer-ui");
        open.onsuccess = () => {
          const get = open.result.transaction("state").objectStore("state").get("hashes");
          get.onsuccess = () => {
            done(Object.keys(get.result ?? {}).length);
            open.result.close();
          };
          get.onerror = () => done(-1);
        };
        open.onerror = () => done(-1);
      }),
  );
}

test("reload mid-extraction and mid-training, and a full disk: finished work is kept, jobs resume, notices say what is not kept", async ({
  page,
}) => {
  test.setTimeout(300_000);
  const dataset = makeDataset();
  const features = page.getByRole("region", { name: "2. Features" });
  const training = page.getByRole("region", { name: "3. Training" });
  const lossRows = page.getByRole("table", { name: "Loss data" }).locator("tbody tr");
  // The page's own writes fail too while the flag is set (sessionStorage survives the tab's reloads).
  await page.addInitScript({
    content: `if (sessionStorage.getItem("e2e-storage-full") === "1") (${failStorageWrites.toString()})(window);`,
  });
  try {
    await page.goto("/?backend=wasm");
    await page.getByRole("link", { name: "Transfer learning" }).click();
    await waitReady(page);
    await page.getByLabel("Add dataset folder").setInputFiles(dataset);
    await expect(page.getByRole("table", { name: "Images per class and split" })).toContainText("12");

    // 1. Reload once the first batch (4 images) is extracted: the rest is still being computed.
    await page.getByRole("button", { name: "Extract features" }).click();
    await expect
      .poll(() => extractionBar(page).evaluate((p: HTMLProgressElement) => p.value), { timeout: 90_000 })
      .toBeGreaterThanOrEqual(4);
    await expect.poll(() => savedHashes(page)).toBeGreaterThanOrEqual(4);
    await page.reload();
    const keptText = features.getByText(/Features extracted for \d+ of 12 images/);
    await expect(keptText).toBeVisible();
    const kept = Number(/for (\d+) of/.exec((await keptText.textContent()) ?? "")?.[1]);
    expect(kept).toBeGreaterThanOrEqual(4);
    expect(kept).toBeLessThan(TOTAL);
    await expect(features).toContainText(`Extract features computes the other ${TOTAL - kept}.`);
    // The worker may have cached a batch whose ids the page had not saved yet when it reloaded: at least `kept`.
    const cacheLine = features.getByText(/Feature cache: \d+ images/);
    await expect(cacheLine).toBeVisible();
    const cachedBefore = Number(
      /Feature cache: (\d+) images/.exec((await cacheLine.textContent()) ?? "")?.[1],
    );
    expect(cachedBefore).toBeGreaterThanOrEqual(kept);
    await waitReady(page);

    // 2. A full disk: from the next load on, every IndexedDB and Cache Storage write fails with
    // QuotaExceededError, in the worker and in the page, as when the origin's quota is used up. (Chromium's
    // CDP Storage.overrideQuotaForOrigin was tried first: even at 1 byte it let small IndexedDB writes through.)
    const stopFailingWorkerWrites = await injectWorkerFaults(page, { storageFull: true });
    await page.evaluate(() => sessionStorage.setItem("e2e-storage-full", "1"));
    const modelRequests: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (new URL(r.url()).pathname.startsWith("/models/")) modelRequests.push(r.url());
    };
    page.context().on("request", onRequest);
    await page.reload();
    await waitReady(page);
    page.context().off("request", onRequest);
    // The model is read from its cache under the full quota: not one request for it.
    await expect(page.getByRole("region", { name: "Model" })).toContainText("read from the browser's cache");
    expect(modelRequests).toEqual([]);
    // Extraction completes; the view says the new features are not being kept.
    await extractAll(page);
    await expect(features).toContainText(`${cachedBefore} cached, ${TOTAL - cachedBefore} computed`);
    await expect(features).toContainText(
      "Features are not being cached: The browser's storage quota is full",
    );
    const stored = Number(/Feature cache: (\d+) images/.exec((await features.textContent()) ?? "")?.[1]);
    expect(stored).toBe(cachedBefore);
    // Training works too, and the view says the head it cannot save is not kept across reloads.
    await training.getByLabel("Epochs", { exact: true }).fill("1");
    await page.getByRole("button", { name: "Train", exact: true }).click();
    await expect(training).toContainText("Finished 1 epoch", { timeout: 60_000 });
    await expect(training).toContainText(
      "The head is not kept across reloads: the head could not be saved in IndexedDB",
    );
    // Adding the folder again works, and says these images are not kept; the copy saved earlier stays (step 3).
    await page.getByLabel("Add dataset folder").setInputFiles(dataset);
    await expect(page.getByText("These images are not kept for your next visit")).toBeVisible();
    await expect(page.getByRole("table", { name: "Images per class and split" })).toContainText("12");

    // 3. Space is back: everything saved before the disk filled up is still there after a reload.
    await stopFailingWorkerWrites();
    await page.evaluate(() => sessionStorage.removeItem("e2e-storage-full"));
    await page.reload();
    await expect(features).toContainText(`Feature cache: ${stored} images`);
    await expect(page.getByRole("table", { name: "Images per class and split" })).toContainText("12");
    await expect(page.getByText("These images are not kept for your next visit")).toHaveCount(0);
    // The head trained under the full disk was not kept: nothing to restore.
    await expect(training).not.toContainText("Restored a head");
    await waitReady(page);
    await extractAll(page);
    await expect(features).toContainText(`${stored} cached, ${TOTAL - stored} computed`);
    await expect(features).toContainText(`Feature cache: ${TOTAL} images`);
    await expect(features).not.toContainText("Features are not being cached");

    // 4. Reload once two epochs of a 50-epoch run are done (the worker saves the head after each epoch).
    await training.getByLabel("Epochs", { exact: true }).fill("50");
    await training.getByLabel("Seed (optional)").fill("7");
    await page.getByRole("button", { name: "Train", exact: true }).click();
    await expect
      .poll(() => lossRows.count(), { timeout: 60_000, intervals: [100] })
      .toBeGreaterThanOrEqual(2);
    await page.reload();
    const restored = training.getByText(/Restored a head trained for \d+ epochs/);
    await expect(restored).toBeVisible();
    const epochs = Number(/for (\d+) epochs/.exec((await restored.textContent()) ?? "")?.[1]);
    expect(epochs).toBeGreaterThanOrEqual(2);
    expect(epochs).toBeLessThan(50);
    await expect(training).toContainText(`Continue training goes on from epoch ${epochs + 1} to 50.`);
    await expect(lossRows).toHaveCount(epochs);
    await waitReady(page);

    // Continue: two more epochs, numbered after the restored ones.
    await training.getByLabel("Epochs", { exact: true }).fill(String(epochs + 2));
    await page.getByRole("button", { name: "Continue training" }).click();
    await expect(training).toContainText(`Finished ${epochs + 2} epochs`, { timeout: 60_000 });
    const numbers = (
      await page.getByRole("table", { name: "Loss data" }).getByRole("rowheader").allTextContents()
    ).map(Number);
    expect(numbers).toEqual(Array.from({ length: epochs + 2 }, (_, i) => i + 1));
    console.log(
      `[storage faults] reload mid-extraction kept ${kept} of ${TOTAL} images' features (${cachedBefore} in the cache); under the full quota ${stored} stayed cached; reload mid-training kept ${epochs} epochs`,
    );
  } finally {
    rmSync(resolve(dataset, ".."), { recursive: true, force: true });
  }
});
