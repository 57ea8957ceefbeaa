/**
 * Wires the stores to the one worker client and to each other:
 * model ready → diagnostics read memory, waiting images are classified;
 * model reloading → the running job gives its unfinished images back;
 * job done (classify, or a transfer-learning extraction, training or
 * evaluation) → diagnostics read memory; worker crash and restart → a notice.
 */
import { connectClassify, useClassify } from "../classify/store";
import { connectDiagnosticsClient, useDiagnostics } from "../diagnostics/store";
import { backendFromSearch } from "../model-status/load-progress";
import { connectModelClient, readyModel, useModelStatus } from "../model-status/store";
import { useEvaluation, useFeatures, useTraining } from "../transfer-ui/stores";
import { getVgg16Client } from "../vgg16/client";
import { MODEL_CACHE_NAME } from "../vgg16/model-files";
import type { Vgg16Port } from "./client-port";
import { useNotices } from "./notices";

let started = false;

/** The worker keeps loaded models in Cache Storage; reading its model.json there saves a request. */
async function cachedModelJson(url: string): Promise<Response | undefined> {
  if (typeof caches === "undefined") return undefined;
  return caches.match(url, { cacheName: MODEL_CACHE_NAME });
}

/** Idempotent: the first call creates the client and connects everything. */
export function startRuntime(search: string): void {
  if (started) return;
  started = true;

  const client: Vgg16Port = getVgg16Client({
    // The client itself restarts the worker, loads the last model again and re-runs the unfinished
    // images of the running job: the UI only says so.
    onCrash(message) {
      useNotices.getState().crashed(message);
    },
    onRestart() {
      useNotices.getState().restarted();
    },
    // A lost WebGL context / WebGPU device: the client goes on with the next backend in a fresh worker.
    onBackendLost(loss) {
      useNotices.getState().backendLost(loss.backend, loss.message);
    },
    // The model was loaded again in a fresh worker, maybe on another backend: show where it runs now.
    onModelRestored(model) {
      const loaded = useModelStatus.getState().loaded;
      if (loaded.phase !== "ready") return;
      useDiagnostics.getState().setBackend(model.backend, model.engine);
      useModelStatus.setState({ loaded: { ...loaded, model } });
    },
  });

  connectModelClient(client, {
    // Diagnostics show the model's memory by the time the status says "Ready".
    async beforeReady(model) {
      useDiagnostics.getState().setBackend(model.backend, model.engine);
      await useDiagnostics.getState().refresh();
    },
    cachedModelJson,
  });
  connectDiagnosticsClient(client);
  connectClassify({
    client,
    readyModel,
    afterJob: () => void useDiagnostics.getState().refresh(),
  });

  useModelStatus.setState({ backend: backendFromSearch(search) });

  useModelStatus.subscribe((state, previous) => {
    if (state.loaded === previous.loaded) return;
    if (state.loaded.phase === "ready") {
      useNotices.getState().modelReady(state.loaded.model.backend);
      useClassify.getState().pump();
    } else if (previous.loaded.phase === "ready") {
      useClassify.getState().requeueForReload();
      useDiagnostics.getState().setBackend(null);
    }
    if (state.loaded.phase === "error") void useDiagnostics.getState().refresh();
  });

  // The transfer lesson's jobs run in the same worker: its memory (a trained head, optimizer state) shows too.
  const afterTransferJob = () => void useDiagnostics.getState().refresh();
  useFeatures.subscribe((state, previous) => {
    if (previous.phase === "running" && state.phase !== "running") afterTransferJob();
  });
  useTraining.subscribe((state, previous) => {
    const busy = (phase: string) => phase === "running" || phase === "stopping";
    if (busy(previous.phase) && !busy(state.phase)) afterTransferJob();
  });
  useEvaluation.subscribe((state, previous) => {
    if (previous.running && !state.running) afterTransferJob();
  });

  void useDiagnostics.getState().loadCapabilities();
}
