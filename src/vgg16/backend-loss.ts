/**
 * Noticing, in the worker, that the GPU backend in use died under TF.js: the
 * WebGL context was lost (a GPU reset, a driver update, the browser taking
 * contexts back: ml5-library#1464 after ~1,000 images) or the WebGPU device
 * was lost (GPUDevice.lost resolves).
 *
 * TF.js does not recover from either. After a WebGL loss its calls are
 * no-ops: texture and shader creation fail, and a readback can wait forever on
 * a fence that never signals; after a WebGPU loss buffer mapping rejects. So
 * the worker only reports the loss (a plain message beside Comlink's, see
 * BackendLostMessage) and turns the job's errors into Vgg16Error
 * "backend-lost"; the client replaces the whole worker and reloads the model
 * on the next backend (a fresh TF.js, with nothing of the dead context left).
 *
 * Pure of TF.js: the backend instance comes in as `unknown` and is read
 * structurally, so the Node tests drive it with fakes.
 */
import type { BackendLostMessage, BackendName } from "./api";
import { Vgg16Error } from "./errors";

interface GlLike {
  isContextLost(): boolean;
  readonly canvas?: unknown;
}

interface EventTargetLike {
  addEventListener(type: string, listener: (event: unknown) => void): void;
}

interface GpuDeviceLike {
  readonly lost: Promise<{ readonly reason?: string; readonly message?: string }>;
}

/** The WebGL context a TF.js MathBackendWebGL draws with (backend.gpgpu.gl), if it is one. */
function glOf(backend: unknown): GlLike | null {
  const gl = (backend as { gpgpu?: { gl?: unknown } } | null)?.gpgpu?.gl;
  return typeof (gl as GlLike | undefined)?.isContextLost === "function" ? (gl as GlLike) : null;
}

/** The GPUDevice a TF.js WebGPUBackend runs on (backend.device), if it is one. */
function deviceOf(backend: unknown): GpuDeviceLike | null {
  const device = (backend as { device?: unknown } | null)?.device;
  const lost = (device as { lost?: unknown } | undefined)?.lost;
  return lost && typeof (lost as Promise<unknown>).then === "function" ? (device as GpuDeviceLike) : null;
}

function isEventTarget(value: unknown): value is EventTargetLike {
  return typeof (value as EventTargetLike | null)?.addEventListener === "function";
}

export interface LossWatcher {
  /** Starts watching the backend TF.js now runs on (`name`, its instance `backend`); once per instance. */
  watch(name: BackendName, backend: unknown): void;
  /** The loss seen so far, also one the event has not told yet (a WebGL context reports it synchronously). */
  lost(): BackendLostMessage | null;
  /**
   * After a job failed: waits a moment for a loss to be reported (GPUDevice.lost resolves a little after
   * the failing call), and returns Vgg16Error "backend-lost" when there was one, else null.
   */
  explain(error: unknown, waitMs?: number): Promise<Vgg16Error | null>;
  /** Throws Vgg16Error "backend-lost" when the backend is gone (before results computed on it are sent). */
  check(): void;
}

/** `post` sends the message to the page (self.postMessage in the worker); it is called once per loss. */
export function createLossWatcher(post: (message: BackendLostMessage) => void): LossWatcher {
  const watched = new WeakSet<object>();
  let current: { name: BackendName; gl: GlLike | null } | null = null;
  let reported: BackendLostMessage | null = null;
  const waiters = new Set<() => void>();

  const report = (backend: BackendName, message: string) => {
    if (reported) return;
    reported = { type: "vgg16:backend-lost", backend, message };
    post(reported);
    for (const wake of waiters) wake();
  };

  const lost = (): BackendLostMessage | null => {
    if (!reported && current?.gl?.isContextLost()) report(current.name, "WebGL context lost");
    return reported;
  };

  const asError = (loss: BackendLostMessage, cause?: unknown) =>
    new Vgg16Error(
      "backend-lost",
      `${loss.backend === "webgpu" ? "The WebGPU device" : loss.backend === "webgl" ? "The WebGL context" : `The ${loss.backend} backend`} was lost (${loss.message})`,
      cause === undefined ? {} : { cause },
    );

  return {
    watch(name, backend) {
      current = { name, gl: null };
      if (typeof backend !== "object" || backend === null || watched.has(backend)) {
        current.gl = glOf(backend);
        return;
      }
      watched.add(backend);
      const gl = glOf(backend);
      current.gl = gl;
      if (name === "webgl" && gl && isEventTarget(gl.canvas)) {
        gl.canvas.addEventListener("webglcontextlost", () => report("webgl", "WebGL context lost"));
      }
      const device = name === "webgpu" ? deviceOf(backend) : null;
      if (device) {
        void device.lost.then(
          (info) => {
            // TF.js never destroys its device while the backend is in use: any loss is one.
            const why = [info?.reason, info?.message].filter((s) => !!s).join(": ");
            report("webgpu", why ? `WebGPU device lost (${why})` : "WebGPU device lost");
          },
          () => undefined,
        );
      }
    },
    lost,
    async explain(error, waitMs = 250) {
      if (error instanceof Vgg16Error && error.code === "backend-lost") return error;
      if (!lost() && current && (current.name === "webgl" || current.name === "webgpu")) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, waitMs);
          waiters.add(wake);
        });
      }
      const loss = lost();
      return loss ? asError(loss, error) : null;
    },
    check() {
      const loss = lost();
      if (loss) throw asError(loss);
    },
  };
}

/** The message the worker posts when its backend is lost (and nothing else posted beside Comlink's is). */
export function isBackendLostMessage(data: unknown): data is BackendLostMessage {
  return (
    typeof data === "object" &&
    data !== null &&
    (data as { type?: unknown }).type === "vgg16:backend-lost" &&
    typeof (data as { backend?: unknown }).backend === "string"
  );
}
