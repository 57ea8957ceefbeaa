import { useId } from "react";
import { LayerTable } from "./LayerTable";
import { readyText } from "./load-progress";
import { ModelFactsList } from "./ModelFactsList";
import { ModelLoader } from "./ModelLoader";
import { summarizeFacts } from "./model-info";
import { NoModel } from "./NoModel";
import { SyntheticBadge } from "./SyntheticBadge";
import { type LoadState, type ModelStatus, useModelStatus } from "./store";

/** The one live status for the model: what model.json says, then the worker's load, then "Ready — backend". */
function statusText(status: ModelStatus, loaded: LoadState): string {
  switch (status.phase) {
    case "idle":
    case "loading":
      return "Loading model info…";
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
  const retry = status.phase === "idle" ? undefined : () => void load(status.url, { force: true });

  return (
    <section className="panel model-panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Model</h2>
      <p role="status" className={`model-status model-status--${statusClass(status, loaded)}`}>
        {statusText(status, loaded)}
      </p>
      {status.phase === "found" && (
        <>
          <ModelLoader />
          {status.facts.metadata.synthetic && <SyntheticBadge metadata={status.facts.metadata} />}
          <ModelFactsList url={status.url} facts={status.facts} />
          <LayerTable includeTop={status.facts.metadata.includeTop} />
        </>
      )}
      {(status.phase === "missing" || status.phase === "invalid") && (
        <NoModel status={status} onRetry={retry} />
      )}
    </section>
  );
}
