/**
 * The worker's loss watcher against fake TF.js backends: a WebGL backend whose context (on an EventTarget
 * canvas) can be lost, and a WebGPU backend whose device's `lost` promise can resolve.
 */
import { describe, expect, it } from "vitest";
import type { BackendLostMessage } from "./api";
import { createLossWatcher, isBackendLostMessage } from "./backend-loss";
import { Vgg16Error } from "./errors";

class FakeGl {
  lost = false;
  readonly canvas = new EventTarget();
  isContextLost(): boolean {
    return this.lost;
  }
  /** What WEBGL_lose_context.loseContext() does: the flag at once, the event a task later. */
  lose(): void {
    this.lost = true;
    setTimeout(() => this.canvas.dispatchEvent(new Event("webglcontextlost")));
  }
}

function fakeDevice() {
  let resolve: (info: { reason?: string; message?: string }) => void = () => undefined;
  const lost = new Promise<{ reason?: string; message?: string }>((r) => {
    resolve = r;
  });
  return { device: { lost }, lose: (info: { reason?: string; message?: string }) => resolve(info) };
}

function setup() {
  const posted: BackendLostMessage[] = [];
  const watcher = createLossWatcher((message) => posted.push(message));
  return { posted, watcher };
}

describe("createLossWatcher", () => {
  it("reports a lost WebGL context once, from its event, as a message the client recognises", async () => {
    const { posted, watcher } = setup();
    const gl = new FakeGl();
    watcher.watch("webgl", { gpgpu: { gl } });
    expect(watcher.lost()).toBeNull();
    gl.lose();
    await new Promise((r) => setTimeout(r, 5));
    expect(posted).toEqual([{ type: "vgg16:backend-lost", backend: "webgl", message: "WebGL context lost" }]);
    expect(isBackendLostMessage(posted[0])).toBe(true);
    expect(isBackendLostMessage({ id: "comlink", type: "APPLY" })).toBe(false);
  });

  it("sees a lost WebGL context before its event: results computed on it are refused", () => {
    const { posted, watcher } = setup();
    const gl = new FakeGl();
    watcher.watch("webgl", { gpgpu: { gl } });
    expect(() => watcher.check()).not.toThrow();
    gl.lost = true; // the event has not fired yet
    expect(() => watcher.check()).toThrow(Vgg16Error);
    expect(() => watcher.check()).toThrow("The WebGL context was lost (WebGL context lost)");
    expect(posted).toHaveLength(1);
  });

  it("turns a job's error into backend-lost once the WebGPU device is lost, waiting for GPUDevice.lost", async () => {
    const { posted, watcher } = setup();
    const { device, lose } = fakeDevice();
    watcher.watch("webgpu", { device });
    const symptom = new Error("Failed to execute 'mapAsync' on 'GPUBuffer': Device is lost");
    setTimeout(() => lose({ reason: "destroyed", message: "Device was destroyed." }), 10);
    const explained = await watcher.explain(symptom, 1000);
    expect(explained).toBeInstanceOf(Vgg16Error);
    expect(explained?.code).toBe("backend-lost");
    expect(explained?.message).toBe(
      "The WebGPU device was lost (WebGPU device lost (destroyed: Device was destroyed.))",
    );
    expect(posted.map((p) => p.backend)).toEqual(["webgpu"]);
  });

  it("leaves other errors alone: nothing lost, or a CPU/WASM backend (nothing to wait for)", async () => {
    const { posted, watcher } = setup();
    watcher.watch("webgl", { gpgpu: { gl: new FakeGl() } });
    await expect(watcher.explain(new Error("bad image"), 20)).resolves.toBeNull();
    watcher.watch("wasm", {});
    const started = Date.now();
    await expect(watcher.explain(new Error("bad image"), 5000)).resolves.toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(posted).toEqual([]);
  });
});
