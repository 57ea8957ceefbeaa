/**
 * What the UI's stores need of the VGG16 worker client: the real
 * Vgg16Client's methods, narrowed so unit tests can pass fakes.
 */
import type { Vgg16Client } from "../vgg16/client";

export type Vgg16Port = Pick<
  Vgg16Client,
  "capabilities" | "load" | "loadFiles" | "classify" | "memory" | "clearCache"
>;

/** An error's message, with its code when it has one (Vgg16Error). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === "string" && code && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(error);
}

export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && error.name === "AbortError";
}
