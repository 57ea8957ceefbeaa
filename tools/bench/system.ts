/**
 * The benchmark driver's contact with the machine: the browser's memory from
 * /proc, the built bundle's size, machine facts, the native PyTorch reference,
 * a free port and the preview server.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, totalmem } from "node:os";
import { extname, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import type { NativeReference } from "./report";

// ---- browser memory ----

const PAGE_SIZE = 4096;

interface ProcEntry {
  readonly pid: number;
  readonly ppid: number;
}

async function processTable(): Promise<ProcEntry[]> {
  const entries: ProcEntry[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
      const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      entries.push({ pid: Number(name), ppid: Number(after[1]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return entries;
}

async function cmdline(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ");
  } catch {
    return "";
  }
}

/** The browser's process (its command line holds `marker`, the profile folder) and every descendant. */
export async function browserProcesses(marker: string): Promise<number[]> {
  const table = await processTable();
  const roots: number[] = [];
  for (const p of table) {
    if ((await cmdline(p.pid)).includes(marker)) roots.push(p.pid);
  }
  const all = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) {
      if (!all.has(p.pid) && all.has(p.ppid)) {
        all.add(p.pid);
        grew = true;
      }
    }
  }
  return [...all];
}

async function rssBytes(pid: number): Promise<number> {
  try {
    const statm = await readFile(`/proc/${pid}/statm`, "utf8");
    return Number(statm.split(" ")[1] ?? 0) * PAGE_SIZE;
  } catch {
    return 0;
  }
}

/**
 * Samples the summed RSS of the browser's processes (shared pages count once per process, so this
 * overstates a little) every `intervalMs`, keeping the peak overall and per labelled part.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private label = "start";
  private busy = false;
  peak = 0;
  byPart: Record<string, number> = {};

  constructor(
    private readonly marker: string,
    private readonly intervalMs = 500,
  ) {}

  /** The part now running (from the page's "part=NAME start" lines). */
  setLabel(label: string): void {
    this.label = label;
  }

  start(): void {
    this.peak = 0;
    this.byPart = {};
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const pids = await browserProcesses(this.marker);
      let sum = 0;
      for (const pid of pids) sum += await rssBytes(pid);
      this.peak = Math.max(this.peak, sum);
      this.byPart[this.label] = Math.max(this.byPart[this.label] ?? 0, sum);
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

// ---- bundle size ----

export interface BundleSize {
  /** JS the app's page loads before anything else (index.html's module script and its static imports). */
  readonly initial_js_bytes: number;
  readonly initial_js_gzip_bytes: number;
  /** Every JS file the app can reach: lazy chunks and workers included (not the test and bench pages). */
  readonly app_js_bytes: number;
  readonly app_js_gzip_bytes: number;
  readonly wasm_bytes: number;
  readonly files: readonly { readonly file: string; readonly bytes: number; readonly initial: boolean }[];
}

const JS_REFERENCE = /["'`(]\.{0,2}\/?((?:assets\/)?[\w.-]+\.(?:js|wasm))["'`)]/g;
const STATIC_IMPORT =
  /(?:import|export)\s*(?:[\w*{},\s$]*from\s*)?["']\.{0,2}\/?((?:assets\/)?[\w.-]+\.js)["']/g;

/** Walks dist/ from index.html: statically imported JS (initial), then everything named (lazy, workers). */
export function bundleSize(dist: string): BundleSize {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const assets = new Set(readdirSync(join(dist, "assets")));
  const toFile = (ref: string): string | null => {
    const base = ref.replace(/^assets\//, "");
    return assets.has(base) ? `assets/${base}` : null;
  };
  const entryRefs = [
    ...html.matchAll(/<script[^>]+src="\/?([^"]+\.js)"/g),
    ...html.matchAll(/modulepreload[^>]+href="\/?([^"]+\.js)"/g),
  ]
    .map((m) => toFile(m[1] as string))
    .filter((f): f is string => f !== null);

  const walk = (start: readonly string[], pattern: RegExp): Set<string> => {
    const seen = new Set<string>(start);
    const queue = [...start];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (!file.endsWith(".js")) continue;
      const text = readFileSync(join(dist, file), "utf8");
      for (const m of text.matchAll(pattern)) {
        const found = toFile(m[1] as string);
        if (found && !seen.has(found)) {
          seen.add(found);
          queue.push(found);
        }
      }
    }
    return seen;
  };
  const initial = walk(entryRefs, STATIC_IMPORT);
  const reachable = walk([...initial], JS_REFERENCE);
  const files = [...reachable]
    .sort()
    .map((file) => ({ file, bytes: statSync(join(dist, file)).size, initial: initial.has(file) }));
  const gz = (file: string) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  const js = files.filter((f) => f.file.endsWith(".js"));
  return {
    initial_js_bytes: js.filter((f) => f.initial).reduce((s, f) => s + f.bytes, 0),
    initial_js_gzip_bytes: js.filter((f) => f.initial).reduce((s, f) => s + gz(f.file), 0),
    app_js_bytes: js.reduce((s, f) => s + f.bytes, 0),
    app_js_gzip_bytes: js.reduce((s, f) => s + gz(f.file), 0),
    wasm_bytes: files.filter((f) => extname(f.file) === ".wasm").reduce((s, f) => s + f.bytes, 0),
    files: files.map((f) => ({ ...f, file: relative(".", f.file) })),
  };
}

// ---- machine ----

export function machineInfo(chromiumPath: string): {
  cpu: string;
  cores: number;
  browser: string;
  memory_bytes: number;
  os: string;
  node: string;
} {
  const version = spawnSync(chromiumPath, ["--version"], { encoding: "utf8" });
  let os = process.platform as string;
  try {
    const release = readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]+)"?/m);
    if (release?.[1]) os = release[1];
  } catch {
    // not Linux
  }
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    browser: version.stdout?.trim() || `unknown (${chromiumPath})`,
    memory_bytes: totalmem(),
    os,
    node: process.version,
  };
}

// ---- native reference ----

const PYTHON = "/usr/bin/python3";

/** Debian's python3-torch + torchvision, random-weight VGG16, `threads` threads; a note instead when missing. */
export function torchReference(
  script: string,
  threads: number,
  reps: number,
  batches: readonly number[],
): NativeReference {
  const empty = (note: string): NativeReference => ({
    torch_classify_ms_per_image: null,
    torch_features_images_per_s: Object.fromEntries(batches.map((b) => [String(b), null])),
    torch_threads: null,
    torch_version: null,
    note,
  });
  const check = spawnSync(PYTHON, ["-c", "import torch, torchvision"], { encoding: "utf8" });
  if (check.error || check.status !== 0) {
    return empty(
      "native reference skipped: python3-torch/python3-torchvision not installed (apt-get install -y python3-torch python3-torchvision)",
    );
  }
  const run = spawnSync(
    PYTHON,
    [
      script,
      "--threads",
      String(threads),
      "--reps",
      String(reps),
      "--batches",
      batches.join(","),
      "--batch-reps",
      "2",
    ],
    { encoding: "utf8", timeout: 10 * 60_000 },
  );
  if (run.status !== 0) {
    return empty(`native reference failed: ${(run.stderr || String(run.error)).trim().split("\n").pop()}`);
  }
  try {
    const json = JSON.parse(run.stdout.trim().split("\n").pop() ?? "");
    return {
      torch_classify_ms_per_image: json.classify_ms_per_image ?? null,
      torch_features_images_per_s: json.features_images_per_s ?? {},
      torch_threads: json.threads ?? threads,
      torch_version: json.torch_version ?? null,
      note: null,
    };
  } catch (error) {
    return empty(`native reference printed no JSON (${String(error)})`);
  }
}

// ---- servers ----

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `vite preview` (COOP/COEP from vite.config.ts) serving dist/ and the models folder; resolves once it answers. */
export async function startPreview(
  port: number,
  modelsDir: string,
  log: (line: string) => void,
): Promise<{ url: string; stop: () => void }> {
  const child: ChildProcess = spawn(
    "npx",
    ["vite", "preview", "--port", String(port), "--strictPort", "--host", "127.0.0.1"],
    {
      env: { ...process.env, VGG16_MODELS_DIR: modelsDir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout?.on("data", (d) => {
    output += String(d);
  });
  child.stderr?.on("data", (d) => {
    output += String(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGTERM"); // the whole group: npx and vite
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}/bench/harness/bench.html`);
      if (response.ok) {
        log(`preview: ${url} (models from ${modelsDir})`);
        return { url, stop };
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  stop();
  throw new Error(`vite preview did not start on port ${port}: ${output.trim().slice(-500)}`);
}
