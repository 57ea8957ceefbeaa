import { useEffect } from "react";
import { ModelPanel } from "../model-status/ModelPanel";
import { modelUrlFromSearch } from "../model-status/model-info";
import { useModelStatus } from "../model-status/store";

export function App() {
  const load = useModelStatus((s) => s.load);

  useEffect(() => {
    void load(modelUrlFromSearch(window.location.search, import.meta.env.BASE_URL));
  }, [load]);

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
        <ModelPanel />
      </main>
    </>
  );
}
