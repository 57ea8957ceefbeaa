import { memo, useId, useState } from "react";
import { formatMs, formatPercent } from "../app/format";
import type { ClassifyItem } from "./state";
import { useClassify } from "./store";

const SYNTHETIC_TITLE =
  "Classified by a model with synthetic (seeded random) weights: these predictions are random and say nothing about the image.";

function Pending({ item, modelReady }: { readonly item: ClassifyItem; readonly modelReady: boolean }) {
  if (item.status === "classifying") return <p className="card__state card__state--busy">Classifying…</p>;
  if (item.status === "stopped") return <p className="card__state">Stopped before it was classified.</p>;
  return (
    <p className="card__state">{modelReady || item.jobId !== null ? "Waiting…" : "Waiting for the model…"}</p>
  );
}

function Predictions({ item }: { readonly item: ClassifyItem }) {
  return (
    <>
      {item.synthetic && (
        <p className="card__synthetic" title={SYNTHETIC_TITLE}>
          Synthetic weights<span className="visually-hidden">: these predictions are random</span>
        </p>
      )}
      <ol className="top5">
        {(item.top5 ?? []).map((p) => {
          const percent = formatPercent(p.probability);
          return (
            <li key={p.index} className="top5__item">
              <span className="top5__label">
                <span className="top5__name" title={p.name}>
                  {p.name}
                </span>
                {p.wnid && <span className="top5__wnid"> {p.wnid}</span>}
              </span>
              <span className="top5__pct">{percent}</span>
              <span className="top5__bar" aria-hidden="true">
                <span style={{ width: percent === "–" ? 0 : percent }} />
              </span>
            </li>
          );
        })}
      </ol>
      <p className="card__meta">
        {item.ms !== null && <span>{formatMs(item.ms)}</span>}
        {item.width !== null && item.height !== null && (
          <span>
            {" · "}
            {item.width}×{item.height} px
          </span>
        )}
      </p>
    </>
  );
}

/** One image: thumbnail, then its top 5, or why it failed, or that it waits. */
export const ResultCard = memo(function ResultCard({
  id,
  modelReady,
}: {
  readonly id: string;
  readonly modelReady: boolean;
}) {
  const item = useClassify((s) => s.items[id]);
  const headingId = useId();
  const [broken, setBroken] = useState(false);
  if (!item) return null;
  const pending = item.status === "waiting" || item.status === "classifying";
  return (
    <article className={`card card--${item.status}`} aria-labelledby={headingId} aria-busy={pending}>
      <div className="card__thumb">
        {item.thumbnailUrl && !broken ? (
          <img
            src={item.thumbnailUrl}
            alt=""
            loading="lazy"
            decoding="async"
            onError={() => setBroken(true)}
          />
        ) : (
          <span className="card__nothumb" aria-hidden="true">
            No preview
          </span>
        )}
      </div>
      <div className="card__body">
        <h3 id={headingId} className="card__name">
          {item.name}
        </h3>
        {item.path !== item.name && <p className="card__path muted">{item.path}</p>}
        {item.status === "done" && <Predictions item={item} />}
        {item.status === "failed" && (
          <div role="alert" className="card__error">
            <strong>Could not classify {item.name}:</strong> {item.error}
          </div>
        )}
        {(pending || item.status === "stopped") && <Pending item={item} modelReady={modelReady} />}
      </div>
    </article>
  );
});
