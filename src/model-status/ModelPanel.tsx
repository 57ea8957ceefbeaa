import { useId } from "react";
import { ModelFactsList } from "./ModelFactsList";
import { summarizeFacts } from "./model-info";
import { NoModel } from "./NoModel";
import { SyntheticBadge } from "./SyntheticBadge";
import { type ModelStatus, useModelStatus } from "./store";

function statusText(status: ModelStatus): string {
  switch (status.phase) {
    case "idle":
    case "loading":
      return "Loading model info…";
    case "found":
      return `Model found: ${summarizeFacts(status.facts)}.`;
    case "missing":
      return `No model found at ${status.url}.`;
    case "invalid":
      return `No model: the file at ${status.url} is not a usable VGG16 model.`;
  }
}

/** The "Model" region: what model.json says, or how to get a model. */
export function ModelPanel() {
  const status = useModelStatus((s) => s.status);
  const load = useModelStatus((s) => s.load);
  const headingId = useId();
  const retry = status.phase === "idle" ? undefined : () => void load(status.url, { force: true });

  return (
    <section className="panel model-panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Model</h2>
      <p role="status" className={`model-status model-status--${status.phase}`}>
        {statusText(status)}
      </p>
      {status.phase === "found" && (
        <>
          {status.facts.metadata.synthetic && <SyntheticBadge metadata={status.facts.metadata} />}
          <ModelFactsList url={status.url} facts={status.facts} />
        </>
      )}
      {(status.phase === "missing" || status.phase === "invalid") && (
        <NoModel status={status} onRetry={retry} />
      )}
    </section>
  );
}
