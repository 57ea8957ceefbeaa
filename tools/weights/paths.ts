import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Where the app looks for models by default (git-ignored). */
export function defaultModelDir(includeTop: boolean): string {
  return join(REPO_ROOT, "public", "models", includeTop ? "vgg16" : "vgg16-notop");
}

/** Keras' own download cache (KERAS_HOME or ~/.keras, subfolder models), so files Keras fetched are reused. */
export function kerasCacheDir(): string {
  const home = process.env.KERAS_HOME ?? join(homedir(), ".keras");
  return join(home, "models");
}
