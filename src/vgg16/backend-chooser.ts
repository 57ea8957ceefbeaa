/**
 * Which TF.js backend runs VGG16, decided from measured capabilities rather
 * than by trial and crash. Pure: no TF.js, no DOM; shared by the worker and
 * the tests.
 *
 * Order WebGPU → WebGL → WASM → CPU, each only where it can really run the
 * model fast:
 * - WebGPU only with a real (non-fallback) adapter, and only when its backend
 *   package is bundled;
 * - WebGL only when one texture can hold fc1 (25088×4096 float32, packed 4 per
 *   RGBA texel: side ≥ ceil(√(25088·4096/4)) = 5069, i.e. 8192 in practice)
 *   and the renderer is hardware (SwiftShader runs VGG16 at ~30 s/image against
 *   ~0.8 s for WASM: see ../shared/docs/browser-backends.md);
 * - WASM with SIMD, multi-threaded when the page is cross-origin isolated;
 * - CPU (plain JavaScript) last.
 */
import type { BackendChoice, BackendDecision, BackendName, Capabilities } from "./api";

/** fc1's kernel, the largest tensor: 25088 × 4096 float32. */
export const FC1_ELEMENTS = 25088 * 4096;
/** Side of the smallest square RGBA float texture that holds fc1 packed 4 values per texel. */
export const MIN_WEBGL_TEXTURE_SIZE = Math.ceil(Math.sqrt(FC1_ELEMENTS / 4));
/**
 * At most this many WASM threads. XNNPACK's pool has 8 pre-created workers;
 * beyond 4, VGG16's convolutions gain little while the page's own threads
 * (UI, decoding) starve.
 */
export const MAX_WASM_THREADS = 4;
/** What can be initialised when every backend package is bundled. */
export const ALL_BACKENDS: readonly BackendName[] = ["webgpu", "webgl", "wasm", "cpu"];

export interface ChooserOptions {
  /** Backends whose TF.js package is bundled; default all. A missing one is never chosen. */
  readonly installed?: readonly BackendName[];
  /**
   * Backends that lost their GPU context or device earlier in this session: never chosen again (not even when
   * forced), so a job goes on with the next backend in the order. CPU cannot be lost.
   */
  readonly lost?: readonly BackendName[];
}

/** Why a lost backend is passed over: "WebGL context was lost", "WebGPU device was lost". */
export function lostReason(name: BackendName): string {
  switch (name) {
    case "webgl":
      return "WebGL context was lost";
    case "webgpu":
      return "WebGPU device was lost";
    case "wasm":
      return "WASM backend was lost";
    case "cpu":
      return "CPU backend was lost";
  }
}

const SOFTWARE_RENDERERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/swiftshader/i, "SwiftShader"],
  [/llvmpipe/i, "llvmpipe"],
  [/softpipe/i, "softpipe"],
  [/microsoft basic render/i, "Microsoft Basic Render Driver"],
  [/software/i, "software renderer"],
];

/** The software rasteriser a WebGL renderer string names ("SwiftShader", "llvmpipe", …), or null. */
export function softwareRendererName(renderer: string | null | undefined): string | null {
  if (!renderer) return null;
  for (const [pattern, name] of SOFTWARE_RENDERERS) if (pattern.test(renderer)) return name;
  return null;
}

/** Threads for the WASM backend: every logical core up to MAX_WASM_THREADS when threads are possible, else 1. */
export function wasmThreadsFor(caps: Capabilities): number {
  if (!caps.wasmThreads) return 1;
  const cores = Number.isFinite(caps.hardwareConcurrency) ? Math.floor(caps.hardwareConcurrency) : 1;
  return Math.max(1, Math.min(cores, MAX_WASM_THREADS));
}

/** "WASM, 2 threads, SIMD", "WebGL", … */
export function backendLabel(name: BackendName, caps: Capabilities, threads?: number | null): string {
  switch (name) {
    case "webgpu":
      return "WebGPU";
    case "webgl":
      return "WebGL";
    case "wasm": {
      const n = threads ?? wasmThreadsFor(caps);
      return `WASM, ${n} thread${n === 1 ? "" : "s"}, ${caps.wasmSimd ? "SIMD" : "no SIMD"}`;
    }
    case "cpu":
      return "CPU (plain JavaScript)";
  }
}

interface Verdict {
  /** Can be initialised and run the model at all (a forced choice is honoured). */
  readonly possible: boolean;
  /** Chosen automatically (possible, and not a known slow path). */
  readonly preferred: boolean;
  /** Why it is not preferred (or a caveat when forced). */
  readonly why: string | null;
}

function webgpuVerdict(caps: Capabilities, installed: ReadonlySet<BackendName>): Verdict {
  if (caps.webgpuAdapter === null) return { possible: false, preferred: false, why: "no WebGPU" };
  if (caps.webgpuAdapter === false) return { possible: false, preferred: false, why: "no WebGPU adapter" };
  if (!installed.has("webgpu")) {
    return {
      possible: false,
      preferred: false,
      why: "WebGPU backend not bundled (@tensorflow/tfjs-backend-webgpu is not installed)",
    };
  }
  if (caps.webgpuFallbackAdapter) {
    return { possible: true, preferred: false, why: "WebGPU adapter is a software fallback" };
  }
  return { possible: true, preferred: true, why: null };
}

function webglVerdict(caps: Capabilities, installed: ReadonlySet<BackendName>): Verdict {
  if (!installed.has("webgl")) return { possible: false, preferred: false, why: "WebGL backend not bundled" };
  if (caps.webglMaxTextureSize <= 0) return { possible: false, preferred: false, why: "no WebGL2" };
  if (caps.webglMaxTextureSize < MIN_WEBGL_TEXTURE_SIZE) {
    return {
      possible: false,
      preferred: false,
      why: `WebGL MAX_TEXTURE_SIZE ${caps.webglMaxTextureSize} cannot hold fc1 (needs ≥ ${MIN_WEBGL_TEXTURE_SIZE})`,
    };
  }
  if (caps.webglSoftware) {
    const name = softwareRendererName(caps.webglRenderer) ?? "software renderer";
    return { possible: true, preferred: false, why: `WebGL is software (${name})` };
  }
  return { possible: true, preferred: true, why: null };
}

function wasmVerdict(caps: Capabilities, installed: ReadonlySet<BackendName>): Verdict {
  if (!installed.has("wasm")) return { possible: false, preferred: false, why: "WASM backend not bundled" };
  if (caps.wasm === false) return { possible: false, preferred: false, why: "no WebAssembly" };
  return { possible: true, preferred: true, why: null };
}

const CPU_VERDICT: Verdict = { possible: true, preferred: true, why: null };

function verdicts(
  caps: Capabilities,
  installed: ReadonlySet<BackendName>,
  lost: ReadonlySet<BackendName>,
): Record<BackendName, Verdict> {
  const all: Record<BackendName, Verdict> = {
    webgpu: webgpuVerdict(caps, installed),
    webgl: webglVerdict(caps, installed),
    wasm: wasmVerdict(caps, installed),
    cpu: CPU_VERDICT,
  };
  for (const name of lost) {
    // The last resort stays: plain JavaScript has no context or device to lose. The loss is named even when
    // the backend now looks unavailable anyway (Chrome may offer no WebGPU adapter after a device loss).
    if (name !== "cpu") all[name] = { possible: false, preferred: false, why: lostReason(name) };
  }
  return all;
}

/** Caveats about the WASM configuration worth saying whenever WASM is chosen. */
function wasmNotes(caps: Capabilities): string[] {
  const notes: string[] = [];
  if (!caps.wasmThreads) notes.push("1 thread: threads need cross-origin isolation (COOP/COEP)");
  if (!caps.wasmSimd) notes.push("no WASM SIMD (several times slower)");
  return notes;
}

function joinReasons(label: string, parts: readonly (string | null)[]): string {
  const unique = [...new Set(parts.filter((p): p is string => !!p))];
  return unique.length === 0 ? label : `${label}: ${unique.join("; ")}`;
}

interface AutoChoice {
  readonly decision: BackendDecision;
  /** Why the backends ranked above the chosen one were passed over, then caveats about the chosen one. */
  readonly parts: readonly (string | null)[];
}

function autoChoice(caps: Capabilities, v: Record<BackendName, Verdict>): AutoChoice {
  const order = ALL_BACKENDS;
  const chosen = order.find((name) => v[name].preferred) ?? "cpu";
  const at = order.indexOf(chosen);
  const parts = [
    ...order.slice(0, at).map((name) => v[name].why),
    ...(chosen === "wasm" ? wasmNotes(caps) : []),
  ];
  return {
    parts,
    decision: {
      backend: chosen,
      reason: joinReasons(backendLabel(chosen, caps), parts),
      threads: chosen === "wasm" ? wasmThreadsFor(caps) : null,
      fallbacks: order.slice(at + 1).filter((name) => v[name].preferred),
    },
  };
}

/**
 * The backend to initialise, why, and what to try next if it fails.
 * `override` (e.g. from ?backend=webgl) is honoured when that backend can run
 * the model at all, even when it is a slow path; otherwise the automatic
 * choice stands and the reason says why the override was not possible.
 */
export function chooseBackend(
  caps: Capabilities,
  override?: BackendChoice,
  options: ChooserOptions = {},
): BackendDecision {
  const installed = new Set(options.installed ?? ALL_BACKENDS);
  const v = verdicts(caps, installed, new Set(options.lost ?? []));
  const { decision: auto, parts } = autoChoice(caps, v);
  if (override === undefined || override === "auto") return auto;

  const forced = v[override];
  if (!forced.possible) {
    const why = forced.why ?? "unavailable";
    return {
      ...auto,
      reason: joinReasons(backendLabel(auto.backend, caps), [
        `?backend=${override} not possible (${why})`,
        ...parts.filter((p) => p !== why),
      ]),
    };
  }
  const fallbacks = [auto.backend, ...auto.fallbacks].filter((name) => name !== override);
  if (!fallbacks.includes("cpu") && override !== "cpu") fallbacks.push("cpu");
  const caveats = [forced.why, ...(override === "wasm" ? wasmNotes(caps) : [])];
  return {
    backend: override,
    reason: joinReasons(`${backendLabel(override, caps)} (forced by ?backend=${override})`, caveats),
    threads: override === "wasm" ? wasmThreadsFor(caps) : null,
    fallbacks,
  };
}

/** The reason to show when `used` runs because the backends before it failed to initialise. */
export function fallbackReason(
  used: BackendName,
  caps: Capabilities,
  threads: number | null,
  failures: readonly string[],
  decision: BackendDecision,
): string {
  if (used === decision.backend && failures.length === 0) return decision.reason;
  return joinReasons(backendLabel(used, caps, threads), [...failures, `wanted ${decision.reason}`]);
}
