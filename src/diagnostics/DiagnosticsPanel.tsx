import { useId } from "react";
import type { Capabilities, Vgg16Engine } from "../vgg16/api";
import { useDiagnostics } from "./store";

const yesNo = (value: boolean | null | undefined): string =>
  value === null || value === undefined ? "n/a" : value ? "yes" : "no";

function CapabilityList({ capabilities: c }: { readonly capabilities: Capabilities }) {
  const webgpu =
    c.webgpuAdapter === null ? "no (navigator.gpu absent)" : c.webgpuAdapter ? "yes" : "no adapter";
  return (
    <dl className="facts">
      <dt>WebGPU adapter</dt>
      <dd>
        {webgpu}
        {c.webgpuFallbackAdapter ? " (fallback adapter available)" : ""}
      </dd>
      <dt>WebGL 2</dt>
      <dd>{c.webglMaxTextureSize > 0 ? `yes, max texture size ${c.webglMaxTextureSize}` : "no"}</dd>
      <dt>WASM SIMD</dt>
      <dd>{yesNo(c.wasmSimd)}</dd>
      <dt>WASM threads</dt>
      <dd>{c.wasmThreads ? "yes (cross-origin isolated, SharedArrayBuffer)" : "no"}</dd>
      <dt>CPU cores</dt>
      <dd>{c.hardwareConcurrency}</dd>
    </dl>
  );
}

const ENGINE_NAMES: Record<Vgg16Engine, string> = {
  "wasm-runner": "WASM runner (Winograd convolutions, streaming dense layers)",
  "graph-model": "TF.js graph model",
};

/** The "Diagnostics" region: backend, threads, SIMD, and TF.js memory after every load and job. */
export function DiagnosticsPanel() {
  const headingId = useId();
  const backend = useDiagnostics((s) => s.backend);
  const engine = useDiagnostics((s) => s.engine);
  const memory = useDiagnostics((s) => s.memory);
  const capabilities = useDiagnostics((s) => s.capabilities);
  const updatedAt = useDiagnostics((s) => s.updatedAt);
  const error = useDiagnostics((s) => s.error);
  const refresh = useDiagnostics((s) => s.refresh);

  return (
    <section className="panel diagnostics" aria-labelledby={headingId}>
      <h2 id={headingId}>Diagnostics</h2>
      <ul className="diag">
        <li>backend: {backend?.name ?? memory?.backend ?? "none"}</li>
        <li className="diag__wide">reason: {backend?.reason || "–"}</li>
        <li>threads: {backend?.threads ?? "n/a"}</li>
        <li className="diag__wide">engine: {engine ? ENGINE_NAMES[engine] : "–"}</li>
        <li>SIMD: {yesNo(backend?.simd)}</li>
        <li>tensors: {memory ? memory.numTensors : "–"}</li>
        <li>bytes: {memory ? memory.numBytes : "–"}</li>
      </ul>
      <p className="muted">
        Read after every model load and every job (classify, feature extraction, training, evaluation)
        {updatedAt !== null ? ` (last at ${new Date(updatedAt).toLocaleTimeString()})` : ""}.{" "}
        <button type="button" onClick={() => void refresh()}>
          Read again
        </button>
      </p>
      {error && <p className="diag__error">{error}</p>}
      <details>
        <summary>What this browser offers</summary>
        {capabilities ? (
          <CapabilityList capabilities={capabilities} />
        ) : (
          <p className="muted">Not known yet.</p>
        )}
      </details>
    </section>
  );
}
