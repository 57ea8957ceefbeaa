import { useCallback, useEffect } from "react";
import type { Collected } from "../classify/collect";
import { ResultsPanel } from "../classify/ResultsPanel";
import { useClassify } from "../classify/store";
import { useDropAndPaste } from "../classify/useDropAndPaste";
import { DiagnosticsPanel } from "../diagnostics/DiagnosticsPanel";
import { ModelPanel } from "../model-status/ModelPanel";
import { modelUrlFromSearch } from "../model-status/model-info";
import { useModelStatus } from "../model-status/store";
import { startRuntime } from "./runtime";
import { WorkerNoticeBar } from "./WorkerNotice";

export function App() {
  const load = useModelStatus((s) => s.load);
  const modelReady = useModelStatus((s) => s.loaded.phase === "ready");

  useEffect(() => {
    startRuntime(window.location.search);
    void load(modelUrlFromSearch(window.location.search, import.meta.env.BASE_URL));
  }, [load]);

  const onFiles = useCallback((collected: Collected) => {
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
      </header>
      <main className="site-main">
        <WorkerNoticeBar />
        <ModelPanel />
        <ResultsPanel modelReady={modelReady} />
        <DiagnosticsPanel />
      </main>
      <div className={`drop-overlay${dragging ? " drop-overlay--on" : ""}`} aria-hidden="true">
        <p>Drop images or folders to classify them</p>
      </div>
    </>
  );
}
