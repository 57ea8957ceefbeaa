/**
 * Security and privacy end to end, against the production build served by
 * `vite preview` with the app's headers (tools/security-headers.ts), in Debian
 * Chromium on WASM with the full-size synthetic model:
 *
 * 1. One session records every request the page, its model worker and the
 *    worker's WASM pthread workers make while the user classifies photos and
 *    runs a small transfer-learning lesson (extract, train 1 epoch, evaluate):
 *    each is a GET without a body to this origin, for a built file (dist/) or
 *    a model file (/models/…), and none names a user's file. The same session
 *    runs under the Content-Security-Policy with no violation, on the page or
 *    in the worker, and the policy is shown to bite: an injected inline script
 *    does not run, and a fetch from the worker to a plain-http host is refused.
 * 2. File names and class (folder) names are rendered as text: a PNG named
 *    `<img src=x onerror=…>.png` and a class folder named `<img src=y onerror=…>`
 *    appear
 *    literally and create no element.
 * 3. A `?model=https://other.example/…` URL is fetched in CORS mode without the
 *    cookies the browser holds for that host.
 *
 * Run: npx vite build && npx playwright test e2e/security.spec.ts
 */

import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { type BrowserContext, expect, type Page, type Request, test, type Worker } from "@playwright/test";
import { APP_HEADERS } from "../tools/security-headers";

const REPO = resolve(import.meta.dirname, "..");
const SHARED_DATA = process.env.VGG16_SHARED_DATA ?? resolve(REPO, "../shared/data");
const PHOTOS = join(SHARED_DATA, "photos");
const MODEL_DIR = resolve(REPO, ".cache/e2e-models/vgg16");
const DIST = resolve(REPO, "dist");

const missing = [PHOTOS, join(MODEL_DIR, "model.json"), join(DIST, "index.html")].filter(
  (p) => !existsSync(p),
);
const skipReason = missing.length ? `SKIPPED security e2e: not found: ${missing.join(", ")}` : null;
if (skipReason) console.warn(`\n*** ${skipReason} ***\n`);

/** Photos classified on the Classify tab (3 of the 18 shared ones). */
const CLASSIFIED = ["chelsea.png", "grace_hopper.jpg", "coffee.png"] as const;
/** A valid PNG whose name is markup that would run script if it were ever parsed as HTML. */
const EVIL_FILE = `<img src=x onerror="window.__pwned=1">.png`;
/** A class folder whose name is markup (no "/": that would be a subfolder). */
const EVIL_CLASS = `<img src=y onerror="window.__pwned=2">`;
/** The lesson's layout: split → class folder → photos (8 images, ~1 s each to extract). */
const LESSON: Record<string, Record<string, string[]>> = {
  train: { [EVIL_CLASS]: ["chelsea.png", "astronaut.png"], dogs: ["baboon.jpg", "robin.jpg"] },
  validation: { [EVIL_CLASS]: ["apple.jpg"], dogs: ["orange.jpg"] },
  test: { [EVIL_CLASS]: ["plant.jpg"], dogs: ["rocket.jpg"] },
};
const LESSON_IMAGES = Object.values(LESSON).flatMap((s) => Object.values(s).flat()).length;

const CSP = APP_HEADERS["Content-Security-Policy"];

interface Recorded {
  readonly url: string;
  readonly method: string;
  readonly body: string | null;
  readonly request: Request;
}

/** Every file `vite build` wrote, as the path the browser asks for ("/assets/x.js"). */
async function distPaths(): Promise<Set<string>> {
  const out = new Set<string>(["/"]);
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.add(`/${relative(DIST, full).split("\\").join("/")}`);
    }
  };
  await walk(DIST);
  return out;
}

const MODEL_FILE = /^\/models\/vgg16\/(model\.json|group\d+-shard\d+of\d+\.bin)$/;

/** Collects CSP violations on the page (the event) and in the console (pages and workers log them). */
async function watchCsp(page: Page): Promise<{ events: () => Promise<string[]>; console: string[] }> {
  // The page: a listener from before its first script.
  await page.addInitScript(() => {
    const w = window as unknown as { __cspViolations: string[] };
    w.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} ${e.sample}`);
    });
  });
  const console: string[] = [];
  page.on("console", (m) => {
    if (/Content[ -]Security[ -]Policy|Refused to/i.test(m.text())) console.push(m.text());
  });
  // The model worker: a listener installed as soon as Playwright sees it (a violation before that would have
  // stopped the app, which the tests would see), read back at the end. Not the WASM pthread workers: they sit
  // in Atomics.wait and never answer an evaluate; all they do under the policy is import the Emscripten
  // script and instantiate the WASM module, without which "2 threads" and the results would not come.
  const workers: Worker[] = [];
  page.on("worker", (w) => {
    if (w.url().startsWith("blob:")) return;
    workers.push(w);
    void w
      .evaluate(() => {
        const scope = self as unknown as { __cspViolations: string[] };
        scope.__cspViolations = [];
        self.addEventListener("securitypolicyviolation", (e) =>
          scope.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}`),
        );
      })
      .catch(() => undefined); // a worker that already ended
  });
  const inWorkers = async (): Promise<string[]> => {
    const all: string[] = [];
    for (const w of workers) {
      const found = await w
        .evaluate(() => (self as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])
        .catch(() => [] as string[]);
      all.push(...found.map((v) => `[worker] ${v}`));
    }
    return all;
  };
  return {
    events: async () => [
      ...(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)),
      ...(await inWorkers()),
    ],
    console,
  };
}

function recordRequests(context: BrowserContext): Recorded[] {
  const records: Recorded[] = [];
  context.on("request", (request) =>
    records.push({ url: request.url(), method: request.method(), body: request.postData(), request }),
  );
  return records;
}

async function waitReady(page: Page): Promise<string> {
  const status = page.getByRole("status").filter({ hasText: /Ready/ }).first();
  await expect(status).toContainText(/WASM/i, { timeout: 120_000 });
  return (await status.textContent()) ?? "";
}

/** The model worker (the one that runs TF.js, not a pthread worker). */
async function modelWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().length).toBeGreaterThan(0);
  const worker = page.workers().find((w) => /\/assets\/worker-[^/]*\.js$/.test(w.url()));
  if (!worker) throw new Error(`no model worker among ${page.workers().map((w) => w.url())}`);
  return worker;
}

test.skip(skipReason !== null, skipReason ?? "");
test.describe.configure({ mode: "serial" });

let lessonDir = "";
test.beforeAll(async () => {
  lessonDir = await mkdtemp(join(tmpdir(), "vgg16-e2e-security-"));
  for (const [split, classes] of Object.entries(LESSON)) {
    for (const [cls, files] of Object.entries(classes)) {
      await mkdir(join(lessonDir, "lesson", split, cls), { recursive: true });
      for (const f of files) await cp(join(PHOTOS, f), join(lessonDir, "lesson", split, cls, f));
    }
  }
});
test.afterAll(async () => {
  if (lessonDir) await rm(lessonDir, { recursive: true, force: true });
});

test("images never leave the machine, and the app runs under its CSP, which blocks injected script", async ({
  page,
  context,
}) => {
  test.setTimeout(180_000);
  const allowedPaths = await distPaths();
  const records = recordRequests(context);
  const pageRequests: string[] = [];
  page.on("request", (r) => pageRequests.push(r.url()));
  const csp = await watchCsp(page);

  const t0 = Date.now();
  const phaseEnds: string[] = [];
  const phase = (name: string) => phaseEnds.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const response = await page.goto("/?backend=wasm");
  expect(response?.headers()["content-security-policy"]).toBe(CSP);
  const origin = new URL(page.url()).origin;
  const ready = await waitReady(page);
  phase("model ready");
  // The threaded WASM build (pthread workers from blob: URLs) is what the policy must allow: ≥ 2 threads.
  expect(Number(/WASM, (\d+) threads/.exec(ready)?.[1])).toBeGreaterThanOrEqual(2);

  // The worker got the policy from its own script's response, and enforces it.
  const worker = await modelWorker(page);
  const workerScript = records.find((r) => r.url === worker.url());
  expect(workerScript, "the worker script request was recorded").toBeDefined();
  expect((await workerScript?.request.response())?.headers()["content-security-policy"]).toBe(CSP);

  // 1. Classify three photos and the PNG with a hostile name.
  await page.getByLabel("Add images").setInputFiles([
    ...CLASSIFIED.map((f) => ({
      name: f,
      mimeType: f.endsWith(".png") ? "image/png" : "image/jpeg",
      buffer: readFileSync(join(PHOTOS, f)),
    })),
    { name: EVIL_FILE, mimeType: "image/png", buffer: readFileSync(join(PHOTOS, "chelsea.png")) },
  ]);
  const results = page.getByRole("region", { name: "Results" });
  for (const name of [...CLASSIFIED, EVIL_FILE]) {
    await expect(results.getByRole("article", { name }).locator("ol > li")).toHaveCount(5, {
      timeout: 60_000,
    });
  }
  phase("4 images classified");
  // The hostile name is text: shown literally, no <img src="x"> made of it.
  await expect(results.getByText(EVIL_FILE, { exact: true }).first()).toBeVisible();
  expect(await page.locator('img[src="x"]').count()).toBe(0);

  // 2. A tiny lesson with a class folder named with markup: extract, train 1 epoch, evaluate.
  await page.getByRole("link", { name: "Transfer learning" }).click();
  await page.getByLabel("Add dataset folder").setInputFiles(join(lessonDir, "lesson"));
  const counts = page.getByRole("table", { name: "Images per class and split" });
  await expect(counts.getByRole("rowheader")).toHaveText([EVIL_CLASS, "dogs", "All classes"]);
  await page.getByRole("button", { name: "Extract features" }).click();
  const bar = page.getByRole("progressbar", { name: "Feature extraction" });
  await expect
    .poll(() => bar.evaluate((p: HTMLProgressElement) => [p.value, p.max]), { timeout: 60_000 })
    .toEqual([LESSON_IMAGES, LESSON_IMAGES]);
  phase(`${LESSON_IMAGES} images extracted`);
  const training = page.getByRole("region", { name: "3. Training" });
  await training.getByLabel("Epochs", { exact: true }).fill("1");
  await page.getByRole("button", { name: "Train", exact: true }).click();
  await expect(page.getByRole("table", { name: "Loss data" }).locator("tbody tr")).toHaveCount(1, {
    timeout: 60_000,
  });
  await page.getByRole("button", { name: "Evaluate" }).click();
  const matrix = page.getByRole("table", { name: "Confusion matrix" });
  await expect(matrix.getByRole("columnheader")).toHaveText([EVIL_CLASS, "dogs"], { timeout: 30_000 });
  await expect(matrix.getByRole("rowheader")).toHaveText([EVIL_CLASS, "dogs"]);
  phase("trained 1 epoch and evaluated");
  console.log(`[security e2e] ${phaseEnds.join(", ")}`);
  // Markup in a class name made no element anywhere. (The CSP would also stop an inline onerror handler, so
  // __pwned alone proves little; the element count is what shows the names stayed text.)
  expect(await page.locator('img[src="y"]').count()).toBe(0);
  expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();

  // 3. No CSP violation during all of that, on the page or in any worker.
  expect(await csp.events()).toEqual([]);
  expect(csp.console).toEqual([]);

  // 4. Every request: same origin, GET, no body, an app file or a model file, no user file named.
  const lessonFiles = Object.values(LESSON).flatMap((s) => Object.values(s).flat());
  const userNames = [...CLASSIFIED, EVIL_FILE, EVIL_CLASS, ...lessonFiles];
  const summary = new Map<string, number>();
  for (const r of records) {
    const url = new URL(r.url);
    const kind =
      url.protocol === "blob:" || url.protocol === "data:"
        ? url.protocol
        : MODEL_FILE.test(url.pathname)
          ? "model file"
          : url.pathname;
    summary.set(kind, (summary.get(kind) ?? 0) + 1);
    if (url.protocol === "data:") continue; // inline, never sent anywhere
    if (url.protocol === "blob:") {
      // An object URL of this page (thumbnails, pthread worker source): memory, not network.
      expect(r.url.startsWith(`blob:${origin}/`), r.url).toBe(true);
      continue;
    }
    expect(url.origin, r.url).toBe(origin);
    expect(r.method, r.url).toBe("GET");
    expect(r.body, r.url).toBeNull();
    expect(
      allowedPaths.has(url.pathname) || MODEL_FILE.test(url.pathname),
      `${r.url} is an app or model file`,
    ).toBe(true);
    for (const name of userNames) {
      expect(decodeURIComponent(r.url)).not.toContain(name.replace(/\.\w+$/, ""));
    }
  }
  // The recording saw the worker's and the pthread workers' own requests, so nothing went unseen.
  const paths = records.map((r) => new URL(r.url).pathname);
  expect(paths.some((p) => /tfjs-backend-wasm-threaded-simd.*\.wasm$/.test(p))).toBe(true);
  expect(paths.some((p) => /tfjs-backend-wasm-threaded-simd.*\.js$/.test(p))).toBe(true);
  console.log(
    `[security e2e] ${records.length} requests (page.on("request") saw ${pageRequests.length}); ` +
      [...summary].map(([k, n]) => `${k} ×${n}`).join(", "),
  );
  console.log(
    `[security e2e] workers seen: ${page
      .workers()
      .map((w) => w.url())
      .join(", ")}`,
  );

  // 5. The policy bites: an injected inline script does not run and is reported.
  const injected = await page.evaluate(async () => {
    const w = window as unknown as { __cspViolations: string[]; __injected?: number };
    const before = w.__cspViolations.length;
    const script = document.createElement("script");
    script.textContent = "window.__injected = 1";
    document.head.append(script);
    await new Promise((r) => setTimeout(r, 100));
    return { ran: w.__injected, violations: w.__cspViolations.slice(before) };
  });
  expect(injected.ran).toBeUndefined();
  expect(injected.violations).toHaveLength(1);
  expect(injected.violations[0]).toMatch(/^script-src-elem blocked inline/);
  // …and the worker enforces its own copy (it came with the worker's script, not the page): a fetch to a
  // plain-http host is refused before any network, with a violation event in the worker. (eval() cannot show
  // it: DevTools evaluation, which worker.evaluate uses, is exempt from the eval check.)
  const blockedInWorker = await worker.evaluate(async () => {
    const violations: string[] = [];
    const onViolation = (e: SecurityPolicyViolationEvent) =>
      violations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`);
    self.addEventListener("securitypolicyviolation", onViolation);
    const outcome = await fetch("http://other.example/leak", { credentials: "omit" }).then(
      () => "fetched",
      (error: unknown) => (error instanceof Error ? error.name : String(error)),
    );
    await new Promise((r) => setTimeout(r, 100));
    self.removeEventListener("securitypolicyviolation", onViolation);
    return { outcome, violations };
  });
  expect(blockedInWorker).toEqual({
    outcome: "TypeError",
    violations: ["connect-src blocked http://other.example/leak"],
  });
  // The session-long collector saw it too, so its empty list above meant something.
  expect(
    (await csp.events()).filter((v) => v.includes("connect-src blocked http://other.example/leak")),
  ).toHaveLength(1);
});

test("a model on another host is fetched with CORS and without the user's cookies for it", async ({
  page,
  context,
}) => {
  test.setTimeout(60_000);
  const FOREIGN = "https://other.example/models/vgg16/";
  await context.addCookies([
    { name: "session", value: "secret", domain: "other.example", path: "/", secure: true, sameSite: "None" },
  ]);
  // other.example serves the e2e model's model.json and first shard (with CORS, as such a host must) and
  // 404s the other shards: the requests are what is checked here, and a full 553 MB load through
  // Playwright's routing would cost half a minute of the e2e budget.
  const seen: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
  await context.route("https://other.example/**", async (route) => {
    const request = route.request();
    seen.push({ url: request.url(), method: request.method(), headers: await request.allHeaders() });
    const name = new URL(request.url()).pathname.split("/").pop() ?? "";
    const cors = { "Access-Control-Allow-Origin": new URL(page.url()).origin, Vary: "Origin" };
    if (name === "model.json" || name === "group1-shard1of132.bin") {
      await route.fulfill({ status: 200, headers: cors, path: join(MODEL_DIR, name) });
    } else {
      await route.fulfill({ status: 404, headers: cors, body: "not found" });
    }
  });
  const csp = await watchCsp(page);
  await page.goto(`/?backend=wasm&model=${encodeURIComponent(`${FOREIGN}model.json`)}`);
  const origin = new URL(page.url()).origin;

  // The user sees which file is missing on that host.
  const model = page.getByRole("region", { name: "Model" });
  await expect(model).toContainText(/other\.example\/models\/vgg16\/group1-shard\d+of132\.bin \(HTTP 404\)/, {
    timeout: 30_000,
  });

  // A control: a request that does ask for credentials carries the cookie, so its absence below means something.
  await page.evaluate(async () => {
    await fetch("https://other.example/control", { credentials: "include" }).catch(() => undefined);
  });
  const control = seen.find((s) => s.url.endsWith("/control"));
  expect(control?.headers.cookie).toContain("session=secret");

  const modelRequests = seen.filter((s) => s.url.startsWith(FOREIGN));
  // The page's look at model.json (the Model panel's facts) and the worker's load; then the shards.
  expect(modelRequests.filter((s) => s.url.endsWith("/model.json")).length).toBeGreaterThanOrEqual(2);
  expect(modelRequests.filter((s) => s.url.endsWith(".bin")).length).toBeGreaterThanOrEqual(2);
  for (const s of modelRequests) {
    expect(s.method, s.url).toBe("GET");
    expect(s.headers.cookie, s.url).toBeUndefined();
    // An Origin header on a GET: the request is in CORS mode (no-cors GETs carry none).
    expect(s.headers.origin, s.url).toBe(origin);
  }
  // connect-src let the https host through; nothing else was blocked.
  expect(await csp.events()).toEqual([]);
});
