import { useEffect, useId, useRef, useState } from "react";
import type { ResizeMode } from "../preprocess/preprocess";
import { Camera } from "./Camera";
import { progressLine } from "./progress-text";
import { ResultCard } from "./ResultCard";
import { countByStatus, summarizeJob, waitingIds } from "./state";
import { useClassify } from "./store";

function AddImages() {
  const addFiles = useClassify((s) => s.addFiles);
  const inputId = useId();
  return (
    <span className="add-images">
      <input
        id={inputId}
        className="visually-hidden"
        type="file"
        multiple
        accept="image/*"
        onChange={(event) => {
          const input = event.currentTarget;
          const files = Array.from(input.files ?? []);
          // Cleared so that picking the same files again fires another change.
          input.value = "";
          if (files.length > 0) addFiles(files.map((file) => ({ file })));
        }}
      />
      <label htmlFor={inputId} className="button primary">
        Add images
      </label>
    </span>
  );
}

function ProgressLine({ modelReady }: { readonly modelReady: boolean }) {
  const job = useClassify((s) => s.job);
  const waiting = useClassify((s) => waitingIds(s).length);
  const lastAdd = useClassify((s) => s.lastAdd);
  const summary = job
    ? { ...summarizeJob(job, performance.now()), outcome: job.outcome, error: job.error }
    : null;
  const line = progressLine({ job: summary, waiting, modelReady });
  const fraction = job && job.total > 0 ? job.done / job.total : 0;
  const notes: string[] = [];
  if (lastAdd?.skipped) {
    notes.push(
      `Left out ${lastAdd.skipped} system ${lastAdd.skipped === 1 ? "file" : "files"} (such as .DS_Store).`,
    );
  }
  if (lastAdd) notes.push(...lastAdd.problems);
  return (
    <div className="job">
      <p className="job__line" aria-live="polite">
        {line}
      </p>
      <div className="job__bar" aria-hidden="true">
        <span style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      </div>
      {notes.length > 0 && (
        <ul className="job__notes muted">
          {notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Cards mounted per turn: a drop of 1,000 images is mounted over several short tasks, not one long one. */
const CARDS_PER_TURN = 25;

/** How many of `total` cards to render: all of them, reached CARDS_PER_TURN at a time after a big drop. */
function useIncrementalCount(total: number): number {
  const [count, setCount] = useState(Math.min(total, CARDS_PER_TURN));
  useEffect(() => {
    if (count >= total) {
      if (count > total) setCount(total);
      return;
    }
    const timer = setTimeout(() => setCount((c) => Math.min(total, c + CARDS_PER_TURN)), 0);
    return () => clearTimeout(timer);
  }, [count, total]);
  return Math.min(count, total);
}

/** The "Results" region: ways to add images, the job's progress, and one card per image. */
export function ResultsPanel({ modelReady }: { readonly modelReady: boolean }) {
  const headingId = useId();
  const resizeId = useId();
  const order = useClassify((s) => s.order);
  const running = useClassify((s) => s.job?.outcome === "running");
  const stopping = useClassify((s) => s.job?.stopping === true);
  const stopped = useClassify((s) => countByStatus(s).stopped);
  const resize = useClassify((s) => s.resize);
  const { addFiles, stop, clear, resume, setResize } = useClassify.getState();
  const listRef = useRef<HTMLDivElement>(null);
  const shown = useIncrementalCount(order.length);

  return (
    <section className="panel results-panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Results</h2>
      <div className="toolbar">
        <AddImages />
        <Camera onPhoto={(file) => addFiles([{ file }])} />
        <span className="toolbar__field">
          <label htmlFor={resizeId}>Resize</label>
          <select
            id={resizeId}
            value={resize}
            onChange={(event) => setResize(event.currentTarget.value as ResizeMode)}
          >
            <option value="stretch">Stretch to 224×224 (Keras)</option>
            <option value="center-crop">Centre crop</option>
          </select>
        </span>
        <span className="toolbar__end">
          <button type="button" onClick={stop} disabled={!running || stopping}>
            Stop
          </button>
          {stopped > 0 && !running && (
            <button type="button" onClick={resume}>
              Classify the {stopped} stopped
            </button>
          )}
          <button
            type="button"
            onClick={() => {
              clear();
              listRef.current?.focus();
            }}
            disabled={order.length === 0}
          >
            Clear results
          </button>
        </span>
      </div>
      <p className="hint muted">
        Or drop images or whole folders anywhere on this page, or paste an image (<kbd>Ctrl</kbd>+<kbd>V</kbd>
        ). Images stay on your device.
      </p>
      <ProgressLine modelReady={modelReady} />
      <div className="cards" ref={listRef} tabIndex={-1}>
        {order.length === 0 ? (
          <p className="cards__empty muted">No images yet.</p>
        ) : (
          order.slice(0, shown).map((id) => <ResultCard key={id} id={id} modelReady={modelReady} />)
        )}
      </div>
    </section>
  );
}
