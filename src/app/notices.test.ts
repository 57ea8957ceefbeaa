import { beforeEach, describe, expect, it } from "vitest";
import type { BackendInfo } from "../vgg16/api";
import { useNotices } from "./notices";
import { noticeText } from "./WorkerNotice";

const WASM: BackendInfo = { name: "wasm", reason: "WASM, 2 threads, SIMD: …", threads: 2, simd: true };
const WEBGL: BackendInfo = { name: "webgl", reason: "WebGL", threads: null, simd: null };

function text(): string {
  const notice = useNotices.getState().notice;
  return notice ? noticeText(notice) : "";
}

describe("worker notices", () => {
  beforeEach(() => useNotices.getState().dismiss());

  it("a lost WebGL context: says so at once, then where the work went on once the model is ready there", () => {
    useNotices.getState().backendLost("webgl", "WebGL context lost");
    expect(text()).toBe(
      "The WebGL context was lost (WebGL context lost). Loading the model on the next backend…",
    );
    useNotices.getState().modelReady(WEBGL); // not where it went on
    expect(text()).toMatch(/Loading the model on the next backend/);
    useNotices.getState().modelReady(WASM);
    expect(text()).toBe(
      "The WebGL context was lost; continued on WASM (2 threads, SIMD). Unfinished images were classified again.",
    );
  });

  it("a lost WebGPU device is named as such", () => {
    useNotices.getState().backendLost("webgpu", "WebGPU device lost (destroyed)");
    useNotices.getState().modelReady(WEBGL);
    expect(text()).toBe(
      "The WebGPU device was lost; continued on WebGL. Unfinished images were classified again.",
    );
  });

  it("a crash then a restart, as before; a model ready after a crash changes nothing", () => {
    useNotices.getState().crashed("Uncaught Error: boom");
    expect(text()).toBe("The model's worker crashed (Uncaught Error: boom). Restarting it…");
    useNotices.getState().restarted();
    useNotices.getState().modelReady(WASM);
    expect(text()).toBe(
      "The model's worker crashed (Uncaught Error: boom) and was restarted: the model is loaded again and unfinished images are classified again.",
    );
  });
});
