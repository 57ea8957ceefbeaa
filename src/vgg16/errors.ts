/**
 * Typed errors of the VGG16 worker and client, and their passage through
 * Comlink: by default Comlink rebuilds a thrown Error from its name, message
 * and stack only, so both sides install a "throw" transfer handler that
 * carries `code` (and `url`) across and rebuilds a Vgg16Error.
 */
import { transferHandlers } from "comlink";

export type Vgg16ErrorCode =
  /** model.json is not there (HTTP 404/410). */
  | "model-not-found"
  /** model.json is there but is not one of our VGG16 graph models, or its weights do not match it. */
  | "model-invalid"
  /** The network failed or the server answered with an error while downloading. */
  | "download-failed"
  /** No backend could be initialised, or the model does not run on it. */
  | "backend-failed"
  /** The model has no `predictions` output (a features-only / notop model): it cannot classify. */
  | "no-predictions"
  /** classify() before any model was loaded. */
  | "not-loaded"
  /** The GPU backend in use lost its WebGL context or WebGPU device (the client goes on with the next backend). */
  | "backend-lost"
  /** The worker died or hung, and the job could not be completed after restarting it. */
  | "worker-crashed"
  /** Cache Storage could not be read or cleared. */
  | "cache-failed"
  /** The client was disposed. */
  | "disposed"
  /** Transfer learning: some samples have no extracted features (extract them first). */
  | "features-missing"
  /** Transfer learning: training hit NaN/Infinity (HeadTrainingError) or bad input; the message explains. */
  | "training-failed"
  /** Transfer learning: evaluate/try before any head was trained or imported. */
  | "no-head";

export class Vgg16Error extends Error {
  readonly code: Vgg16ErrorCode;
  /** The URL concerned, when there is one (model.json or a shard). */
  readonly url?: string;

  constructor(code: Vgg16ErrorCode, message: string, details: { url?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "Vgg16Error";
    this.code = code;
    if (details.url !== undefined) this.url = details.url;
  }
}

export function isVgg16Error(error: unknown, code?: Vgg16ErrorCode): error is Vgg16Error {
  return error instanceof Vgg16Error && (code === undefined || error.code === code);
}

/** An AbortError DOMException, as fetch() rejects with; the signal's own reason when it is one. */
export function abortError(signal?: AbortSignal, message = "The operation was aborted."): DOMException {
  const reason: unknown = signal?.reason;
  if (reason instanceof DOMException && reason.name === "AbortError") return reason;
  return new DOMException(message, "AbortError");
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}

/**
 * A model run that failed with an engine's raw error (a WASM trap, an allocation that failed): a
 * "backend-failed" Vgg16Error naming where it ran, so the page says more than "memory access out of bounds".
 * Typed errors and aborts pass unchanged.
 */
export function modelRunError(error: unknown, where: string): unknown {
  if (error instanceof Vgg16Error) return error;
  if (error instanceof DOMException && error.name === "AbortError") return error;
  return new Vgg16Error(
    "backend-failed",
    `VGG16 failed while running on ${where}: ${errorMessage(error)}. Reload the page to load the model again, or choose another backend.`,
    { cause: error },
  );
}

interface ErrorWire {
  isError: true;
  value: { message: string; name: string; stack?: string; code?: string; url?: string };
}

function isErrorWire(wire: unknown): wire is ErrorWire {
  return (
    typeof wire === "object" &&
    wire !== null &&
    (wire as { isError?: unknown }).isError === true &&
    typeof (wire as { value?: unknown }).value === "object"
  );
}

let installed = false;

/** Makes Vgg16Error (with its code) survive Comlink. Idempotent; call on both sides. */
export function installErrorTransfer(): void {
  if (installed) return;
  const base = transferHandlers.get("throw");
  if (!base) return;
  installed = true;
  transferHandlers.set("throw", {
    canHandle: (value: unknown): value is unknown => base.canHandle(value),
    serialize(thrown: unknown) {
      const [wire, transfer] = base.serialize(thrown);
      const error = (thrown as { value?: unknown }).value;
      if (error instanceof Vgg16Error && isErrorWire(wire)) {
        wire.value.code = error.code;
        if (error.url !== undefined) wire.value.url = error.url;
      }
      return [wire, transfer];
    },
    deserialize(wire: unknown) {
      if (isErrorWire(wire) && typeof wire.value.code === "string") {
        const { code, message, url, stack } = wire.value;
        const error = new Vgg16Error(code as Vgg16ErrorCode, message, url === undefined ? {} : { url });
        if (stack) error.stack = stack;
        throw error;
      }
      return base.deserialize(wire);
    },
  });
}
