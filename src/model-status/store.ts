/**
 * The model's status as the whole app sees it. For now it only knows what
 * model.json says; loading the weights (in the worker) will extend it.
 */
import { create } from "zustand";
import { fetchModelInfo, type ModelFacts } from "./model-info";

export type ModelStatus =
  | { readonly phase: "idle" }
  | { readonly phase: "loading"; readonly url: string }
  | { readonly phase: "found"; readonly url: string; readonly facts: ModelFacts }
  | { readonly phase: "missing"; readonly url: string; readonly reason: string }
  | { readonly phase: "invalid"; readonly url: string; readonly problems: readonly string[] };

interface ModelStatusStore {
  readonly status: ModelStatus;
  /** Describes the model at `url`; a no-op when that URL is already loading or loaded, unless `force`. */
  load(url: string, options?: { force?: boolean }): Promise<void>;
}

let current: AbortController | null = null;

export const useModelStatus = create<ModelStatusStore>()((set, get) => ({
  status: { phase: "idle" },
  async load(url, { force = false } = {}) {
    const status = get().status;
    if (!force && status.phase !== "idle" && status.url === url) return;
    current?.abort();
    const controller = new AbortController();
    current = controller;
    set({ status: { phase: "loading", url } });
    try {
      const info = await fetchModelInfo(url, { signal: controller.signal });
      if (controller.signal.aborted) return;
      switch (info.kind) {
        case "found":
          set({ status: { phase: "found", url, facts: info.facts } });
          break;
        case "missing":
          set({ status: { phase: "missing", url, reason: info.reason } });
          break;
        case "invalid":
          set({ status: { phase: "invalid", url, problems: info.problems } });
          break;
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      set({ status: { phase: "missing", url, reason: `unexpected error: ${String(error)}` } });
    } finally {
      if (current === controller) current = null;
    }
  },
}));
