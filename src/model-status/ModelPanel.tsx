import { useId } from "react";
import { isLocalModelUrl } from "../vgg16/local-files";
import { LayerTable } from "./LayerTable";
import { LocalModelPicker } from "./LocalModelPicker";
import { readyText } from "./load-progress";
import { ModelFactsList } from "./ModelFactsList";
import { ModelLoader } from "./ModelLoader";
import { describeSource, modelUrlFromSearch, summarizeFacts } from "./model-info";
import { NoModel } from "./NoModel";
import { SyntheticBadge } from "./SyntheticBadge";
import { absoluteUrl, type LoadState, type ModelStatus, useModelStatus } from "./store";

/** The one live status for the model: what model.json says, then the worker's load, then "Ready — backend". */
function statusText(status: ModelStatus, loaded: LoadState): string {
  switch (status.phase) {
    case "idle":
    case "loading":
      return "Loading model info…";
    case "local":
      return `Loading the model from your files (${status.url})…`;
    case "missing":
      return `No model found at ${status.url}.`;
    case "invalid":
      return `No model: the file at ${status.url} is not a usable VGG16 model.`;
    case "found": {
      const summary = summarizeFacts(status.facts);
      switch (loaded.phase) {
        case "idle":
          return `Model found: ${summary}.`;
        case "loading":
          return `Model found: ${summary}. Loading it…`;
        case "ready":
          return `${readyText(loaded.model.backend)}. ${summary}.`;
        case "error":
          return `Model found: ${summary}. Loading it failed.`;
      }
    }
  }
}

function statusClass(status: ModelStatus, loaded: LoadState): string {
  if (status.phase === "local") return "found";
  if (status.phase !== "found") return status.phase;
  if (loaded.phase === "ready") return "ready";
  if (loaded.phase === "error") return "invalid";
  return "found";
}

/** The "Model" region: what model.json says, how the load goes, or how to get a model. */
export function ModelPanel() {
  const status = useModelStatus((s) => s.status);
  const loaded = useModelStatus((s) => s.loaded);
  const load = useModelStatus((s) => s.load);
  const headingId = useId();
  const switchToDefaultModel = useModelStatus((s) => s.switchToDefaultModel);
  const retry = status.phase === "idle" ? undefined : () => void load(status.url, { force: true });
  const defaultUrl = modelUrlFromSearch(window.location.search, import.meta.env.BASE_URL);
  const local = status.phase === "found" && isLocalModelUrl(absoluteUrl(status.url));
  const ready = loaded.phase === "ready" ? loaded.model : null;

  return (
    <section className="panel model-panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Model</h2>
      <p role="status" className={`model-status model-status--${statusClass(status, loaded)}`}>
        {statusText(status, loaded)}
      </p>
      {status.phase === "local" && <ModelLoader />}
      {status.phase === "found" && (
        <>
          <ModelLoader />
          {ready && !ready.metadata.includeTop && (
            <p role="note" className="model-note">
              This model has no classifier top (features only, <code>include_top=False</code>): it computes
              VGG16 features but cannot classify images. Load a full model to get ImageNet predictions.
            </p>
          )}
          {local && (
            <p className="model-local">
              This model came from your files ({describeSource(status.facts.metadata)}) and is kept in this
              browser's cache.{" "}
              <button type="button" onClick={() => void switchToDefaultModel(defaultUrl)}>
                Use the default model
              </button>
            </p>
          )}
          {status.facts.metadata.synthetic && <SyntheticBadge metadata={status.facts.metadata} />}
          <ModelFactsList url={status.url} facts={status.facts} />
          <LayerTable includeTop={status.facts.metadata.includeTop} />
          <details className="own-model">
            <summary>Use your own model</summary>
            <LocalModelPicker />
          </details>
        </>
      )}
      {(status.phase === "missing" || status.phase === "invalid") && (
        <NoModel status={status} onRetry={retry} />
      )}
    </section>
  );
}
