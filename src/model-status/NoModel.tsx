import { LocalModelPicker } from "./LocalModelPicker";
import { DEFAULT_MODEL_PATH } from "./model-info";
import type { ModelStatus } from "./store";

const COMMANDS = [
  {
    command: "npm run weights -- fetch",
    what: "Downloads Keras' ImageNet weights for VGG16 (528 MB, needs internet) and converts them.",
  },
  {
    command:
      "npm run weights -- convert path/to/vgg16_weights_tf_dim_ordering_tf_kernels.h5 --labels path/to/imagenet_class_index.json",
    what: "Converts a Keras weights file you already have, with its class names.",
  },
  {
    command: "npm run weights -- synthetic",
    what: "Writes seeded random weights for a demo, with no download. Predictions are meaningless.",
  },
] as const;

type Problem = Extract<ModelStatus, { phase: "missing" | "invalid" }>;

/** Says what is wrong and how to get a model: the exact commands. */
export function NoModel({ status, onRetry }: { readonly status: Problem; readonly onRetry?: () => void }) {
  const custom = new URLSearchParams(window.location.search).has("model");
  return (
    <div className="no-model">
      {/* What is wrong, naming the file (and the layer): announced as soon as it is known. */}
      <div role="alert">
        {status.phase === "missing" ? (
          <>
            <h3>
              No VGG16 model found at <code className="break">{status.url}</code>
            </h3>
            <p>Nothing usable is there: {status.reason}</p>
          </>
        ) : (
          <>
            <h3>
              Found a file at <code className="break">{status.url}</code>, but it is not a usable VGG16 model
            </h3>
            <p>What is wrong:</p>
            <ul className="problems">
              {status.problems.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          </>
        )}
      </div>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
      <h4>How to get a model</h4>
      <p>Run one of these in the project folder:</p>
      <ul className="commands">
        {COMMANDS.map(({ command, what }) => (
          <li key={command}>
            <code className="command">{command}</code>
            <span>{what}</span>
          </li>
        ))}
      </ul>
      <p>
        Then reload this page.
        {custom && (
          <>
            {" "}
            The commands write the model that this page loads when its address has no <code>?model=</code> (
            <code>/{DEFAULT_MODEL_PATH}</code>).
          </>
        )}
      </p>
      <LocalModelPicker />
    </div>
  );
}
