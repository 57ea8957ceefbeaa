import { useId } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { EpochLogs } from "../transfer/head";
import { formatMetric, metricRows } from "./logic";

interface MetricFigureProps {
  readonly history: readonly EpochLogs[];
  readonly metric: "acc" | "loss";
}

const TITLES = { acc: "Accuracy", loss: "Loss" } as const;

/** One of the book's two figures (training vs validation, per epoch), with its data as a table. */
export function MetricFigure({ history, metric }: MetricFigureProps) {
  const id = useId();
  const title = TITLES[metric];
  const rows = metricRows(history, metric);
  const data = rows.map((r) => ({ epoch: r.epoch, training: r.training, validation: r.validation }));
  return (
    <figure className="metric-figure" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`}>{title}</figcaption>
      <div className="metric-figure__chart" aria-hidden="true">
        {rows.length === 0 ? (
          <p className="muted">The chart grows as epochs finish.</p>
        ) : (
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="epoch" allowDecimals={false} />
              <YAxis domain={metric === "acc" ? [0, 1] : ["auto", "auto"]} />
              <Tooltip />
              <Legend />
              <Line
                type="linear"
                dataKey="training"
                name={`Training ${title.toLowerCase()}`}
                stroke="#1f5fbf"
                dot={{ r: 3 }}
                isAnimationActive={false}
              />
              <Line
                type="linear"
                dataKey="validation"
                name={`Validation ${title.toLowerCase()}`}
                stroke="#d9730d"
                dot={false}
                connectNulls
                isAnimationActive={false}
              />
            </LineChart>
          </ResponsiveContainer>
        )}
      </div>
      <div className="table-scroll metric-figure__data">
        <table className="summary-table" aria-label={`${title} data`}>
          <caption>{title} data</caption>
          <thead>
            <tr>
              <th scope="col">Epoch</th>
              <th scope="col">Training</th>
              <th scope="col">Validation</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.epoch}>
                <th scope="row">{r.epoch}</th>
                <td className="num">{formatMetric(metric, r.training)}</td>
                <td className="num">{formatMetric(metric, r.validation)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
