/**
 * `npm run bench`: the VGG16 benchmark. Prepares the full-size synthetic model
 * and the production build, serves it with `vite preview` (COOP/COEP), drives
 * Debian's Chromium headless through the bench page (bench/harness/bench.html,
 * one page load per backend: a cold-load page, then the full page with the
 * model cached), samples the browser's RSS, measures the bundle, runs the
 * native PyTorch reference when installed, prints a table (ours, baseline,
 * ratio, target, met?) and writes bench/results/<date>.json.
 *
 * Run it under the machine's heavy-CPU lock: timings taken while other work
 * runs are worthless.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { type BrowserContext, chromium } from "@playwright/test";
import { Command, InvalidArgumentError } from "commander";
import { BENCH_PARTS, type BenchPart, DEFAULT_PARTS } from "../../bench/harness/params";
import type { PageResult } from "../../bench/harness/result";
import { CHROMIUM_PATH, HEADLESS_CHROMIUM_ARGS } from "../chromium-flags";
import { E2E_MODELS_DIR, ensureE2eModel } from "../e2e-model";
import { REPO_ROOT } from "../weights/paths";
import {
  type BackendEntry,
  type BenchJson,
  backendKey,
  entryTitle,
  evaluateTargets,
  formatTable,
  mergePages,
  type NativeReference,
  primaryKey,
  resultFileName,
  tableRows,
  targetSummary,
} from "./report";
import { bundleSize, freePort, machineInfo, RssSampler, startPreview, torchReference } from "./system";

const started = performance.now();
const stamp = (): string => {
  const s = Math.floor((performance.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};
const say = (line: string): void => console.log(`[${stamp()}] ${line}`);

const intList = (raw: string): number[] => {
  const values = raw.split(",").map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 1))
    throw new InvalidArgumentError(`"${raw}" is not a list of whole numbers ≥ 1`);
  return values;
};
const positive = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${raw}" is not a number > 0`);
  return n;
};
const positiveInt = (raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${raw}" is not a whole number ≥ 1`);
  return n;
};

interface Options {
  backends: string;
  threads?: number[];
  parts: string;
  batches: number[];
  reps: number;
  batchReps?: number;
  epochs: number;
  trainBudget: number;
  baselineEpochs: number;
  baselineTrainBudget: number;
  build: boolean;
  torch: boolean;
  quick: boolean;
  port?: number;
  out: string;
  pageTimeout: number;
}

const program = new Command()
  .name("npm run bench --")
  .description(
    "Benchmark VGG16 in headless Chromium: our app's worker vs a tf.layers VGG16 and a plain model.fit head, per backend.",
  )
  .option(
    "--backends <list>",
    "auto, or a comma list of wasm, webgl, webgpu, cpu (listed ones are forced; auto adds WebGL/WebGPU only on a hardware GPU)",
    "auto",
  )
  .option("--threads <list>", "WASM thread counts, one run each (default: every core, then 1)", intList)
  .option(
    "--parts <list>",
    `comma list of ${BENCH_PARTS.filter((p) => p !== "probe").join(", ")}`,
    DEFAULT_PARTS.join(","),
  )
  .option("--batches <list>", "feature-extraction batch sizes", intList, [1, 8, 16])
  .option("--reps <n>", "timed repetitions at batch 1 (the median is reported)", positiveInt, 5)
  .option(
    "--batch-reps <n>",
    "timed batches per batch size > 1 (default: ceil(reps / batch), at least 2)",
    positiveInt,
  )
  .option("--epochs <n>", "most epochs our head training runs", positiveInt, 20)
  .option(
    "--train-budget <s>",
    "seconds our training may run (whole epochs; 20 epochs are projected)",
    positive,
    60,
  )
  .option("--baseline-epochs <n>", "epochs of the baseline's model.fit", positiveInt, 1)
  .option(
    "--baseline-train-budget <s>",
    "seconds the baseline's model.fit may run before s/epoch is projected",
    positive,
    90,
  )
  .option("--no-build", "use the existing dist/ (and model) as they are")
  .option("--no-torch", "skip the native PyTorch reference")
  .option(
    "--quick",
    "smoke run (~2 min): WASM with every core only, 2 reps, batches 1 and 4, 5 s training budgets, no PyTorch",
    false,
  )
  .option("--port <n>", "port for vite preview (default: a free one)", positiveInt)
  .option("--out <dir>", "where the JSON goes", "bench/results")
  .option("--page-timeout <s>", "give up on one page after this many seconds", positive, 900)
  .addHelpText(
    "after",
    "\nRun it alone on the machine (e.g. `flock /tmp/vgg16-heavy.lock npm run bench`); see README, Performance.",
  );

interface RunConfig {
  readonly backend: string;
  readonly threads: number | null;
  readonly forced: boolean;
  /** Lighter settings for a secondary WASM run (fewer threads than the primary), said in the output. */
  readonly reduced: boolean;
}

interface PageOutcome {
  readonly result: PageResult | null;
  readonly error: string | null;
}

async function runPage(
  context: BrowserContext,
  url: string,
  timeoutS: number,
  sampler: RssSampler | null,
): Promise<PageOutcome> {
  const page = await context.newPage();
  page.on("console", (message) => {
    const text = message.text();
    if (!text.startsWith("[bench]")) return;
    const part = text.match(/part=([\w-]+) (start|end)/);
    if (part && sampler) sampler.setLabel(part[2] === "start" ? (part[1] as string) : `after-${part[1]}`);
    say(`  ${text.replace(/^\[bench\] /, "")}`);
  });
  page.on("pageerror", (error) => say(`  page error: ${error.message}`));
  let crashed = false;
  page.on("crash", () => {
    crashed = true;
    say("  the page crashed");
  });
  try {
    await page.goto(url);
    await page.waitForFunction(
      () => window.__benchResult !== undefined || window.__benchError !== undefined,
      null,
      {
        timeout: timeoutS * 1000,
        polling: 500,
      },
    );
    const outcome = await page.evaluate(() => ({
      result: window.__benchResult ?? null,
      error: window.__benchError ?? null,
    }));
    return outcome as PageOutcome;
  } catch (error) {
    return { result: null, error: crashed ? "the page crashed (out of memory?)" : String(error) };
  } finally {
    await page.close().catch(() => undefined);
  }
}

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, String(v));
  return q.toString();
}

async function main(): Promise<void> {
  program.parse();
  const opts = program.opts<Options>();
  const cores = cpus().length;
  const notes: string[] = [];
  const date = new Date();

  let parts = opts.parts.split(",").map((p) => p.trim()) as BenchPart[];
  const unknown = parts.filter((p) => !(BENCH_PARTS as readonly string[]).includes(p) || p === "probe");
  if (unknown.length > 0) program.error(`unknown parts: ${unknown.join(", ")}`);
  let batches = opts.batches;
  let reps = opts.reps;
  let batchReps = opts.batchReps;
  let trainBudget = opts.trainBudget;
  let baselineTrainBudget = opts.baselineTrainBudget;
  let torch = opts.torch;
  let threadList = opts.threads ?? [...new Set([Math.min(cores, 8), 1])];
  if (opts.quick) {
    batches = opts.batches.length === 3 ? [1, 4] : batches;
    reps = Math.min(reps, 2);
    batchReps = 1;
    trainBudget = Math.min(trainBudget, 5);
    baselineTrainBudget = Math.min(baselineTrainBudget, 5);
    threadList = opts.threads ?? [Math.min(cores, 8)];
    torch = false;
    notes.push(
      "quick run: WASM with every core only, 2 reps, batches 1 and 4, one timed batch each, 5 s training budgets (s/epoch projected), no PyTorch reference",
    );
  }
  if (reps < 5) notes.push(`classification median of ${reps} (fewer than 5 repetitions)`);
  parts = [...new Set(parts)];

  // 1. The model and the build.
  const modelsDir = resolve(E2E_MODELS_DIR);
  if (opts.build) {
    await ensureE2eModel((line) => say(line));
    say("build: npx vite build");
    const built = spawnSync("npx", ["vite", "build", "--logLevel", "warn"], {
      stdio: "inherit",
      cwd: REPO_ROOT,
    });
    if (built.status !== 0) throw new Error(`vite build failed (exit ${built.status ?? built.signal})`);
  } else {
    say("--no-build: using dist/ and the model as they are");
  }
  const dist = join(REPO_ROOT, "dist");
  let bundle: unknown = null;
  try {
    bundle = bundleSize(dist);
    const b = bundle as ReturnType<typeof bundleSize>;
    say(
      `bundle: initial JS ${(b.initial_js_bytes / 1e3).toFixed(0)} kB (${(b.initial_js_gzip_bytes / 1e3).toFixed(0)} kB gzip), all app JS ${(b.app_js_bytes / 1e3).toFixed(0)} kB (${(b.app_js_gzip_bytes / 1e3).toFixed(0)} kB gzip), WASM ${(b.wasm_bytes / 1e6).toFixed(1)} MB`,
    );
  } catch (error) {
    notes.push(`bundle size not measured: ${String(error)}`);
  }

  // 2. Server and browser.
  const port = opts.port ?? (await freePort());
  const preview = await startPreview(port, modelsDir, say);
  const profile = mkdtempSync(join(tmpdir(), "vgg16-bench-profile-"));
  const machine = machineInfo(CHROMIUM_PATH);
  const backends: Record<string, BackendEntry> = {};
  let context: BrowserContext | null = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...HEADLESS_CHROMIUM_ARGS, "--enable-unsafe-webgpu"],
    });
    const base = `${preview.url}/bench/harness/bench.html`;

    // 3. Which backends: probe the adapter and the renderer first.
    say("probe: what the browser offers");
    const probe = await runPage(context, `${base}?${query({ parts: "probe" })}`, 120, null);
    const caps = (probe.result?.environment?.capabilities ?? {}) as {
      webgpuAdapter?: boolean | null;
      webgpuFallbackAdapter?: boolean;
      webglMaxTextureSize?: number;
      webglSoftware?: boolean;
      webglRenderer?: string | null;
      wasmThreads?: boolean;
    };
    const adapter = probe.result?.environment?.webgpu_adapter;
    say(
      `probe: WebGPU ${caps.webgpuAdapter ? (caps.webgpuFallbackAdapter ? "fallback adapter (software)" : `adapter ${adapter?.vendor ?? ""} ${adapter?.architecture ?? ""} ${adapter?.description ?? ""}`.trim()) : "none"}; WebGL ${caps.webglRenderer ?? "none"}${caps.webglSoftware ? " (software)" : ""}; WASM threads ${caps.wasmThreads ? "yes" : "no (not cross-origin isolated)"}`,
    );
    const configs: RunConfig[] = [];
    const asked = opts.backends === "auto" ? null : opts.backends.split(",").map((b) => b.trim());
    const wants = (b: string) => asked === null || asked.includes(b);
    const maxThreads = Math.max(...threadList);
    if (wants("wasm")) {
      for (const t of [...threadList].sort((a, b) => b - a)) {
        configs.push({ backend: "wasm", threads: t, forced: asked !== null, reduced: t < maxThreads });
      }
    }
    const hardwareGpu = caps.webgpuAdapter === true && !caps.webgpuFallbackAdapter;
    const hardwareGl = (caps.webglMaxTextureSize ?? 0) > 0 && caps.webglSoftware !== true;
    for (const [name, hardware, what] of [
      ["webgpu", hardwareGpu, caps.webgpuAdapter ? "a fallback (software) adapter" : "no adapter"],
      ["webgl", hardwareGl, caps.webglRenderer ? `software rendering (${caps.webglRenderer})` : "no WebGL2"],
    ] as const) {
      if (asked?.includes(name)) configs.push({ backend: name, threads: null, forced: true, reduced: false });
      else if (asked === null && hardware)
        configs.push({ backend: name, threads: null, forced: false, reduced: false });
      else if (asked === null) {
        const note = `${name} skipped: ${what}; VGG16 takes 30–80 s per image there (force it with --backends ${name})`;
        notes.push(note);
        say(note);
      }
    }
    if (asked?.includes("cpu")) configs.push({ backend: "cpu", threads: null, forced: true, reduced: false });
    for (const b of asked ?? []) {
      if (!["wasm", "webgl", "webgpu", "cpu"].includes(b)) program.error(`unknown backend ${b}`);
    }

    // 4. Each backend: a cold-load page (cache cleared), then the full page with the model cached.
    const sampler = new RssSampler(profile);
    for (const config of configs) {
      const key = backendKey(config.backend, config.threads, config.backend === "wasm" ? maxThreads : null);
      const label = `${config.backend}${config.threads !== null ? ` ${config.threads} thread${config.threads === 1 ? "" : "s"}` : ""}`;
      const configTrainBudget = config.reduced ? Math.min(trainBudget, 30) : trainBudget;
      const configBaselineBudget = config.reduced ? Math.min(baselineTrainBudget, 30) : baselineTrainBudget;
      if (
        config.reduced &&
        parts.includes("train") &&
        (configTrainBudget < trainBudget || configBaselineBudget < baselineTrainBudget)
      ) {
        const note = `${key}: training budgets reduced to ${configTrainBudget} s (ours) and ${configBaselineBudget} s (baseline); s/epoch projected`;
        notes.push(note);
        say(note);
      }
      const common = { backend: config.backend, threads: config.threads };
      let cold: PageOutcome | null = null;
      if (parts.includes("load")) {
        say(`${label}: cold load (model cache cleared)`);
        cold = await runPage(
          context,
          `${base}?${query({ ...common, parts: "load", cache: "clear" })}`,
          opts.pageTimeout,
          null,
        );
        if (cold.error) say(`${label}: cold page: ${cold.error}`);
      }
      const fullParts = parts.filter((p) => p !== "load" || !cold);
      say(`${label}: ${cold ? "reload with the model cached, then " : ""}${fullParts.join(", ")}`);
      sampler.start();
      const full = await runPage(
        context,
        `${base}?${query({
          ...common,
          parts: [...(cold ? ["load"] : []), ...fullParts].join(","),
          batches: batches.join(","),
          reps,
          batchReps,
          epochs: opts.epochs,
          trainBudget: configTrainBudget,
          baselineEpochs: opts.baselineEpochs,
          baselineTrainBudget: configBaselineBudget,
        })}`,
        opts.pageTimeout,
        sampler,
      );
      await sampler.sample();
      sampler.stop();
      if (full.error) say(`${label}: ${full.error}`);
      // The app's worker is alone until the bench worker starts ("bench-load"): its RSS is the app's.
      const appAlone = ["start", "load", "after-load", "first", "after-first"].map(
        (p) => sampler.byPart[p] ?? 0,
      );
      const entry = mergePages(cold?.result ?? null, full.result, {
        peakRss: Math.max(...appAlone) || null,
        peakRssAll: sampler.peak || null,
        rssByPart: sampler.byPart,
        error: full.error ?? cold?.error ?? null,
      });
      if (full.result && full.result.from_cache === false && cold) {
        notes.push(`${key}: the full page did not find the model cached (it loaded from the network)`);
      }
      backends[key] = entry;
    }
  } finally {
    await context?.close().catch(() => undefined);
    preview.stop();
    rmSync(profile, { recursive: true, force: true });
  }

  // 5. Native reference, with the browser closed.
  let native: NativeReference;
  if (torch) {
    say(`native: PyTorch reference (${Math.min(cores, 8)} threads)`);
    native = torchReference(
      join(REPO_ROOT, "tools/bench/torch_reference.py"),
      Math.min(cores, 8),
      Math.max(reps, 5),
      [8],
    );
    say(
      native.note ??
        `native: PyTorch ${native.torch_version}: classify ${native.torch_classify_ms_per_image?.toFixed(0)} ms/image, conv base batch 8 ${native.torch_features_images_per_s["8"]?.toFixed(2)} images/s`,
    );
  } else {
    native = {
      torch_classify_ms_per_image: null,
      torch_features_images_per_s: { "8": null },
      torch_threads: null,
      torch_version: null,
      note: opts.quick ? "native reference skipped (--quick)" : "native reference skipped (--no-torch)",
    };
  }
  if (native.note) notes.push(native.note);

  // 6. Targets, table, JSON.
  const primary = primaryKey(backends);
  for (const [key, entry] of Object.entries(backends)) {
    entry.targets = evaluateTargets(entry, { cores, native, primary: key === primary });
  }
  const totalS = (performance.now() - started) / 1000;
  const json: BenchJson = {
    date: date.toISOString(),
    machine,
    options: {
      backends: opts.backends,
      threads: threadList,
      parts,
      batches,
      reps,
      batch_reps: batchReps ?? null,
      epochs: opts.epochs,
      train_budget_s: trainBudget,
      baseline_epochs: opts.baselineEpochs,
      baseline_train_budget_s: baselineTrainBudget,
      quick: opts.quick,
      build: opts.build,
    },
    backends,
    native,
    bundle,
    targets: { backend: primary, results: primary ? (backends[primary]?.targets ?? []) : [] },
    notes,
    total_s: Math.round(totalS),
  };
  console.log("");
  for (const [key, entry] of Object.entries(backends)) {
    console.log(entryTitle(key, entry));
    console.log(formatTable(tableRows(entry)));
    for (const note of entry.notes) console.log(`  note: ${note}`);
    console.log("");
  }
  if (native.torch_classify_ms_per_image !== null) {
    console.log(
      `native PyTorch ${native.torch_version} (${native.torch_threads} threads): classify ${native.torch_classify_ms_per_image.toFixed(0)} ms/image, conv base batch 8 ${native.torch_features_images_per_s["8"]?.toFixed(2) ?? "–"} images/s`,
    );
  }
  for (const note of notes) console.log(`note: ${note}`);
  if (primary) {
    const s = targetSummary(json.targets.results);
    console.log(`targets (${primary}): ${s.met} met, ${s.missed} not met, ${s.unmeasured} not measured`);
  }
  const outDir = resolve(REPO_ROOT, opts.out);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, resultFileName(date));
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results: ${relative(process.cwd(), file)}`);
  console.log(`total: ${Math.floor(totalS / 60)} min ${Math.round(totalS % 60)} s`);
  if (!opts.quick && totalS > 15 * 60) console.log("warning: the default run took longer than 15 minutes");
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
