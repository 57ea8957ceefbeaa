/**
 * The "Transfer learning" view: Chollet's cats-vs-dogs lesson (Deep Learning
 * with Python, ch. 5) on VGG16's frozen conv base. Data → features →
 * training → evaluation → try it → export.
 */
import { type ChangeEvent, type DragEvent, useEffect, useId, useMemo, useState } from "react";
import { errorMessage } from "../app/client-port";
import { formatMB } from "../app/format";
import type { Collected } from "../classify/collect";
import { SPLITS } from "../transfer/dataset";
import { type HeadConfig, type OptimizerName, validateHeadConfig } from "../transfer/head";
import { MetricFigure } from "./Charts";
import {
  allImages,
  cachedComputedText,
  cellImages,
  countsView,
  extractedSoFarText,
  extractionRateText,
  formatAccuracy,
  SPLIT_LABELS,
  testSummaryText,
  trainingStatusText,
} from "./logic";
import { transferPort } from "./port";
import { type InputFile, useDataset, useEvaluation, useFeatures, useTraining } from "./stores";

/** Files from a file input, with the folder-relative path a `webkitdirectory` input gives. */
function inputFiles(input: HTMLInputElement): InputFile[] {
  return Array.from(input.files ?? []).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/**
 * A drop onto a class sets this; the page-wide drop handler (which also
 * clears the drop overlay) collects the files and hands them to onTransferDrop.
 */
let pendingClassDrop: number | null = null;

/** Files dropped anywhere on this view (the app routes them here while it is shown). */
export function onTransferDrop(collected: Collected): void {
  const store = useDataset.getState();
  const classIndex = pendingClassDrop;
  pendingClassDrop = null;
  if (collected.files.length === 0) return;
  if (classIndex !== null) store.addToClass(classIndex, collected.files);
  else store.addFolder(collected.files);
}

function useObjectUrl(blob: Blob | undefined): string | undefined {
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!blob || typeof URL.createObjectURL !== "function") return;
    const next = URL.createObjectURL(blob);
    setUrl(next);
    return () => URL.revokeObjectURL(next);
  }, [blob]);
  return url;
}

function Thumb({ blob, alt }: { readonly blob: Blob | undefined; readonly alt: string }) {
  const url = useObjectUrl(blob);
  return url ? <img className="tl-thumb" src={url} alt={alt} /> : <span className="tl-thumb" />;
}

/** Restores the saved dataset, history and the worker's head; call once the runtime (client) has started. */
export function startTransferView(): void {
  void useDataset.getState().restore();
}

export function TransferView() {
  return (
    <div className="transfer">
      <DatasetPanel />
      <FeaturesPanel />
      <TrainingPanel />
      <EvaluationPanel />
      <TryPanel />
      <ExportPanel />
    </div>
  );
}

/* ---------- data ---------- */

function ClassRow({ index, name }: { readonly index: number; readonly name: string }) {
  const id = useId();
  const [over, setOver] = useState(false);
  const onDrop = (_event: DragEvent<HTMLFieldSetElement>) => {
    setOver(false);
    pendingClassDrop = index;
  };
  return (
    <fieldset
      className={`tl-class${over ? " tl-class--over" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <legend className="visually-hidden">Class {index + 1}</legend>
      <label htmlFor={`${id}-name`}>Class {index + 1} name</label>
      <input
        id={`${id}-name`}
        value={name}
        onChange={(e) => useDataset.getState().rename(index, e.target.value)}
      />
      <input
        id={`${id}-files`}
        className="visually-hidden"
        type="file"
        accept="image/*"
        multiple
        onChange={(e) => {
          useDataset.getState().addToClass(index, inputFiles(e.currentTarget));
          e.currentTarget.value = "";
        }}
      />
      <label className="button" htmlFor={`${id}-files`}>
        Choose images for {name || `class ${index + 1}`}
      </label>
      <span className="muted">or drop images here</span>
    </fieldset>
  );
}

function DatasetPanel() {
  const dataset = useDataset((s) => s.dataset);
  const message = useDataset((s) => s.message);
  const saveProblem = useDataset((s) => s.saveProblem);
  const view = useMemo(() => countsView(dataset), [dataset]);
  const folderId = useId();
  const onFolder = (event: ChangeEvent<HTMLInputElement>) => {
    useDataset.getState().addFolder(inputFiles(event.currentTarget));
    event.currentTarget.value = "";
  };
  return (
    <section className="panel" aria-labelledby="tl-data">
      <h2 id="tl-data">1. Data</h2>
      <p className="hint">
        Add a folder laid out like the book's (<code>train/cats</code>, <code>train/dogs</code>,{" "}
        <code>validation/…</code>, <code>test/…</code>), drop one anywhere on this page, or add images to each
        class (they are split 60/20/20 by a fixed seed). Two classes train a sigmoid head, three or more a
        softmax head.
      </p>
      <div className="toolbar">
        <input
          id={folderId}
          className="visually-hidden"
          type="file"
          multiple
          // React does not know the non-standard attribute; the browser does.
          {...{ webkitdirectory: "", directory: "" }}
          onChange={onFolder}
        />
        <label className="button primary" htmlFor={folderId}>
          Add dataset folder
        </label>
        <button type="button" className="button" onClick={() => useDataset.getState().addClass()}>
          Add class
        </button>
        <button type="button" className="button" onClick={() => useDataset.getState().clear()}>
          Clear dataset
        </button>
      </div>
      {message && (
        <p className="loader__error" role="alert">
          {message}
        </p>
      )}
      {saveProblem && (
        <p className="notice">
          These images are not kept for your next visit ({saveProblem}): the lesson works, but a reload
          forgets them.
        </p>
      )}
      <div className="tl-classes">
        {dataset.classes.map((name, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: classes are identified by their position (the label).
          <ClassRow key={i} index={i} name={name} />
        ))}
      </div>
      <p aria-live="polite">{view.summary}</p>
      <div className="table-scroll">
        <table className="summary-table" aria-label="Images per class and split">
          <caption>Images per class and split</caption>
          <thead>
            <tr>
              <th scope="col">Class</th>
              {SPLITS.map((s) => (
                <th scope="col" key={s} className="num">
                  {SPLIT_LABELS[s]}
                </th>
              ))}
              <th scope="col" className="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {view.rows.map((row, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: names may repeat while being edited.
              <tr key={i}>
                <th scope="row">{row.className}</th>
                <td className="num">{row.train}</td>
                <td className="num">{row.validation}</td>
                <td className="num">{row.test}</td>
                <td className="num">{row.total}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{view.totals.className}</th>
              <td className="num">{view.totals.train}</td>
              <td className="num">{view.totals.validation}</td>
              <td className="num">{view.totals.test}</td>
              <td className="num">{view.totals.total}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      {dataset.ignored.length > 0 && (
        <details>
          <summary>
            {dataset.ignored.length} {dataset.ignored.length === 1 ? "file" : "files"} ignored
          </summary>
          <ul className="tl-ignored">
            {dataset.ignored.map((f) => (
              <li key={f.path}>
                <code>{f.path}</code> <span className="muted">({f.reason.replace(/-/g, " ")})</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

/* ---------- features ---------- */

function FeaturesPanel() {
  const f = useFeatures();
  const total = useDataset((s) => countsView(s.dataset).totals.total);
  const dataset = useDataset((s) => s.dataset);
  const extracted = useMemo(
    () => allImages(dataset).filter((image) => f.hashes[image.id] !== undefined).length,
    [dataset, f.hashes],
  );
  const running = f.phase === "running";
  return (
    <section className="panel" aria-labelledby="tl-features">
      <h2 id="tl-features">2. Features</h2>
      <p className="hint">
        VGG16's convolutional base turns each image into 7×7×512 features, once; they are cached in this
        browser, so training and evaluation never run the big network again.
      </p>
      <div className="toolbar">
        <button
          type="button"
          className="button primary"
          disabled={running || total === 0}
          onClick={() => void f.extract()}
        >
          Extract features
        </button>
        {running && (
          <button type="button" className="button" onClick={() => f.cancel()}>
            Cancel
          </button>
        )}
      </div>
      {!running && f.total === 0 && extractedSoFarText(extracted, total) && (
        <p>{extractedSoFarText(extracted, total)}</p>
      )}
      {(running || f.total > 0) && (
        <div className="job">
          <progress
            className="tl-progress"
            aria-label="Feature extraction"
            max={Math.max(1, f.total)}
            value={f.done}
          />
          <p aria-live="polite">
            {extractionRateText(f.done, f.total, f.imagesPerSecond)}
            {f.phase === "cancelled" ? " · cancelled" : ""}
          </p>
          <p>{cachedComputedText(f.cached, f.computed, f.failures.length)}</p>
        </div>
      )}
      {f.error && (
        <p className="loader__error" role="alert">
          {f.error}
        </p>
      )}
      {f.failures.length > 0 && (
        <details>
          <summary>Images that could not be read</summary>
          <ul>
            {f.failures.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </details>
      )}
      <p>
        Feature cache:{" "}
        {f.cacheInfo
          ? `${f.cacheInfo.entries} ${f.cacheInfo.entries === 1 ? "image" : "images"}, ${formatMB(f.cacheInfo.bytes)}`
          : "…"}{" "}
        <button type="button" className="button" disabled={running} onClick={() => void f.clearCache()}>
          Clear feature cache
        </button>
      </p>
      {f.cacheInfo?.problem && <p className="notice">Features are not being cached: {f.cacheInfo.problem}</p>}
    </section>
  );
}

/* ---------- training ---------- */

interface Draft {
  epochs: string;
  batchSize: string;
  learningRate: string;
  hiddenUnits: string;
  dropout: string;
  optimizer: OptimizerName;
  seed: string;
}

function toDraft(c: HeadConfig): Draft {
  return {
    epochs: String(c.epochs),
    batchSize: String(c.batchSize),
    learningRate: String(c.learningRate),
    hiddenUnits: String(c.hiddenUnits),
    dropout: String(c.dropout),
    optimizer: c.optimizer,
    seed: c.seed === null ? "" : String(c.seed),
  };
}

function fromDraft(d: Draft): HeadConfig {
  const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
  return {
    epochs: num(d.epochs),
    batchSize: num(d.batchSize),
    learningRate: num(d.learningRate),
    hiddenUnits: num(d.hiddenUnits),
    dropout: num(d.dropout),
    optimizer: d.optimizer,
    seed: d.seed.trim() === "" ? null : num(d.seed),
  };
}

const FIELDS: ReadonlyArray<{ key: Exclude<keyof Draft, "optimizer">; label: string }> = [
  { key: "epochs", label: "Epochs" },
  { key: "batchSize", label: "Batch size" },
  { key: "learningRate", label: "Learning rate" },
  { key: "hiddenUnits", label: "Hidden units" },
  { key: "dropout", label: "Dropout" },
  { key: "seed", label: "Seed (optional)" },
];

/**
 * The form's text survives leaving the view (which unmounts it) until the
 * store's config changes (a restored or imported head).
 */
let kept: { draft: Draft; config: HeadConfig } | null = null;

function TrainingPanel() {
  const t = useTraining();
  const headProblem = useFeatures((s) => s.cacheInfo?.headProblem ?? null);
  const [draft, setDraftState] = useState<Draft>(() => {
    if (!kept || kept.config !== t.config) kept = { draft: toDraft(t.config), config: t.config };
    return kept.draft;
  });
  const setDraft = (next: Draft) => {
    kept = { draft: next, config: kept?.config ?? useTraining.getState().config };
    setDraftState(next);
  };
  const formId = useId();
  const config = fromDraft(draft);
  const problems = validateHeadConfig(config);
  const busy = t.phase === "running" || t.phase === "stopping";

  // A restored or imported head brings its config: show it (the store's config changes only then).
  const storeConfig = t.config;
  useEffect(() => {
    if (kept?.config !== storeConfig) {
      kept = { draft: toDraft(storeConfig), config: storeConfig };
      setDraftState(kept.draft);
    }
  }, [storeConfig]);

  const start = (resume: boolean) => {
    if (problems.length > 0) return;
    void useTraining.getState().train(resume, config);
  };

  return (
    <section className="panel" aria-labelledby="tl-training">
      <h2 id="tl-training">3. Training</h2>
      <form
        className="tl-settings"
        onSubmit={(e) => {
          e.preventDefault();
          start(false);
        }}
      >
        {FIELDS.map(({ key, label }) => (
          <div className="toolbar__field" key={key}>
            <label htmlFor={`${formId}-${key}`}>{label}</label>
            <input
              id={`${formId}-${key}`}
              inputMode="decimal"
              value={draft[key]}
              disabled={busy}
              onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
            />
          </div>
        ))}
        <div className="toolbar__field">
          <label htmlFor={`${formId}-optimizer`}>Optimizer</label>
          <select
            id={`${formId}-optimizer`}
            value={draft.optimizer}
            disabled={busy}
            onChange={(e) => setDraft({ ...draft, optimizer: e.target.value as OptimizerName })}
          >
            <option value="rmsprop">RMSprop</option>
            <option value="adam">Adam</option>
            <option value="sgd">SGD</option>
          </select>
        </div>
      </form>
      {problems.length > 0 && (
        <ul className="problems" aria-live="polite">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="toolbar">
        <button
          type="button"
          className="button primary"
          disabled={busy || problems.length > 0}
          onClick={() => start(false)}
        >
          Train
        </button>
        <button type="button" className="button" disabled={t.phase !== "running"} onClick={() => t.stop()}>
          Stop
        </button>
        <button
          type="button"
          className="button"
          disabled={busy || problems.length > 0 || t.history.length === 0}
          onClick={() => start(true)}
        >
          Continue training
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => t.startOver()}>
          Start over
        </button>
      </div>
      <p aria-live="polite">{trainingStatusText(t, config.epochs)}</p>
      {t.phase === "error" && t.error && (
        <p className="loader__error" role="alert">
          {t.error}
        </p>
      )}
      {headProblem && <p className="notice">The head is not kept across reloads: {headProblem}</p>}
      <div className="tl-charts">
        <MetricFigure history={t.history} metric="acc" />
        <MetricFigure history={t.history} metric="loss" />
      </div>
    </section>
  );
}

/* ---------- evaluation ---------- */

function EvaluationPanel() {
  const e = useEvaluation();
  const blobs = useDataset((s) => s.blobs);
  const trained = useTraining((s) => s.history.length > 0);
  const images = useMemo(
    () =>
      e.result && e.selected
        ? cellImages(
            e.samples,
            e.result.predictedLabels,
            e.result.probabilities,
            e.classes.length,
            e.selected,
          )
        : [],
    [e.result, e.selected, e.samples, e.classes],
  );
  return (
    <section className="panel" aria-labelledby="tl-eval">
      <h2 id="tl-eval">4. Evaluation</h2>
      <div className="toolbar">
        <button
          type="button"
          className="button primary"
          disabled={e.running || !trained}
          onClick={() => void e.evaluate()}
        >
          Evaluate
        </button>
        <span className="muted">on the test split</span>
      </div>
      {e.error && (
        <p className="loader__error" role="alert">
          {e.error}
        </p>
      )}
      <p role="status">
        {e.running ? "Evaluating…" : e.result ? testSummaryText(e.result.accuracy, e.result.loss) : ""}
      </p>
      {e.result && (
        <div className="table-scroll">
          <table className="summary-table tl-confusion" aria-label="Confusion matrix">
            <caption>Confusion matrix (rows: true class, columns: predicted class)</caption>
            <thead>
              <tr>
                <td />
                {e.classes.map((c, j) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: column j is predicted label j.
                  <th scope="col" key={j}>
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {e.result.confusion.map((row, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: row i is true label i.
                <tr key={i}>
                  <th scope="row">{e.classes[i]}</th>
                  {row.map((count, j) => {
                    const pressed = e.selected?.trueLabel === i && e.selected.predictedLabel === j;
                    return (
                      // biome-ignore lint/suspicious/noArrayIndexKey: column j is predicted label j.
                      <td key={j} className={`num${i === j ? " tl-diagonal" : ""}`}>
                        <button
                          type="button"
                          className="tl-cell"
                          aria-pressed={pressed}
                          aria-label={`${count} ${e.classes[i]} predicted as ${e.classes[j]}`}
                          onClick={() => e.select(pressed ? null : { trueLabel: i, predictedLabel: j })}
                        >
                          {count}
                        </button>
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {e.selected && (
        <div aria-live="polite">
          <h3>
            {e.classes[e.selected.trueLabel]} predicted as {e.classes[e.selected.predictedLabel]}:{" "}
            {images.length} {images.length === 1 ? "image" : "images"}
          </h3>
          <ul className="tl-gallery">
            {images.map((img) => (
              <li key={img.id}>
                <Thumb blob={blobs.get(img.id)} alt={img.id} />
                <span>{formatAccuracy(img.probability)}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

/* ---------- try it ---------- */

function TryCard({
  blob,
  name,
  text,
}: {
  readonly blob: Blob;
  readonly name: string;
  readonly text: string;
}) {
  return (
    <li>
      <Thumb blob={blob} alt={name} />
      <span>{text}</span>
    </li>
  );
}

function TryPanel() {
  const e = useEvaluation();
  const classes = useDataset((s) => s.dataset.classes);
  const trained = useTraining((s) => s.history.length > 0);
  const id = useId();
  return (
    <section className="panel" aria-labelledby="tl-try">
      <h2 id="tl-try">5. Try it</h2>
      <div className="toolbar">
        <input
          id={id}
          className="visually-hidden"
          type="file"
          accept="image/*"
          multiple
          disabled={!trained}
          onChange={(ev) => {
            void e.tryImages(inputFiles(ev.currentTarget));
            ev.currentTarget.value = "";
          }}
        />
        <label className={`button${trained ? "" : " button--disabled"}`} htmlFor={id}>
          Try images
        </label>
        {!trained && <span className="muted">Train a head first.</span>}
      </div>
      {e.tryError && (
        <p className="loader__error" role="alert">
          {e.tryError}
        </p>
      )}
      <ul className="tl-gallery" aria-live="polite">
        {e.tries.map((t) => {
          const r = t.result;
          const text = !r
            ? "…"
            : r.ok && r.label !== undefined
              ? `${classes[r.label] ?? `class ${r.label}`}: ${formatAccuracy(r.probability ?? Number.NaN)}`
              : `Failed: ${r.error ?? "unknown error"}`;
          return <TryCard key={t.id} blob={t.blob} name={t.name} text={`${t.name} — ${text}`} />;
        })}
      </ul>
    </section>
  );
}

/* ---------- export / import ---------- */

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function weightsFileName(modelJson: unknown): string {
  const manifest = (modelJson as { weightsManifest?: Array<{ paths?: unknown[] }> } | null)?.weightsManifest;
  const path = manifest?.[0]?.paths?.[0];
  return typeof path === "string" && path !== "" ? (path.split("/").at(-1) ?? path) : "weights.bin";
}

function ExportPanel() {
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const onExport = async () => {
    setError(null);
    try {
      const head = await transferPort().exportHead();
      if (!head) {
        setMessage("There is no trained head to export yet.");
        return;
      }
      download(new Blob([JSON.stringify(head.modelJson)], { type: "application/json" }), "model.json");
      // The name model.json's weightsManifest gives, so tf.loadLayersModel finds it next to model.json.
      download(
        new Blob([head.weightData], { type: "application/octet-stream" }),
        weightsFileName(head.modelJson),
      );
      setMessage(`Downloaded model.json and ${weightsFileName(head.modelJson)}.`);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const onImport = async (event: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(event.currentTarget.files ?? []);
    event.currentTarget.value = "";
    setError(null);
    const json = files.find((f) => f.name.toLowerCase().endsWith(".json"));
    const bin = files.find((f) => !f.name.toLowerCase().endsWith(".json"));
    if (!json || !bin) {
      setError("Choose both files: model.json and its .bin weights.");
      return;
    }
    try {
      const modelJson: unknown = JSON.parse(await json.text());
      await transferPort().importHead({ modelJson, weightData: await bin.arrayBuffer() });
      const head = await transferPort().headState();
      if (head) {
        useTraining.getState().dispatch({ type: "restored", history: head.history });
        useTraining.setState({ config: { ...head.config } });
      }
      setMessage(`Imported ${json.name} and ${bin.name}.`);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="tl-export">
      <h2 id="tl-export">6. Export</h2>
      <p className="hint">
        The trained head in TensorFlow.js layers format: model.json and one weights file.
      </p>
      <div className="toolbar">
        <button type="button" className="button" onClick={() => void onExport()}>
          Export head
        </button>
        <input
          id={id}
          className="visually-hidden"
          type="file"
          accept=".json,.bin,application/json,application/octet-stream"
          multiple
          onChange={(ev) => void onImport(ev)}
        />
        <label className="button" htmlFor={id}>
          Import head
        </label>
      </div>
      <p aria-live="polite">{message}</p>
      {error && (
        <p className="loader__error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
