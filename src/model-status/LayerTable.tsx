import { KERAS_PARAM_COUNTS, summaryRows } from "../model/vgg16-spec";
import { formatCount } from "./model-info";

/** The model's layers as Keras' `model.summary()` prints them, with parameter totals. */
export function LayerTable({ includeTop }: { readonly includeTop: boolean }) {
  const rows = summaryRows(includeTop);
  const total = rows.reduce((sum, row) => sum + row.params, 0);
  const convBase = KERAS_PARAM_COUNTS.convBase;
  return (
    <details className="layers" open>
      <summary>Layers ({rows.length}, as Keras' summary() lists them)</summary>
      {/* Scrolls on its own, so the Results below stay in reach (browsers make scrollers keyboard-focusable). */}
      <div className="table-scroll">
        <table className="summary-table">
          <caption>VGG16 layers{includeTop ? "" : " (conv base, without the top)"}: model.summary()</caption>
          <thead>
            <tr>
              <th scope="col">Layer (type)</th>
              <th scope="col">Output shape</th>
              <th scope="col" className="num">
                Param #
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.layer}>
                <th scope="row">
                  {row.layer} <span className="muted">({row.type})</span>
                </th>
                <td>
                  <code>{row.outputShape}</code>
                </td>
                <td className="num">{formatCount(row.params)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={2}>
                Total params
              </th>
              <td className="num">{formatCount(total)}</td>
            </tr>
            <tr>
              <th scope="row" colSpan={2}>
                Conv base (block1 to block5)
              </th>
              <td className="num">{formatCount(convBase)}</td>
            </tr>
            {includeTop && (
              <tr>
                <th scope="row" colSpan={2}>
                  Classifier top (fc1, fc2, predictions)
                </th>
                <td className="num">{formatCount(total - convBase)}</td>
              </tr>
            )}
            <tr>
              <th scope="row" colSpan={2}>
                Trainable params
              </th>
              <td className="num">{formatCount(total)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
    </details>
  );
}
