import { useId } from "react";
import { useModelStatus } from "./store";

/**
 * Two file inputs for a model of your own: "Load model files" (a Keras .h5, or
 * model.json with its .bin files) and "Load model folder" (a converted model's
 * folder). Either is read in the worker; a failure shows as an alert.
 */
export function LocalModelPicker() {
  const loadFiles = useModelStatus((s) => s.loadFiles);
  const fileError = useModelStatus((s) => s.fileError);
  const busy = useModelStatus((s) => s.status.phase === "local");
  const filesId = useId();
  const folderId = useId();

  const onChange = (event: React.ChangeEvent<HTMLInputElement>) => {
    const input = event.currentTarget;
    const files = Array.from(input.files ?? []);
    input.value = ""; // the same file can be picked again
    if (files.length > 0) void loadFiles(files);
  };

  return (
    <div className="local-model">
      <p>
        Or use a model you have: a Keras VGG16 weights file (<code>.h5</code>, with or without the top;
        converted here, in your browser), or a converted model (<code>model.json</code> with its{" "}
        <code>.bin</code> files). You can also drop them on the page. Nothing is uploaded; the model is kept
        in this browser's cache for your next visit.
      </p>
      <div className="local-model__inputs">
        <label htmlFor={filesId}>Load model files</label>
        <input
          id={filesId}
          type="file"
          accept=".h5,.hdf5,.json,.bin"
          multiple
          disabled={busy}
          onChange={onChange}
        />
        <label htmlFor={folderId}>Load model folder</label>
        <input
          id={folderId}
          type="file"
          multiple
          disabled={busy}
          onChange={onChange}
          // React has no typed prop for it; browsers read the attribute.
          {...{ webkitdirectory: "" }}
        />
      </div>
      {fileError && (
        <p role="alert" className="local-model__error">
          Could not load the model: {fileError}
        </p>
      )}
    </div>
  );
}
