/**
 * `npm test`: every check in one command, with one summary line.
 *   1. Biome (format + lint)        — counted as one check
 *   2. TypeScript (tsc -b)          — one check
 *   3. Vitest (unit + Node model tests, including the full-size parity test)
 *   4. Playwright e2e in Debian Chromium against the production build
 * Ends with `N passed, N failed, N skipped` summed over all suites, and exits
 * non-zero if anything failed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./weights/paths";

interface SuiteResult {
  readonly name: string;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly seconds: number;
}

const results: SuiteResult[] = [];
const RESULTS_DIR = join(REPO_ROOT, "test-results");
mkdirSync(RESULTS_DIR, { recursive: true });

function run(command: string, args: string[]): { ok: boolean; seconds: number } {
  const started = performance.now();
  console.log(`\n▶ ${command} ${args.join(" ")}`);
  const r = spawnSync(command, args, { cwd: REPO_ROOT, stdio: "inherit", env: process.env });
  return { ok: r.status === 0, seconds: (performance.now() - started) / 1000 };
}

function check(name: string, command: string, args: string[]): void {
  const { ok, seconds } = run(command, args);
  results.push({ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, seconds });
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return null;
  }
}

check("biome", "npx", ["biome", "check", "."]);
check("typescript", "npx", ["tsc", "-b"]);

{
  const report = join(RESULTS_DIR, "vitest.json");
  const { ok, seconds } = run("npx", [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
  ]);
  const json = readJson<{
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  }>(report);
  results.push({
    name: "vitest",
    passed: json?.numPassedTests ?? 0,
    // A crash before the report counts as a failure, never as "0 failed".
    failed: json ? json.numFailedTests + (ok || json.numFailedTests > 0 ? 0 : 1) : 1,
    skipped: (json?.numPendingTests ?? 0) + (json?.numTodoTests ?? 0),
    seconds,
  });
}

{
  const prepared = run("npx", ["tsx", "tools/e2e-prepare.ts"]);
  if (!prepared.ok) {
    results.push({ name: "e2e (prepare)", passed: 0, failed: 1, skipped: 0, seconds: prepared.seconds });
  } else {
    const report = join(RESULTS_DIR, "results.json");
    const { ok, seconds } = run("npx", ["playwright", "test"]);
    const json = existsSync(report)
      ? readJson<{ stats: { expected: number; unexpected: number; skipped: number; flaky: number } }>(report)
      : null;
    const s = json?.stats;
    results.push({
      name: "playwright",
      passed: (s?.expected ?? 0) + (s?.flaky ?? 0),
      failed: s ? s.unexpected + (ok || s.unexpected > 0 ? 0 : 1) : 1,
      skipped: s?.skipped ?? 0,
      seconds: seconds + prepared.seconds,
    });
  }
}

console.log("\nsuite        passed  failed  skipped  seconds");
for (const r of results) {
  console.log(
    `${r.name.padEnd(12)} ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.skipped).padStart(7)}  ${r.seconds.toFixed(0).padStart(7)}`,
  );
}
const total = (key: "passed" | "failed" | "skipped") => results.reduce((sum, r) => sum + r[key], 0);
console.log(`${total("passed")} passed, ${total("failed")} failed, ${total("skipped")} skipped`);
process.exit(total("failed") > 0 ? 1 : 0);
