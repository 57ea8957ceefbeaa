/**
 * Broken model files, caused on purpose with page.route while the real app
 * loads the full-size synthetic model (553 MB, 132 shards): a model.json
 * whose manifest is not VGG16's, a missing shard (404), a truncated shard, a
 * shard with one byte changed (wrong SHA-256), and damaged entries in the
 * model cache. Each fault gets an alert naming the file or the layer and a
 * "Retry" button; after the fault is gone, Retry loads the model, and the
 * shards downloaded by the failed attempts are not downloaded again. A
 * damaged cache heals on the next load with no action from the user.
 *
 * The faults are chained in one page so that the 553 MB download and the
 * model upload happen once (plus one cached reload): each Retry gets past the
 * previous fault and stops at the next one, further into the model.
 *
 * The served e2e model may predate shard digests, so model.json is served
 * here with every shard's size and SHA-256 added to its metadata, exactly as
 * `npm run weights` now writes them.
 *
 * Run: npx tsx tools/e2e-prepare.ts && npx playwright test e2e/model-faults.spec.ts
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, type Page, type Route, test } from "@playwright/test";

const MODEL_DIR = ".cache/e2e-models/vgg16";
const MODEL_JSON = "**/models/vgg16/model.json";
const shardName = (i: number, count: number) => `group1-shard${i}of${count}.bin`;

interface Served {
  /** model.json with per-shard digests. */
  good: string;
  /** The same with block4_conv1's kernel one channel short: not VGG16. */
  notVgg16: string;
  count: number;
  shard(i: number): Promise<Buffer>;
}

async function prepare(): Promise<Served> {
  const json = JSON.parse(await readFile(join(MODEL_DIR, "model.json"), "utf8"));
  const paths: string[] = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths);
  const shards: Array<{ bytes: number; sha256: string }> = [];
  for (const path of paths) {
    const bytes = await readFile(join(MODEL_DIR, path));
    shards.push({ bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
  }
  json.userDefinedMetadata.vgg16.shards = shards;
  const good = JSON.stringify(json);
  for (const group of json.weightsManifest) {
    for (const w of group.weights) if (w.name === "block4_conv1/kernel") w.shape = [3, 3, 256, 511];
  }
  return {
    good,
    notVgg16: JSON.stringify(json),
    count: paths.length,
    shard: (i) => readFile(join(MODEL_DIR, shardName(i, paths.length))),
  };
}

const fulfillJson = (body: string) => (route: Route) =>
  route.fulfill({ status: 200, contentType: "application/json", body });

/** Shard requests (file names) the page makes from now on, its worker included. */
function recordShards(page: Page): { names: string[]; stop(): void } {
  const names: string[] = [];
  const listener = (request: { url(): string }) => {
    const m = /\/models\/vgg16\/(group1-shard\d+of\d+\.bin)/.exec(request.url());
    if (m?.[1]) names.push(m[1]);
  };
  page.context().on("request", listener);
  return { names, stop: () => page.context().off("request", listener) };
}

test("broken model files: alert naming the file or layer, Retry loads, a damaged cache heals", async ({
  page,
}) => {
  test.setTimeout(240_000);
  const served = await prepare();
  const { count } = served;
  const context = page.context();
  const model = page.getByRole("region", { name: "Model" });
  const status = model.getByRole("status");
  const alert = model.getByRole("alert");
  const retry = model.getByRole("button", { name: "Retry" });

  // 1. A manifest that is not VGG16's: refused before any weights are fetched, naming the layer.
  await context.route(MODEL_JSON, fulfillJson(served.notVgg16));
  const early = recordShards(page);
  await page.goto("/?backend=wasm");
  await expect(alert).toContainText('layer "block4_conv1": kernel has shape [3, 3, 256, 511]');
  await expect(alert).toContainText("/models/vgg16/model.json");
  expect(early.names).toEqual([]);
  early.stop();

  // 2. A missing shard (404).
  await context.unroute(MODEL_JSON);
  await context.route(MODEL_JSON, fulfillJson(served.good));
  const missing = shardName(10, count);
  await context.route(`**/models/vgg16/${missing}`, (route) => route.fulfill({ status: 404, body: "" }));
  await retry.click();
  await expect(alert).toContainText(`${missing} (HTTP 404)`, { timeout: 60_000 });
  await expect(retry).toBeVisible();

  // 3. A truncated shard (half its bytes, with a matching Content-Length).
  await context.unroute(`**/models/vgg16/${missing}`);
  const truncated = shardName(30, count);
  const half = (await served.shard(30)).subarray(0, 2 * 1024 * 1024);
  await context.route(`**/models/vgg16/${truncated}`, (route) =>
    route.fulfill({ status: 200, contentType: "application/octet-stream", body: half }),
  );
  await retry.click();
  await expect(alert).toContainText(
    `${truncated} is damaged: it has 2097152 bytes, model.json says 4194304`,
    { timeout: 60_000 },
  );

  // 4. One byte changed: the size is right, the SHA-256 is not.
  await context.unroute(`**/models/vgg16/${truncated}`);
  const altered = shardName(50, count);
  const changed = Buffer.from(await served.shard(50));
  changed[1000] = (changed[1000] ?? 0) ^ 0xff;
  await context.route(`**/models/vgg16/${altered}`, (route) =>
    route.fulfill({ status: 200, contentType: "application/octet-stream", body: changed }),
  );
  await retry.click();
  await expect(alert).toContainText(
    new RegExp(`${altered} is damaged: it has SHA-256 [0-9a-f]{64}, model\\.json says`),
    {
      timeout: 60_000,
    },
  );

  // 5. Faults gone: Retry loads the model; what the failed attempts downloaded is not fetched again.
  await context.unroute(`**/models/vgg16/${altered}`);
  const final = recordShards(page);
  await retry.click();
  await expect(status).toContainText("Ready", { timeout: 120_000 });
  final.stop();
  await expect(model).toContainText("138,357,544");
  await expect(alert).toHaveCount(0);
  const timings = async () => (await model.locator(".loader__done").textContent()) ?? "";
  console.log(`[model faults] Retry: ${await timings()}`);
  console.log(`[model faults] the successful Retry downloaded ${final.names.length} of ${count} shards`);
  expect(final.names.length).toBeLessThan(count);
  expect(final.names).toContain(altered);
  expect(new Set(final.names).size).toBe(final.names.length);

  // 6. Damage two cached shards (one truncated, one with a byte changed), as a disk or another tab might. The
  // worker keeps shards in OPFS, a file each: preamble, JSON header with the URL, body (src/vgg16/opfs-cache.ts).
  const damaged = [shardName(5, count), shardName(6, count)];
  const keys = await page.evaluate(async (names) => {
    const root = await navigator.storage.getDirectory();
    const folder = await root.getDirectoryHandle("vgg16-models-v1");
    const found: string[] = [];
    const entries = (folder as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries();
    for await (const [, handle] of entries) {
      if (handle.kind !== "file") continue;
      const file = handle as FileSystemFileHandle;
      const bytes = new Uint8Array(await (await file.getFile()).arrayBuffer());
      const headerBytes = new DataView(bytes.buffer).getUint32(4, true);
      const { url } = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes))) as {
        url: string;
      };
      if (!names.some((n) => new URL(url).pathname.endsWith(`/${n}`))) continue;
      const bodyStart = 8 + headerBytes;
      const bad = url.includes(names[0] as string) ? bytes.slice(0, bodyStart + 1000) : bytes.slice();
      if (bad.length === bytes.length) bad[bodyStart + 7] = (bad[bodyStart + 7] ?? 0) ^ 1;
      const writable = await file.createWritable();
      await writable.write(bad);
      await writable.close();
      found.push(url);
    }
    return found;
  }, damaged);
  expect(keys).toHaveLength(2);

  // The next load finds them, drops them, downloads only those two, and says so: no action from the user.
  const healing = recordShards(page);
  await page.reload();
  await expect(status).toContainText("Ready", { timeout: 120_000 });
  healing.stop();
  expect(healing.names.sort()).toEqual([...damaged].sort());
  await expect(model).toContainText(
    `Repaired the cache: 2 damaged shards (${damaged.join(", ")}) dropped and downloaded again.`,
  );
  // The truncated shard was caught by its size, the altered one by the checksum stored with it, both before use.
  console.log(`[model faults] healing reload: ${await timings()}`);
  await expect(alert).toHaveCount(0);
});
