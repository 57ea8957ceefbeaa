/**
 * Serves converted models under `/models/` from a folder outside the build,
 * in both `vite` (dev) and `vite preview`, so a 500+ MB model never has to be
 * copied into `dist/` to be tried locally, and the e2e tests can point the
 * preview server at their own model folder (`VGG16_MODELS_DIR`).
 *
 * A missing file is a real 404 (never the SPA's index.html), paths cannot
 * leave the folder (no `..`, no hidden files such as writeModelDir's temp
 * folders, no symlinks out), and every response carries
 * `Cross-Origin-Resource-Policy: same-origin` so it loads under COEP
 * `require-corp`.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import type { Connect, Plugin } from "vite";

export const MODELS_URL_PREFIX = "/models/";
export const DEFAULT_MODELS_DIR = "public/models";

export interface ServeModelsOptions {
  /** Folder to serve; relative paths resolve from the Vite root. Default: $VGG16_MODELS_DIR or public/models. */
  readonly dir?: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".json": "application/json; charset=utf-8",
  ".bin": "application/octet-stream",
  ".txt": "text/plain; charset=utf-8",
};

function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

function sendText(
  res: ServerResponse,
  status: number,
  message: string,
  extra: Record<string, string> = {},
): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    ...extra,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/**
 * Maps the part of the URL after `/models/` to a file inside `root`, or null
 * when it is malformed or would leave the folder. Pure; exported for tests.
 */
export function resolveModelPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const segments = decoded.split("/").filter((s) => s !== "");
  if (segments.length === 0) return null;
  // Rejects "." and ".." as well as hidden files and temp folders.
  if (segments.some((s) => s.startsWith("."))) return null;
  const base = resolve(root);
  const full = resolve(base, ...segments);
  return full.startsWith(base + sep) ? full : null;
}

export function createModelsMiddleware(
  root: string,
  prefix: string = MODELS_URL_PREFIX,
): Connect.NextHandleFunction {
  const base = resolve(root);
  return (req: IncomingMessage, res: ServerResponse, next: Connect.NextFunction): void => {
    const url = req.url ?? "/";
    if (!url.startsWith(prefix)) {
      next();
      return;
    }
    serve(base, url.slice(prefix.length), req, res).catch((error: unknown) => {
      if (!res.headersSent) sendText(res, 500, `Could not read model file: ${String(error)}`);
      else res.destroy();
    });
  };
}

async function serve(base: string, rest: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendText(res, 405, "Method not allowed", { Allow: "GET, HEAD" });
    return;
  }
  const pathPart = rest.split(/[?#]/, 1)[0] ?? "";
  const path = resolveModelPath(base, pathPart);
  const notFound = () => sendText(res, 404, `Not found: ${req.url ?? pathPart}`);
  if (path === null) {
    notFound();
    return;
  }
  let real: string;
  let realBase: string;
  try {
    [real, realBase] = await Promise.all([realpath(path), realpath(base)]);
  } catch {
    notFound(); // missing file, or the models folder itself is missing
    return;
  }
  if (!real.startsWith(realBase + sep)) {
    notFound(); // a symlink pointing out of the folder
    return;
  }
  const info = await stat(real);
  if (!info.isFile()) {
    notFound();
    return;
  }
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const headers: Record<string, string> = {
    "Content-Type": contentTypeFor(real),
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
    ETag: etag,
    "Last-Modified": info.mtime.toUTCString(),
  };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, "Content-Length": String(info.size) });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(real);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

/** The models folder a config should serve: explicit option, then $VGG16_MODELS_DIR, then public/models. */
export function modelsDir(root: string, dir?: string): string {
  return resolve(root, dir ?? process.env.VGG16_MODELS_DIR ?? DEFAULT_MODELS_DIR);
}

export function serveModels(options: ServeModelsOptions = {}): Plugin {
  let dir = modelsDir(process.cwd(), options.dir);
  let prefix = MODELS_URL_PREFIX;
  return {
    name: "vgg16:serve-models",
    configResolved(config) {
      dir = modelsDir(config.root, options.dir);
      // `models/` under the app's base, as the app fetches it (BASE_URL).
      if (config.base.startsWith("/")) prefix = `${config.base.replace(/\/?$/, "/")}models/`;
    },
    // Registered directly (no returned post-hook) so it runs before Vite's
    // static files and SPA fallback.
    configureServer(server) {
      server.middlewares.use(createModelsMiddleware(dir, prefix));
    },
    configurePreviewServer(server) {
      server.middlewares.use(createModelsMiddleware(dir, prefix));
    },
  };
}
