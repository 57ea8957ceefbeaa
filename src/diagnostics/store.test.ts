import { afterEach, describe, expect, it } from "vitest";
import type { Vgg16Port } from "../app/client-port";
import type { Capabilities, MemoryInfo } from "../vgg16/api";
import { connectDiagnosticsClient, useDiagnostics } from "./store";

const caps: Capabilities = {
  webgpuAdapter: false,
  webgpuFallbackAdapter: false,
  webglMaxTextureSize: 0,
  webglSoftware: false,
  wasmSimd: true,
  wasmThreads: true,
  hardwareConcurrency: 2,
};

afterEach(() => {
  connectDiagnosticsClient(null);
  useDiagnostics.setState({
    capabilities: null,
    memory: null,
    updatedAt: null,
    error: null,
    backend: null,
    engine: null,
  });
});

describe("diagnostics store", () => {
  it("keeps the backend and the engine the model runs on, and forgets both with the model", () => {
    const backend = { name: "wasm", reason: "WASM, 2 threads, SIMD", threads: 2, simd: true } as const;
    useDiagnostics.getState().setBackend(backend, "wasm-runner");
    expect(useDiagnostics.getState().backend).toEqual(backend);
    expect(useDiagnostics.getState().engine).toBe("wasm-runner");
    useDiagnostics.getState().setBackend(null);
    expect(useDiagnostics.getState().engine).toBeNull();
  });

  it("reads capabilities once and memory on demand", async () => {
    let memoryReads = 0;
    let capabilityReads = 0;
    const memory: MemoryInfo = { numTensors: 33, numBytes: 553_430_184, backend: "wasm" };
    connectDiagnosticsClient({
      async capabilities() {
        capabilityReads++;
        return caps;
      },
      async memory() {
        memoryReads++;
        return { ...memory, numTensors: memory.numTensors + memoryReads };
      },
    } as Pick<Vgg16Port, "capabilities" | "memory"> as Vgg16Port);
    await useDiagnostics.getState().loadCapabilities();
    await useDiagnostics.getState().loadCapabilities();
    expect(capabilityReads).toBe(1);
    expect(useDiagnostics.getState().capabilities).toEqual(caps);
    await Promise.all([useDiagnostics.getState().refresh(), useDiagnostics.getState().refresh()]);
    expect(memoryReads).toBe(2);
    expect(useDiagnostics.getState().memory?.numTensors).toBe(35);
  });

  it("keeps the error when the worker cannot answer", async () => {
    connectDiagnosticsClient({
      async memory() {
        throw new Error("gone");
      },
    } as Pick<Vgg16Port, "memory"> as Vgg16Port);
    await useDiagnostics.getState().refresh();
    expect(useDiagnostics.getState().error).toBe("Could not read TF.js memory: gone");
  });
});
