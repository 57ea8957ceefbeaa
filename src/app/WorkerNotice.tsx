import { backendLabel } from "../model-status/load-progress";
import type { BackendInfo, BackendName } from "../vgg16/api";
import { useNotices, type WorkerNotice } from "./notices";

/** "WebGL context", "WebGPU device": what of a GPU backend can be lost. */
function lostThing(backend: BackendName): string {
  if (backend === "webgl") return "WebGL context";
  if (backend === "webgpu") return "WebGPU device";
  return `${backend} backend`;
}

/** "WASM (2 threads, SIMD)", "WebGL": the backend in use, short (the Model panel gives the full reason). */
function shortBackend(backend: BackendInfo): string {
  const details = [
    backend.threads !== null ? `${backend.threads} thread${backend.threads === 1 ? "" : "s"}` : null,
    backend.simd ? "SIMD" : null,
  ].filter((d): d is string => d !== null);
  return details.length > 0
    ? `${backendLabel(backend.name)} (${details.join(", ")})`
    : backendLabel(backend.name);
}

/** The notice's sentence: what happened to the worker and what the app did about it. */
export function noticeText(notice: WorkerNotice): string {
  switch (notice.kind) {
    case "crashed":
      return `The model's worker crashed${notice.message ? ` (${notice.message})` : ""}. Restarting it…`;
    case "restarted":
      return `The model's worker crashed${notice.message} and was restarted: the model is loaded again and unfinished images are classified again.`;
    case "backend-lost":
      return notice.now
        ? `The ${lostThing(notice.lost)} was lost; continued on ${shortBackend(notice.now)}. Unfinished images were classified again.`
        : `The ${lostThing(notice.lost)} was lost (${notice.message}). Loading the model on the next backend…`;
  }
}

/** "The worker crashed and was restarted", "The WebGL context was lost; continued on WASM", dismissible. */
export function WorkerNoticeBar() {
  const notice = useNotices((s) => s.notice);
  const dismiss = useNotices((s) => s.dismiss);
  if (!notice) return null;
  return (
    <div role="alert" className="notice">
      <p>{noticeText(notice)}</p>
      <button type="button" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
