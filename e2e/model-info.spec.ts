/**
 * The Model panel against the synthetic model that tools/e2e-prepare.ts
 * writes to .cache/e2e-models (served at /models/ by the preview server).
 */
import { expect, test } from "@playwright/test";

const COMMANDS = [
  "npm run weights -- fetch",
  "npm run weights -- convert path/to/vgg16_weights_tf_dim_ordering_tf_kernels.h5 --labels path/to/imagenet_class_index.json",
  "npm run weights -- synthetic",
];

test("shows the synthetic model's facts", async ({ page }) => {
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto("/");
  await expect(page).toHaveTitle("VGG16 in your browser");

  const status = page.getByRole("status");
  await expect(status).toContainText("Model found");
  await expect(status).toContainText("synthetic weights, seed 1");

  const model = page.getByRole("region", { name: "Model" });
  const badge = model.getByRole("note", { name: "Synthetic weights" });
  await expect(badge).toBeVisible();
  await expect(badge).toContainText("random");
  await expect(model).toContainText("138,357,544");
  await expect(model).toContainText("14,714,688");
  await expect(model).toContainText("synthetic, seed 1");
  await expect(model).toContainText("none (float32)");
  await expect(model).toContainText("Includes top");
  // 138,357,544 float32 weights plus the Reshape's int32[2] shape, in 4 MiB shards.
  await expect(model).toContainText("553,430,184 bytes");
  await expect(model).toContainText("132 shards");

  await model.screenshot({ path: "test-results/model-panel.png" });

  // The page now goes on to load the weights in its worker, so shards are requested too; but
  // nothing off-origin (blob: URLs of this origin are the WASM backend's thread workers, not downloads).
  const origin = new URL(page.url()).origin;
  expect(requests.filter((u) => u.endsWith("/models/vgg16/model.json")).length).toBeGreaterThan(0);
  expect(
    requests.filter(
      (u) => !u.startsWith(origin) && !u.startsWith("data:") && !u.startsWith(`blob:${origin}/`),
    ),
  ).toEqual([]);
});

test("explains how to get a model when there is none", async ({ page }) => {
  await page.goto("/?model=/models/nope/model.json");
  await expect(page.getByRole("status")).toContainText("No model found at /models/nope/model.json");

  const model = page.getByRole("region", { name: "Model" });
  await expect(model.getByRole("heading", { name: /No VGG16 model found at/ })).toContainText(
    "/models/nope/model.json",
  );
  await expect(model).toContainText("404");
  for (const command of COMMANDS) {
    await expect(model.locator("code", { hasText: command }).first()).toHaveText(command);
  }
  await expect(model.getByRole("note")).toHaveCount(0);
});

test("says what is wrong with a file that is not a VGG16 model", async ({ page }) => {
  await page.route(
    (url) => url.pathname === "/models/broken/model.json",
    (route) =>
      route.fulfill({ status: 200, contentType: "application/json", body: '{"format":"graph-model"}' }),
  );
  await page.goto("/?model=/models/broken/model.json");
  await expect(page.getByRole("status")).toContainText("not a usable VGG16 model");
  const model = page.getByRole("region", { name: "Model" });
  await expect(model).toContainText("no VGG16 metadata");
  await expect(model.locator("code", { hasText: "npm run weights -- synthetic" })).toBeVisible();
});

test("serves cross-origin isolated pages and real 404s for models", async ({ page, request }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  const headers = response?.headers() ?? {};
  expect(headers["cross-origin-opener-policy"]).toBe("same-origin");
  expect(headers["cross-origin-embedder-policy"]).toBe("require-corp");
  expect(await page.evaluate(() => window.crossOriginIsolated)).toBe(true);

  const script = await page.locator("script[type=module]").first().getAttribute("src");
  expect(script).toBeTruthy();
  const asset = await request.get(script as string);
  expect(asset.status()).toBe(200);
  expect(asset.headers()["cross-origin-embedder-policy"]).toBe("require-corp");

  const modelJson = await request.get("/models/vgg16/model.json");
  expect(modelJson.status()).toBe(200);
  expect(modelJson.headers()["content-type"]).toContain("application/json");
  expect(modelJson.headers()["cross-origin-resource-policy"]).toBe("same-origin");
  expect(Number(modelJson.headers()["content-length"])).toBe((await modelJson.body()).length);

  const shard = await request.head("/models/vgg16/group1-shard1of132.bin");
  expect(shard.status()).toBe(200);
  expect(shard.headers()["content-type"]).toBe("application/octet-stream");
  expect(shard.headers()["content-length"]).toBe(String(4 * 1024 * 1024));

  for (const path of [
    "/models/nope.json",
    "/models/nope/model.json",
    "/models/vgg16/",
    "/models/..%2f..%2fpackage.json",
    "/models/vgg16/..%2f..%2f..%2fpackage.json",
    "/models/%2e%2e%2fvite.config.ts",
    "/models/.vgg16.tmp/model.json",
  ]) {
    const missing = await request.get(path);
    expect(missing.status(), path).toBe(404);
    expect(missing.headers()["content-type"], path).not.toContain("text/html");
    expect(await missing.text(), path).not.toContain("<html");
  }
});
