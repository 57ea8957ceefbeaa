import { useEffect, useId, useState } from "react";
import type { BackendChoice, LoadPhase } from "../vgg16/api";
import {
  BACKEND_CHOICES,
  cacheNote,
  describePhase,
  describeTimings,
  type LoadProgress,
  overallFraction,
  phasesOf,
  progressText,
  repairNote,
} from "./load-progress";
import { useModelStatus } from "./store";

/** The local clock, ticking while `active` (upload and warm-up report only their start and end). */
function useNow(active: boolean, intervalMs = 250): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!active) return;
    setNow(performance.now());
    const timer = setInterval(() => setNow(performance.now()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
  return now;
}

function PhaseList({ progress, now }: { readonly progress: LoadProgress; readonly now?: number }) {
  return (
    <ol className="phases">
      {phasesOf(progress).map((phase: LoadPhase) => {
        const p = progress.phases[phase];
        const state = p?.done ? "done" : progress.current === phase ? "active" : "pending";
        return (
          <li key={phase} className={`phase phase--${state}`}>
            {describePhase(phase, p, progress.cacheHit, now)}
          </li>
        );
      })}
    </ol>
  );
}

/** Backend choice, the loading progress bar with its phases, and the cache button. */
export function ModelLoader() {
  const backend = useModelStatus((s) => s.backend);
  const setBackend = useModelStatus((s) => s.setBackend);
  const loaded = useModelStatus((s) => s.loaded);
  const cache = useModelStatus((s) => s.cache);
  const clearCache = useModelStatus((s) => s.clearCache);
  const retry = useModelStatus((s) => s.retry);
  const selectId = useId();
  const now = useNow(loaded.phase === "loading");

  return (
    <div className="loader">
      <div className="loader__controls">
        <label htmlFor={selectId}>Backend</label>
        <select
          id={selectId}
          value={backend}
          onChange={(event) => setBackend(event.currentTarget.value as BackendChoice)}
        >
          {BACKEND_CHOICES.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => void clearCache()} disabled={cache.phase === "clearing"}>
          Clear model cache
        </button>
        <span className="loader__cache muted" aria-live="polite">
          {cache.phase === "clearing" && "Clearing the cache…"}
          {cache.phase === "cleared" && "Cache cleared: the next load downloads the weights again."}
          {cache.phase === "error" && `Could not clear the cache: ${cache.message}`}
        </span>
      </div>

      {/* The bar while loading, the total after: same height, so nothing below moves. */}
      <div className="loader__progress">
        {loaded.phase === "loading" && (
          <>
            <div
              className="progress"
              role="progressbar"
              aria-label="Model loading"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={Math.round(overallFraction(loaded.progress) * 100)}
              aria-valuetext={progressText(loaded.progress, now)}
            >
              <div
                className="progress__bar"
                style={{ width: `${(overallFraction(loaded.progress) * 100).toFixed(1)}%` }}
              />
            </div>
            <PhaseList progress={loaded.progress} now={now} />
            {repairNote(loaded.progress) && <p className="muted">{repairNote(loaded.progress)}</p>}
          </>
        )}
        {loaded.phase === "ready" && (
          <>
            <p className="loader__done">
              {describeTimings(
                loaded.model,
                loaded.progress.phases.download?.loadedBytes ?? null,
                loaded.progress.phases.convert !== undefined,
              )}
              .
            </p>
            <PhaseList progress={loaded.progress} />
            {repairNote(loaded.progress) && <p className="muted">{repairNote(loaded.progress)}</p>}
            {cacheNote(loaded.progress) && <p className="muted">{cacheNote(loaded.progress)}</p>}
          </>
        )}
        {loaded.phase === "error" && (
          <div className="loader__error">
            {/* The message names the file (model.json or the shard) or the layer that is wrong. */}
            <p role="alert">Loading the model failed: {loaded.message}</p>
            <button type="button" onClick={() => void retry()}>
              Retry
            </button>
            <PhaseList progress={loaded.progress} />
          </div>
        )}
      </div>
    </div>
  );
}
