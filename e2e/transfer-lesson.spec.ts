/**
 * The transfer-learning lesson end to end through the real UI, in Debian
 * Chromium on WASM with the full-size synthetic model: load the shared
 * dogs-vs-cats folder (400 photos) through "Add dataset folder", extract
 * features, train 3 epochs, evaluate, then reload the page and check that
 * everything the user built is still there (dataset, features, head, history)
 * and that nothing is computed again.
 *
 * Every step is found by its accessible name (README, "Testing the UI").
 * Speeds and memory are logged and attached as annotations (they land in
 * test-results/results.json); none is asserted: speed belongs to the benchmark.
 *
 * Run: npx tsx tools/e2e-prepare.ts && npx playwright test e2e/transfer-lesson.spec.ts
 * VGG16_SHARED_DATA=/path/to/data runs it on another folder with the same layout (e.g. a small copy while
 * developing); the expected counts are read from the folder itself.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, type Locator, type Page, test } from "@playwright/test";

const SHARED_DATA = process.env.VGG16_SHARED_DATA ?? resolve(import.meta.dirname, "../../shared/data");
const DATA_DIR = join(SHARED_DATA, "dogs-vs-cats");
const SPLITS = ["train", "validation", "test"] as const;
const CLASSES = ["cats", "dogs"] as const;
const EPOCHS = 3;

const missingData = existsSync(join(DATA_DIR, "train", "cats"))
  ? null
  : `SKIPPED: dogs-vs-cats not found at ${DATA_DIR} (set VGG16_SHARED_DATA)`;
if (missingData) console.warn(`\n*** ${missingData} ***\n`);

/** Images per split and class on disk: what the UI must show. */
function countsOnDisk(): Record<(typeof SPLITS)[number], number[]> {
  const count = (split: string, cls: string) =>
    readdirSync(join(DATA_DIR, split, cls)).filter((f) => /\.(jpe?g|png)$/i.test(f)).length;
  return {
    train: CLASSES.map((c) => count("train", c)),
    validation: CLASSES.map((c) => count("validation", c)),
    test: CLASSES.map((c) => count("test", c)),
  };
}

const numberIn = (text: string, pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? Number.NaN);

async function waitReady(page: Page): Promise<void> {
  await expect(page.getByRole("status").filter({ hasText: /Ready/ }).first()).toContainText(/WASM/i, {
    timeout: 180_000,
  });
}

async function diagnostics(page: Page): Promise<{ tensors: number; bytes: number }> {
  const text = (await page.getByRole("region", { name: "Diagnostics" }).textContent()) ?? "";
  return { tensors: numberIn(text, /tensors: (\d+)/), bytes: numberIn(text, /bytes: (\d+)/) };
}

/** The counts table as {class: [train, validation, test]}. */
async function countsInUi(page: Page): Promise<Record<string, number[]>> {
  const rows = page.getByRole("table", { name: "Images per class and split" }).locator("tbody tr");
  const out: Record<string, number[]> = {};
  for (const row of await rows.all()) {
    const name = (await row.getByRole("rowheader").textContent()) ?? "";
    const cells = (await row.getByRole("cell").allTextContents()).map(Number);
    out[name] = cells.slice(0, 3);
  }
  return out;
}

async function expectCounts(page: Page, disk: ReturnType<typeof countsOnDisk>): Promise<void> {
  const expected = Object.fromEntries(
    CLASSES.map((c, i) => [c, SPLITS.map((s) => disk[s][i] as number)]),
  ) as Record<string, number[]>;
  await expect.poll(() => countsInUi(page)).toEqual(expected);
}

/** A metric table's rows as numbers: [epoch, training, validation] (percentages become 0..1). */
async function metricTable(page: Page, name: "Accuracy data" | "Loss data"): Promise<number[][]> {
  const rows = page.getByRole("table", { name }).locator("tbody tr");
  const parse = (text: string) =>
    text.trim().endsWith("%") ? Number(text.trim().slice(0, -1)) / 100 : Number(text.trim());
  const out: number[][] = [];
  for (const row of await rows.all()) {
    const epoch = Number(await row.getByRole("rowheader").textContent());
    const cells = (await row.getByRole("cell").allTextContents()).map(parse);
    out.push([epoch, ...cells]);
  }
  return out;
}

async function expectTrainedTables(page: Page): Promise<{ acc: number[][]; loss: number[][] }> {
  const acc = await metricTable(page, "Accuracy data");
  const loss = await metricTable(page, "Loss data");
  expect(acc.map((r) => r[0])).toEqual([1, 2, 3]);
  expect(loss.map((r) => r[0])).toEqual([1, 2, 3]);
  for (const [, training, validation] of acc) {
    for (const v of [training, validation]) {
      expect(Number.isFinite(v), `accuracy ${v}`).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  }
  for (const [, training, validation] of loss) {
    for (const v of [training, validation]) {
      expect(Number.isFinite(v), `loss ${v}`).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
    }
  }
  return { acc, loss };
}

/** The confusion matrix's integer cells (rows: true class, columns: predicted), checked against its headers. */
async function confusionMatrix(page: Page): Promise<number[][]> {
  const table = page.getByRole("table", { name: "Confusion matrix" });
  await expect(table.getByRole("columnheader")).toHaveText([...CLASSES]);
  await expect(table.getByRole("rowheader")).toHaveText([...CLASSES]);
  const matrix: number[][] = [];
  for (const row of await table.locator("tbody tr").all()) {
    const texts = await row.getByRole("cell").allTextContents();
    const values = texts.map((t) => t.trim());
    for (const v of values) expect(v, "a confusion-matrix cell").toMatch(/^\d+$/);
    matrix.push(values.map(Number));
  }
  return matrix;
}

/** Evaluates, checks the matrix against the test split and the status text, and returns both. */
async function evaluate(page: Page, testImages: number): Promise<{ matrix: number[][]; status: string }> {
  await page.getByRole("button", { name: "Evaluate" }).click();
  const status = page.getByRole("status").filter({ hasText: /Test accuracy/ });
  await expect(status).toHaveText(/Test accuracy: \d+\.\d\d%/, { timeout: 120_000 });
  const matrix = await confusionMatrix(page);
  expect(matrix).toHaveLength(CLASSES.length);
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  expect(total).toBe(testImages);
  const correct = matrix.reduce((a, row, i) => a + (row[i] ?? 0), 0);
  const text = (await status.textContent()) ?? "";
  expect(text).toContain(`Test accuracy: ${((100 * correct) / total).toFixed(2)}%`);
  return { matrix, status: text };
}

/** Waits until the "Feature extraction" progressbar is full; returns its [value, max]. */
async function waitExtracted(page: Page, total: number, timeout: number): Promise<void> {
  const bar = page.getByRole("progressbar", { name: "Feature extraction" });
  await expect
    .poll(() => bar.evaluate((p: HTMLProgressElement) => [p.value, p.max]), { timeout, intervals: [1000] })
    .toEqual([total, total]);
  await expect(page.getByRole("button", { name: "Extract features" })).toBeEnabled();
}

function featuresPanel(page: Page): Locator {
  return page.getByRole("region", { name: "2. Features" });
}

/**
 * The browser's memory on Linux: RSS and PSS summed over this worker's child
 * processes (Playwright launches Chromium from the test worker). PSS shares
 * pages between processes fairly, so it does not count shared memory twice.
 */
function browserMemoryMiB(): { rss: number; pss: number; processes: number } | null {
  if (!existsSync("/proc/self/stat")) return null;
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // The process ended meanwhile.
    }
  }
  const ours = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!ours.has(pid) && ours.has(ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  ours.delete(process.pid);
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of ours) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      rssKb += numberIn(rollup, /^Rss:\s+(\d+)/m) || 0;
      pssKb += numberIn(rollup, /^Pss:\s+(\d+)/m) || 0;
    } catch {
      // Gone, or not readable.
    }
  }
  return { rss: Math.round(rssKb / 1024), pss: Math.round(pssKb / 1024), processes: ours.size };
}

test.skip(missingData !== null, missingData ?? "");

test("the cats-vs-dogs lesson: folder → features → 3 epochs → evaluation, and all of it survives a reload", async ({
  page,
}, testInfo) => {
  // ~1 s per image of extraction on 2 WASM threads; everything else takes about a minute.
  test.setTimeout(20 * 60_000);
  const note = (type: string, description: string) => {
    testInfo.annotations.push({ type, description });
    console.log(`[transfer e2e] ${type}: ${description}`);
  };
  page.on("console", (message) => {
    if (message.type() === "error") console.log(`[page error] ${message.text()}`);
  });
  const disk = countsOnDisk();
  const testImages = disk.test.reduce((a, b) => a + b, 0);
  const allImages = SPLITS.reduce((a, s) => a + disk[s].reduce((x, y) => x + y, 0), 0);

  await page.goto("/?backend=wasm");
  await page.getByRole("link", { name: "Transfer learning" }).click();
  await waitReady(page);
  const modelOnly = await diagnostics(page);

  // 1. The folder, as a user picks it (a webkitdirectory input gives paths under "dogs-vs-cats/").
  await page.getByLabel("Add dataset folder").setInputFiles(DATA_DIR);
  await expectCounts(page, disk);

  // 2. Features: every image computed once.
  const extractStart = Date.now();
  await page.getByRole("button", { name: "Extract features" }).click();
  await waitExtracted(page, allImages, 15 * 60_000);
  const extractSeconds = (Date.now() - extractStart) / 1000;
  const features = featuresPanel(page);
  await expect(features).toContainText(`0 cached, ${allImages} computed`);
  await expect(features).toContainText(`Feature cache: ${allImages} images`);
  const uiRate = numberIn((await features.textContent()) ?? "", /([\d.]+) images\/s/);
  note(
    "feature extraction",
    `${allImages} images in ${extractSeconds.toFixed(1)} s (${(allImages / extractSeconds).toFixed(2)} images/s wall clock; the view says ${uiRate} images/s computed)`,
  );

  // 3. Train 3 epochs (seeded, so a rerun gives the same numbers); time each epoch by when its row appears.
  const training = page.getByRole("region", { name: "3. Training" });
  await training.getByLabel("Epochs", { exact: true }).fill(String(EPOCHS));
  await training.getByLabel("Seed (optional)").fill("42");
  const lossRows = page.getByRole("table", { name: "Loss data" }).locator("tbody tr");
  const trainStart = Date.now();
  await page.getByRole("button", { name: "Train", exact: true }).click();
  const epochEnds: number[] = [];
  while (epochEnds.length < EPOCHS) {
    const rows = await lossRows.count();
    while (epochEnds.length < rows) epochEnds.push(Date.now());
    if (Date.now() - trainStart > 10 * 60_000) throw new Error(`only ${rows} epochs after 10 min`);
    await page.waitForTimeout(100);
  }
  await expect(training).toContainText(`Finished ${EPOCHS} epochs`, { timeout: 60_000 });
  const epochSeconds = epochEnds.map((t, i) =>
    ((t - (i === 0 ? trainStart : (epochEnds[i - 1] ?? 0))) / 1000).toFixed(1),
  );
  note(
    "training",
    `${EPOCHS} epochs on ${disk.train.reduce((a, b) => a + b, 0)} training + ${disk.validation.reduce((a, b) => a + b, 0)} validation images: ${epochSeconds.join(", ")} s per epoch (row arrivals); the view says "${((await training.getByText(/^Finished/).textContent()) ?? "").trim()}"`,
  );
  const before = await expectTrainedTables(page);

  // Memory once training is over: Diagnostics is read after every transfer job.
  await expect
    .poll(async () => (await diagnostics(page)).tensors, { timeout: 30_000 })
    .not.toBe(modelOnly.tensors);
  const trained = await diagnostics(page);
  const os = browserMemoryMiB();
  note(
    "memory after training",
    `TF.js ${trained.tensors} tensors, ${(trained.bytes / 2 ** 20).toFixed(1)} MiB (model alone: ${modelOnly.tensors} tensors, ${(modelOnly.bytes / 2 ** 20).toFixed(1)} MiB)` +
      (os ? `; Chromium ${os.processes} processes, RSS ${os.rss} MiB summed, PSS ${os.pss} MiB` : ""),
  );

  // 4. Evaluate on the test split.
  const evalStart = Date.now();
  const first = await evaluate(page, testImages);
  note(
    "evaluation",
    `${testImages} test images in ${((Date.now() - evalStart) / 1000).toFixed(1)} s: ${first.status}`,
  );

  // 5. Reload: the dataset, the history and the head come back; nothing is extracted again.
  const reloadStart = Date.now();
  const since = () => ((Date.now() - reloadStart) / 1000).toFixed(1);
  await page.reload();
  await expectCounts(page, disk);
  const datasetAt = since();
  await expect(page.getByRole("table", { name: "Accuracy data" }).locator("tbody tr")).toHaveCount(EPOCHS);
  await expect(page.getByRole("table", { name: "Loss data" }).locator("tbody tr")).toHaveCount(EPOCHS);
  const historyAt = since();
  // Both come from the worker, which answers between the steps of loading the model.
  await expect(featuresPanel(page)).toContainText(`Feature cache: ${allImages} images`);
  await expect(page.getByRole("region", { name: "3. Training" })).toContainText(
    `Restored a head trained for ${EPOCHS} epochs.`,
  );
  const workerAt = since();
  await waitReady(page);
  const readyAt = since();
  expect(await expectTrainedTables(page)).toEqual(before);

  // The head was saved by the worker: evaluation works without training again, and agrees.
  const second = await evaluate(page, testImages);
  expect(second.matrix).toEqual(first.matrix);
  expect(second.status).toBe(first.status);
  const evaluatedAt = since();

  // Extracting again finds every image in the cache.
  await page.getByRole("button", { name: "Extract features" }).click();
  await waitExtracted(page, allImages, 120_000);
  await expect(featuresPanel(page)).toContainText(`${allImages} cached, 0 computed`);
  await expect(featuresPanel(page)).toContainText(`Feature cache: ${allImages} images`);
  note(
    "reload",
    `after page.reload(): dataset counts at ${datasetAt} s, 3-epoch tables at ${historyAt} s, feature cache and restored head at ${workerAt} s, model ready at ${readyAt} s, evaluated with the restored head at ${evaluatedAt} s, re-extraction (all cached) done at ${since()} s`,
  );
});
