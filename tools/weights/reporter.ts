/**
 * Terminal progress for the weights commands: cli-progress bars with MB/s and
 * ETA on a TTY, periodic plain lines otherwise (CI logs).
 */
import { MultiBar, Presets } from "cli-progress";
import type { Reporter } from "./commands";

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export /** Progress bars on a terminal; periodic plain lines otherwise (CI logs). */
function terminalReporter(): Reporter & { stop(): void } {
  const bars = new MultiBar(
    {
      format: " {file} |{bar}| {percentage}% | {done}/{size} MB | {speed} MB/s | ETA {eta_formatted}",
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const downloads = new Map<string, { bar: ReturnType<MultiBar["create"]>; start: number }>();
  let layerBar: ReturnType<MultiBar["create"]> | null = null;
  return {
    info: (message) => bars.log(`${message}\n`),
    layer: (name, index, count) => {
      layerBar ??= bars.create(count, 0, { file: "layers", done: 0, size: count, speed: "-" });
      layerBar.update(index + 1, { file: `layers (${name})`.padEnd(28), done: index + 1, size: count });
      if (index + 1 === count) {
        layerBar.stop();
        layerBar = null;
      }
    },
    download: (file, p, done) => {
      let entry = downloads.get(file);
      const total = p.total ?? p.received;
      if (!entry) {
        entry = {
          bar: bars.create(total, p.resumedFrom, { file, done: mb(0), size: mb(total), speed: "0" }),
          start: Date.now(),
        };
        downloads.set(file, entry);
      }
      const seconds = Math.max(0.001, (Date.now() - entry.start) / 1000);
      entry.bar.setTotal(total);
      entry.bar.update(p.received, {
        done: mb(p.received),
        size: mb(total),
        speed: ((p.received - p.resumedFrom) / 1e6 / seconds).toFixed(1),
      });
      if (done) entry.bar.stop();
    },
    stop: () => bars.stop(),
  };
}
