import { useCallback, useEffect, useState } from "react";
import type { Collected } from "../classify/collect";
import { ResultsPanel } from "../classify/ResultsPanel";
import { useClassify } from "../classify/store";
import { useDropAndPaste } from "../classify/useDropAndPaste";
import { DiagnosticsPanel } from "../diagnostics/DiagnosticsPanel";
import { ModelPanel } from "../model-status/ModelPanel";
import { modelUrlFromSearch } from "../model-status/model-info";
import { rememberedLocalModel, useModelStatus } from "../model-status/store";
import { onTransferDrop, startTransferView, TransferView } from "../transfer-ui/TransferView";
import { isModelDrop } from "../vgg16/local-files";
import { startRuntime } from "./runtime";
import { WorkerNoticeBar } from "./WorkerNotice";

/**
 * The model to load: `?model=` first, else a model from files remembered from an earlier visit (read from the
 * browser's cache, no network), else the default. A remembered model that is gone is forgotten.
 */
async function startModel(search: string): Promise<void> {
  const store = useModelStatus.getState();
  const defaultUrl = modelUrlFromSearch(search, import.meta.env.BASE_URL);
  const remembered = new URLSearchParams(search).has("model") ? null : rememberedLocalModel();
  if (!remembered) return store.load(defaultUrl);
  await store.load(remembered);
  if (useModelStatus.getState().status.phase !== "found") await store.switchToDefaultModel(defaultUrl);
}

/**
 * Starts the worker, the model load and the lesson's saved dataset: called by main.tsx before React's first
 * render, so that the worker boots and reads the cache while the page renders, not after (idempotent).
 */
let appStarted = false;
export function startApp(search: string): void {
  if (appStarted) return;
  appStarted = true;
  startRuntime(search);
  void startModel(search);
  startTransferView();
}

type View = "classify" | "transfer";

/** The view named by the URL hash: #transfer, else Classify. */
function viewFromHash(hash: string): View {
  return hash === "#transfer" ? "transfer" : "classify";
}

function useHashView(): View {
  const [view, setView] = useState<View>(() => viewFromHash(window.location.hash));
  useEffect(() => {
    const onHash = () => setView(viewFromHash(window.location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return view;
}

export function App() {
  const modelReady = useModelStatus((s) => s.loaded.phase === "ready");
  const view = useHashView();

  useEffect(() => startApp(window.location.search), []);

  const onFiles = useCallback((collected: Collected) => {
    // A dropped .h5 or model.json (with its shards) is a model to load, not images to classify.
    const files = collected.files.map((f) => f.file);
    if (isModelDrop(files)) {
      void useModelStatus.getState().loadFiles(files);
      return;
    }
    if (viewFromHash(window.location.hash) === "transfer") {
      onTransferDrop(collected);
      return;
    }
    useClassify.getState().addFiles(collected.files, collected);
  }, []);
  const dragging = useDropAndPaste(onFiles);

  return (
    <>
      <header className="site-header">
        <h1>VGG16 in your browser</h1>
        <p className="lede">
          The 138-million-parameter image classifier, run by TensorFlow.js on your own device. Images never
          leave your computer.
        </p>
        <nav className="tabs" aria-label="Views">
          <a href="#classify" className="tabs__link" aria-current={view === "classify" ? "page" : undefined}>
            Classify
          </a>
          <a href="#transfer" className="tabs__link" aria-current={view === "transfer" ? "page" : undefined}>
            Transfer learning
          </a>
        </nav>
      </header>
      <main className="site-main">
        <WorkerNoticeBar />
        <ModelPanel />
        {/*
          Classify stays mounted (hidden) so its camera and cards keep their state; the transfer view keeps
          its state in stores, and is mounted only when shown so its file inputs do not mix with Classify's.
        */}
        <div hidden={view !== "classify"}>
          <ResultsPanel modelReady={modelReady} />
        </div>
        {view === "transfer" && <TransferView />}
        <DiagnosticsPanel />
      </main>
      <div className={`drop-overlay${dragging ? " drop-overlay--on" : ""}`} aria-hidden="true">
        <p>
          {view === "transfer"
            ? "Drop a dataset folder (train/, validation/, test/ with a folder per class), or images onto a class"
            : "Drop images or folders to classify them, or a model (.h5, or model.json with its .bin files) to load it"}
        </p>
      </div>
    </>
  );
}
