/**
 * The response headers the app needs from whatever serves it: vite preview and
 * the dev server (vite.config.ts), and any static host (README, "Reliability").
 *
 * Cross-origin isolation (COOP + COEP) makes SharedArrayBuffer available,
 * which TF.js' WASM backend needs for its multi-threaded build.
 *
 * The Content-Security-Policy lets the page and its workers run only the
 * app's own scripts and WASM. Workers take their policy from their own
 * script's response, not from the page, so the header goes on every response.
 * Why each directive:
 * - script-src 'self' 'wasm-unsafe-eval': the bundle, the worker and the
 *   Emscripten pthread script are same-origin files; 'wasm-unsafe-eval' lets
 *   WebAssembly compile (TF.js' WASM backend) without allowing JS eval.
 * - worker-src 'self' blob:: the model worker is a same-origin file, but
 *   TF.js' threaded WASM build starts its pthread workers from a blob: URL of
 *   its own worker source (tfjs-backend-wasm, wasmWorkerContents). A blob: URL
 *   can only be made by script already running here.
 * - connect-src 'self' https:: the app's files and models, plus a model the
 *   user asks for with `?model=https://…` (fetched without credentials). Plain
 *   http: elsewhere is refused. A host that never loads third-party models can
 *   narrow it to 'self'.
 * - img-src 'self' blob: data:: thumbnails are blob: URLs of the user's own
 *   files; the favicon is `data:,`.
 * - style-src 'self': the one stylesheet is a file; React and Recharts set
 *   inline styles through the CSSOM (element.style), which CSP does not block.
 * - object-src, base-uri, form-action 'none'; frame-ancestors 'none' (nobody
 *   may frame the app).
 */
export const CROSS_ORIGIN_ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
} as const;

export type CspDirectives = Readonly<Record<string, readonly string[]>>;

export const APP_CSP_DIRECTIVES: CspDirectives = {
  "default-src": ["'self'"],
  "script-src": ["'self'", "'wasm-unsafe-eval'"],
  "worker-src": ["'self'", "blob:"],
  "connect-src": ["'self'", "https:"],
  "img-src": ["'self'", "blob:", "data:"],
  "style-src": ["'self'"],
  "object-src": ["'none'"],
  "base-uri": ["'none'"],
  "form-action": ["'none'"],
  "frame-ancestors": ["'none'"],
};

/**
 * The dev server's policy: Vite's dev client and React Fast Refresh need an
 * inline module script (the refresh preamble), inline <style> elements (CSS is
 * injected by JS in dev) and a WebSocket back to the server (HMR). Only those
 * are relaxed; where data may go (connect-src) stays as narrow as in
 * production apart from the HMR socket. The production build needs none of it.
 */
export const DEV_CSP_DIRECTIVES: CspDirectives = {
  ...APP_CSP_DIRECTIVES,
  "script-src": [...(APP_CSP_DIRECTIVES["script-src"] ?? []), "'unsafe-inline'"],
  "style-src": [...(APP_CSP_DIRECTIVES["style-src"] ?? []), "'unsafe-inline'"],
  "connect-src": [...(APP_CSP_DIRECTIVES["connect-src"] ?? []), "ws:", "wss:"],
};

/** `{ "default-src": ["'self'"], … }` → `default-src 'self'; …`. */
export function serializeCsp(directives: CspDirectives): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(" "))
    .join("; ");
}

/** Headers for `vite preview` and static hosts. */
export const APP_HEADERS = {
  ...CROSS_ORIGIN_ISOLATION,
  "Content-Security-Policy": serializeCsp(APP_CSP_DIRECTIVES),
} as const;

/** Headers for the dev server (`npm start`, `npm run dev`). */
export const DEV_HEADERS = {
  ...CROSS_ORIGIN_ISOLATION,
  "Content-Security-Policy": serializeCsp(DEV_CSP_DIRECTIVES),
} as const;
