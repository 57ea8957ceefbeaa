import { describe, expect, it } from "vitest";
import type { BackendChoice, BackendDecision, Capabilities } from "../src/vgg16/api";
import {
  chooseBackend,
  fallbackReason,
  MIN_WEBGL_TEXTURE_SIZE,
  softwareRendererName,
  wasmThreadsFor,
} from "../src/vgg16/backend-chooser";

/** This project's CI machine: 2 vCPUs, headless Chromium, COOP/COEP page (see shared/docs/browser-backends.md). */
const CI: Capabilities = {
  webgpuAdapter: false,
  webgpuFallbackAdapter: false,
  webglMaxTextureSize: 8192,
  webglSoftware: true,
  webglRenderer:
    "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
  wasm: true,
  wasmSimd: true,
  wasmThreads: true,
  hardwareConcurrency: 2,
};

/** A laptop with a real GPU. */
const GPU: Capabilities = {
  webgpuAdapter: true,
  webgpuFallbackAdapter: false,
  webglMaxTextureSize: 16384,
  webglSoftware: false,
  webglRenderer: "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)",
  wasm: true,
  wasmSimd: true,
  wasmThreads: true,
  hardwareConcurrency: 8,
};

const ALL = ["webgpu", "webgl", "wasm", "cpu"] as const;
const NO_WEBGPU_PACKAGE = ["webgl", "wasm", "cpu"] as const;

interface Case {
  readonly name: string;
  readonly caps: Capabilities;
  readonly override?: BackendChoice;
  readonly installed?: readonly ("webgpu" | "webgl" | "wasm" | "cpu")[];
  readonly want: Partial<Omit<BackendDecision, "reason">> & { reason?: string | RegExp };
}

const cases: readonly Case[] = [
  {
    name: "CI: no WebGPU adapter, SwiftShader WebGL → WASM with both cores",
    caps: CI,
    want: {
      backend: "wasm",
      threads: 2,
      fallbacks: ["cpu"],
      reason: "WASM, 2 threads, SIMD: no WebGPU adapter; WebGL is software (SwiftShader)",
    },
  },
  {
    name: "navigator.gpu absent (null adapter field)",
    caps: { ...CI, webgpuAdapter: null },
    want: { backend: "wasm", reason: "WASM, 2 threads, SIMD: no WebGPU; WebGL is software (SwiftShader)" },
  },
  {
    name: "WebGPU only through a fallback (software) adapter is passed over",
    caps: { ...CI, webgpuAdapter: true, webgpuFallbackAdapter: true },
    want: { backend: "wasm", reason: /^WASM, 2 threads, SIMD: WebGPU adapter is a software fallback; WebGL/ },
  },
  {
    name: "real GPU with every package → WebGPU, then WebGL, WASM, CPU",
    caps: GPU,
    installed: ALL,
    want: { backend: "webgpu", threads: null, fallbacks: ["webgl", "wasm", "cpu"], reason: "WebGPU" },
  },
  {
    name: "real GPU without the WebGPU package → WebGL, saying why",
    caps: GPU,
    installed: NO_WEBGPU_PACKAGE,
    want: {
      backend: "webgl",
      fallbacks: ["wasm", "cpu"],
      reason: "WebGL: WebGPU backend not bundled (@tensorflow/tfjs-backend-webgpu is not installed)",
    },
  },
  {
    name: "hardware WebGL whose textures cannot hold fc1 → WASM",
    caps: { ...GPU, webgpuAdapter: false, webglMaxTextureSize: 4096 },
    want: {
      backend: "wasm",
      threads: 4,
      reason: `WASM, 4 threads, SIMD: no WebGPU adapter; WebGL MAX_TEXTURE_SIZE 4096 cannot hold fc1 (needs ≥ ${MIN_WEBGL_TEXTURE_SIZE})`,
    },
  },
  {
    name: "hardware WebGL with 8192 textures → WebGL",
    caps: { ...GPU, webgpuAdapter: false, webglMaxTextureSize: 8192 },
    want: { backend: "webgl", threads: null, fallbacks: ["wasm", "cpu"] },
  },
  {
    name: "llvmpipe counts as software",
    caps: {
      ...GPU,
      webgpuAdapter: false,
      webglSoftware: true,
      webglRenderer: "llvmpipe (LLVM 15.0.6, 256 bits)",
    },
    want: { backend: "wasm", reason: /WebGL is software \(llvmpipe\)/ },
  },
  {
    name: "no WebGL2 context at all",
    caps: { ...CI, webglMaxTextureSize: 0, webglSoftware: false, webglRenderer: null },
    want: { backend: "wasm", reason: "WASM, 2 threads, SIMD: no WebGPU adapter; no WebGL2" },
  },
  {
    name: "no SIMD: still WASM, and the reason says so",
    caps: { ...CI, wasmSimd: false },
    want: { backend: "wasm", reason: /^WASM, 2 threads, no SIMD: .*no WASM SIMD/ },
  },
  {
    name: "not cross-origin isolated: one thread, and why",
    caps: { ...CI, wasmThreads: false },
    want: {
      backend: "wasm",
      threads: 1,
      reason: /^WASM, 1 thread, SIMD: .*threads need cross-origin isolation/,
    },
  },
  {
    name: "2 cores → 2 threads",
    caps: { ...CI, hardwareConcurrency: 2 },
    want: { threads: 2 },
  },
  {
    name: "8 cores → capped at 4 threads",
    caps: { ...CI, hardwareConcurrency: 8 },
    want: { threads: 4, reason: /^WASM, 4 threads, SIMD/ },
  },
  {
    name: "1 core → 1 thread",
    caps: { ...CI, hardwareConcurrency: 1 },
    want: { threads: 1, reason: /^WASM, 1 thread, SIMD/ },
  },
  {
    name: "no WebAssembly → CPU",
    caps: { ...CI, wasm: false },
    want: {
      backend: "cpu",
      threads: null,
      fallbacks: [],
      reason: /^CPU \(plain JavaScript\): .*no WebAssembly/,
    },
  },
  {
    name: "override webgl on SwiftShader is honoured, with the caveat and fallbacks",
    caps: CI,
    override: "webgl",
    want: {
      backend: "webgl",
      threads: null,
      fallbacks: ["wasm", "cpu"],
      reason: "WebGL (forced by ?backend=webgl): WebGL is software (SwiftShader)",
    },
  },
  {
    name: "override webgpu without an adapter is not possible: auto choice, saying why",
    caps: CI,
    override: "webgpu",
    want: {
      backend: "wasm",
      fallbacks: ["cpu"],
      reason:
        "WASM, 2 threads, SIMD: ?backend=webgpu not possible (no WebGPU adapter); WebGL is software (SwiftShader)",
    },
  },
  {
    name: "override webgpu with a real adapter but no package",
    caps: GPU,
    override: "webgpu",
    installed: NO_WEBGPU_PACKAGE,
    want: { backend: "webgl", reason: /^WebGL: \?backend=webgpu not possible \(WebGPU backend not bundled/ },
  },
  {
    name: "override webgl with textures too small for fc1 is not possible",
    caps: { ...CI, webglMaxTextureSize: 4096 },
    override: "webgl",
    want: {
      backend: "wasm",
      reason: /\?backend=webgl not possible \(WebGL MAX_TEXTURE_SIZE 4096 cannot hold fc1/,
    },
  },
  {
    name: "override cpu",
    caps: CI,
    override: "cpu",
    want: {
      backend: "cpu",
      threads: null,
      fallbacks: ["wasm"],
      reason: "CPU (plain JavaScript) (forced by ?backend=cpu)",
    },
  },
  {
    name: "override wasm on a GPU machine",
    caps: GPU,
    override: "wasm",
    installed: ALL,
    want: {
      backend: "wasm",
      threads: 4,
      fallbacks: ["webgpu", "webgl", "cpu"],
      reason: "WASM, 4 threads, SIMD (forced by ?backend=wasm)",
    },
  },
  {
    name: "auto is no override",
    caps: CI,
    override: "auto",
    want: {
      backend: "wasm",
      reason: "WASM, 2 threads, SIMD: no WebGPU adapter; WebGL is software (SwiftShader)",
    },
  },
];

describe("chooseBackend", () => {
  it.each(cases)("$name", ({ caps, override, installed, want }) => {
    const decision = chooseBackend(caps, override, installed ? { installed } : {});
    const { reason, ...rest } = want;
    expect(decision).toMatchObject(rest);
    if (typeof reason === "string") expect(decision.reason).toBe(reason);
    else if (reason) expect(decision.reason).toMatch(reason);
    // Invariants: never falls back to itself; CPU is always reachable.
    expect(decision.fallbacks).not.toContain(decision.backend);
    expect([decision.backend, ...decision.fallbacks]).toContain("cpu");
    expect(decision.threads === null).toBe(decision.backend !== "wasm");
  });

  it("needs textures of at least 5069 for fc1 (25088×4096 floats, 4 per texel)", () => {
    expect(MIN_WEBGL_TEXTURE_SIZE).toBe(5069);
    expect(MIN_WEBGL_TEXTURE_SIZE ** 2 * 4).toBeGreaterThanOrEqual(25088 * 4096);
    expect((MIN_WEBGL_TEXTURE_SIZE - 1) ** 2 * 4).toBeLessThan(25088 * 4096);
  });
});

describe("helpers", () => {
  it.each([
    ["ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)", "SwiftShader"],
    ["llvmpipe (LLVM 15.0.6, 256 bits)", "llvmpipe"],
    ["Google SwiftShader", "SwiftShader"],
    ["Software Adapter", "software renderer"],
    ["ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)", null],
    ["", null],
    [null, null],
  ])("softwareRendererName(%j) = %j", (renderer, want) => {
    expect(softwareRendererName(renderer)).toBe(want);
  });

  it("wasmThreadsFor uses every core up to 4, and 1 without isolation", () => {
    expect([1, 2, 3, 4, 8, 64].map((n) => wasmThreadsFor({ ...CI, hardwareConcurrency: n }))).toEqual([
      1, 2, 3, 4, 4, 4,
    ]);
    expect(wasmThreadsFor({ ...CI, hardwareConcurrency: 8, wasmThreads: false })).toBe(1);
    expect(wasmThreadsFor({ ...CI, hardwareConcurrency: Number.NaN })).toBe(1);
  });

  it("fallbackReason says what failed and what was wanted", () => {
    const decision = chooseBackend(CI, "webgl");
    expect(fallbackReason("webgl", CI, null, [], decision)).toBe(decision.reason);
    expect(fallbackReason("wasm", CI, 2, ["WebGL failed to initialise (context lost)"], decision)).toBe(
      "WASM, 2 threads, SIMD: WebGL failed to initialise (context lost); wanted WebGL (forced by ?backend=webgl): WebGL is software (SwiftShader)",
    );
  });
});

describe("lost backends (a WebGL context or WebGPU device lost during the session)", () => {
  it("a real GPU whose WebGPU device was lost goes on with WebGL, then WASM once WebGL's context is lost too", () => {
    expect(chooseBackend(GPU, "auto", { lost: ["webgpu"] })).toMatchObject({
      backend: "webgl",
      fallbacks: ["wasm", "cpu"],
      reason: "WebGL: WebGPU device was lost",
    });
    expect(chooseBackend(GPU, "auto", { lost: ["webgpu", "webgl"] })).toMatchObject({
      backend: "wasm",
      fallbacks: ["cpu"],
      reason: "WASM, 4 threads, SIMD: WebGPU device was lost; WebGL context was lost",
    });
  });

  it("a forced backend that was lost is not used again: the automatic choice runs, saying why", () => {
    expect(chooseBackend(CI, "webgl", { lost: ["webgl"] })).toMatchObject({
      backend: "wasm",
      threads: 2,
      fallbacks: ["cpu"],
      reason:
        "WASM, 2 threads, SIMD: ?backend=webgl not possible (WebGL context was lost); no WebGPU adapter",
    });
    const fallbackGpu = { ...CI, webgpuAdapter: true, webgpuFallbackAdapter: true };
    expect(chooseBackend(fallbackGpu, "webgpu", { lost: ["webgpu"] })).toMatchObject({
      backend: "wasm",
      reason:
        "WASM, 2 threads, SIMD: ?backend=webgpu not possible (WebGPU device was lost); WebGL is software (SwiftShader)",
    });
  });

  it("never gives up the CPU backend, and names a loss even when the backend now looks unavailable anyway", () => {
    expect(chooseBackend(CI, "cpu", { lost: ["cpu", "wasm"] })).toMatchObject({ backend: "cpu" });
    // Chrome may offer no WebGPU adapter after a device loss: the loss is the reason worth saying.
    expect(chooseBackend(CI, "webgpu", { lost: ["webgpu"] }).reason).toBe(
      "WASM, 2 threads, SIMD: ?backend=webgpu not possible (WebGPU device was lost); WebGL is software (SwiftShader)",
    );
  });
});
