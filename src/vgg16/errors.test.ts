/** errors.ts: what a failed model run becomes. */
import { describe, expect, it } from "vitest";
import { isVgg16Error, modelRunError, Vgg16Error } from "./errors";

describe("modelRunError", () => {
  it("types an engine's raw error as backend-failed, naming where it ran and keeping the cause", () => {
    const trap = new WebAssembly.RuntimeError("memory access out of bounds");
    const error = modelRunError(trap, "wasm, the WASM runner");
    expect(isVgg16Error(error, "backend-failed")).toBe(true);
    expect((error as Error).message).toBe(
      "VGG16 failed while running on wasm, the WASM runner: memory access out of bounds. Reload the page to load the model again, or choose another backend.",
    );
    expect((error as Error).cause).toBe(trap);
    expect((modelRunError("out of memory", "webgl, the TF.js graph model") as Error).message).toContain(
      "on webgl, the TF.js graph model: out of memory.",
    );
  });

  it("passes typed errors and aborts unchanged", () => {
    const lost = new Vgg16Error("backend-lost", "the WebGL context was lost");
    const abort = new DOMException("stopped", "AbortError");
    expect(modelRunError(lost, "webgl")).toBe(lost);
    expect(modelRunError(abort, "wasm")).toBe(abort);
  });
});
