/**
 * The model as the whole app sees it: first what model.json says (fetched
 * here, cheap, with good explanations when there is no model), then loading
 * the weights in the worker (download, upload, warm-up) on the chosen backend.
 */
import { create } from "zustand";
import { errorMessage, isAbort, type Vgg16Port } from "../app/client-port";
import type { BackendChoice, LoadEvent, LoadedModel } from "../vgg16/api";
import { isLocalModelUrl } from "../vgg16/local-files";
import { applyLoadEvent, type LoadProgress, NO_PROGRESS } from "./load-progress";
import { type CachedModelJson, describeModelJson, fetchModelInfo, type ModelFacts } from "./model-info";

export type ModelStatus =
  | { readonly phase: "idle" }
  | { readonly phase: "loading"; readonly url: string }
  /** A model given as files is being read (and converted) in the worker; `url` names the files. */
  | { readonly phase: "local"; readonly url: string }
  | { readonly phase: "found"; readonly url: string; readonly facts: ModelFacts }
  | { readonly phase: "missing"; readonly url: string; readonly reason: string }
  | { readonly phase: "invalid"; readonly url: string; readonly problems: readonly string[] };

/** The weights in the worker. */
export type LoadState =
  | { readonly phase: "idle" }
  | { readonly phase: "loading"; readonly backend: BackendChoice; readonly progress: LoadProgress }
  | { readonly phase: "ready"; readonly model: LoadedModel; readonly progress: LoadProgress }
  | { readonly phase: "error"; readonly message: string; readonly progress: LoadProgress };

export type CacheState =
  | { readonly phase: "idle" }
  | { readonly phase: "clearing" }
  | { readonly phase: "cleared" }
  | { readonly phase: "error"; readonly message: string };

interface ModelStatusStore {
  readonly status: ModelStatus;
  readonly backend: BackendChoice;
  readonly loaded: LoadState;
  readonly cache: CacheState;
  /** Why the last model given as files could not be loaded (names the file, and the layer when there is one). */
  readonly fileError: string | null;
  /** Describes the model at `url`, then loads it; a no-op when that URL is already loading or loaded, unless `force`. */
  load(url: string, options?: { force?: boolean }): Promise<void>;
  /** Loads (again) the weights of the model found at status.url, on the chosen backend. */
  loadWeights(): Promise<void>;
  /**
   * After a failure: reads model.json again and loads the weights. Shards already downloaded come from the
   * cache, so only what is still missing is fetched.
   */
  retry(): Promise<void>;
  /** Picks another backend and reloads the model on it. */
  setBackend(backend: BackendChoice): void;
  clearCache(): Promise<void>;
  /**
   * Loads a model given as files (a Keras .h5, or model.json + shards) in the worker and remembers it for the
   * next visit. On failure the previous model stays and fileError says why.
   */
  loadFiles(files: readonly File[]): Promise<void>;
  /** Forgets a remembered model from files and loads `defaultUrl`. */
  switchToDefaultModel(defaultUrl: string): Promise<void>;
}

/** localStorage key of the model from files to load on the next visit (a __local-models__ URL). */
export const LOCAL_MODEL_KEY = "vgg16.localModelUrl";

export function rememberedLocalModel(): string | null {
  try {
    const url = localStorage.getItem(LOCAL_MODEL_KEY);
    return url && isLocalModelUrl(url) ? url : null;
  } catch {
    return null;
  }
}

function rememberLocalModel(url: string | null): void {
  try {
    if (url) localStorage.setItem(LOCAL_MODEL_KEY, url);
    else localStorage.removeItem(LOCAL_MODEL_KEY);
  } catch {
    // no localStorage (private mode): the model is not remembered
  }
}

export interface ModelHooks {
  /** Runs after the worker has loaded the model and before the store says "ready". */
  beforeReady?(model: LoadedModel): Promise<void>;
  /** The worker's cached copy of a model.json (absolute URL), if any. */
  cachedModelJson?: CachedModelJson;
}

let client: Vgg16Port | null = null;
let hooks: ModelHooks = {};

/** Gives the store the worker client; without one it only describes model.json. */
export function connectModelClient(port: Vgg16Port | null, modelHooks: ModelHooks = {}): void {
  client = port;
  hooks = modelHooks;
}

/** model.json's absolute URL, as the worker (whose base URL differs) must get it. */
export function absoluteUrl(url: string): string {
  try {
    return new URL(url, typeof document === "undefined" ? undefined : document.baseURI).href;
  } catch {
    return url;
  }
}

let current: AbortController | null = null;
let loading: AbortController | null = null;

export const useModelStatus = create<ModelStatusStore>()((set, get) => {
  /** Folds a load's events into the progress shown, until that load is aborted or no longer loading. */
  const progressListener =
    (signal: AbortSignal) =>
    (event: LoadEvent): void => {
      if (signal.aborted) return;
      const state = get().loaded;
      if (state.phase !== "loading") return;
      set({ loaded: { ...state, progress: applyLoadEvent(state.progress, event, performance.now()) } });
    };

  return {
    status: { phase: "idle" },
    backend: "auto",
    loaded: { phase: "idle" },
    cache: { phase: "idle" },
    fileError: null,

    async load(url, { force = false } = {}) {
      const status = get().status;
      if (!force && status.phase !== "idle" && status.url === url) return;
      current?.abort();
      loading?.abort();
      const controller = new AbortController();
      current = controller;
      set({ status: { phase: "loading", url }, loaded: { phase: "idle" } });
      try {
        const cached = hooks.cachedModelJson;
        const local = isLocalModelUrl(absoluteUrl(url));
        const info = await fetchModelInfo(url, {
          signal: controller.signal,
          cached: cached ? () => cached(absoluteUrl(url)) : undefined,
          // A model from files lives only in the browser's cache: no server has it.
          ...(local
            ? {
                fetch: () =>
                  Promise.reject(
                    new Error("it was loaded from your files and is no longer in this browser's cache"),
                  ),
              }
            : {}),
        });
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
      if (get().status.phase === "found" && !controller.signal.aborted) await get().loadWeights();
    },

    async loadWeights() {
      const { status, backend } = get();
      if (status.phase !== "found" || !client) return;
      loading?.abort();
      const controller = new AbortController();
      loading = controller;
      set({ loaded: { phase: "loading", backend, progress: NO_PROGRESS } });
      try {
        const model = await client.load(
          { modelUrl: absoluteUrl(status.url), backend },
          progressListener(controller.signal),
          controller.signal,
        );
        if (controller.signal.aborted) return;
        await hooks.beforeReady?.(model).catch(() => undefined);
        if (controller.signal.aborted) return;
        const state = get().loaded;
        set({
          loaded: {
            phase: "ready",
            model,
            progress: state.phase === "loading" ? state.progress : NO_PROGRESS,
          },
        });
      } catch (error) {
        if (isAbort(error, controller.signal)) return;
        const state = get().loaded;
        set({
          loaded: {
            phase: "error",
            message: errorMessage(error),
            progress: state.phase === "loading" ? state.progress : NO_PROGRESS,
          },
        });
      } finally {
        if (loading === controller) loading = null;
      }
    },

    async retry() {
      const { status } = get();
      if (status.phase === "idle" || status.phase === "local") return;
      await get().load(status.url, { force: true });
    },

    setBackend(backend) {
      if (backend === get().backend) return;
      set({ backend });
      void get().loadWeights();
    },

    async loadFiles(files) {
      if (!client) return;
      const previous = { status: get().status, loaded: get().loaded };
      current?.abort();
      loading?.abort();
      const controller = new AbortController();
      loading = controller;
      const { backend } = get();
      const names = files.map((f) => f.name).join(", ");
      set({
        status: { phase: "local", url: names },
        loaded: { phase: "loading", backend, progress: NO_PROGRESS },
        fileError: null,
      });
      try {
        const model = await client.loadFiles(
          files,
          { backend },
          progressListener(controller.signal),
          controller.signal,
        );
        if (controller.signal.aborted) return;
        const info = describeModelJson(model.modelJson);
        const facts: ModelFacts =
          info.kind === "found"
            ? info.facts
            : { metadata: model.metadata, weightBytes: 0, shards: 0, tensors: 0 };
        await hooks.beforeReady?.(model).catch(() => undefined);
        if (controller.signal.aborted) return;
        const state = get().loaded;
        set({
          status: { phase: "found", url: model.modelUrl, facts },
          loaded: {
            phase: "ready",
            model,
            progress: state.phase === "loading" ? state.progress : NO_PROGRESS,
          },
        });
        rememberLocalModel(model.stored ? model.modelUrl : null);
      } catch (error) {
        if (isAbort(error, controller.signal)) return;
        // The worker keeps (or the client reloads) the previous model: show it again, with what went wrong.
        set({ ...previous, fileError: errorMessage(error) });
      } finally {
        if (loading === controller) loading = null;
      }
    },

    async switchToDefaultModel(defaultUrl) {
      rememberLocalModel(null);
      set({ fileError: null });
      await get().load(defaultUrl, { force: true });
    },

    async clearCache() {
      if (!client || get().cache.phase === "clearing") return;
      set({ cache: { phase: "clearing" } });
      try {
        await client.clearCache();
        set({ cache: { phase: "cleared" } });
      } catch (error) {
        set({ cache: { phase: "error", message: errorMessage(error) } });
      }
    },
  };
});

/** The loaded model, when there is one ready to classify with. */
export function readyModel(): LoadedModel | null {
  const loaded = useModelStatus.getState().loaded;
  return loaded.phase === "ready" ? loaded.model : null;
}
