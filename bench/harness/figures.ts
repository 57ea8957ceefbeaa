/**
 * Pure arithmetic of the bench page: medians and the training figures
 * (seconds per epoch, the 20-epoch projection) from epoch and batch timings.
 */
import type { TrainFigures } from "./result";

/** The median of a non-empty list (mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** When batches ended: enough to project s/epoch from a partial epoch. */
export interface BatchClock {
  count: number;
  /** performance.now() at the end of the first and of the last batch (null before any). */
  firstEndMs: number | null;
  lastEndMs: number | null;
}

export function newBatchClock(): BatchClock {
  return { count: 0, firstEndMs: null, lastEndMs: null };
}

export function tick(clock: BatchClock, now: number): void {
  clock.count++;
  clock.firstEndMs ??= now;
  clock.lastEndMs = now;
}

/**
 * Seconds per epoch: the median whole epoch; without one, projected from the batches after the first (their
 * mean time × batches per epoch, so set-up and the first batch's warm-up do not count). The 20-epoch figure is
 * measured when 20 epochs ran, else the whole epochs run plus the per-epoch figure for the rest.
 */
export function trainFigures(
  epochSeconds: readonly number[],
  clock: BatchClock,
  batchesPerEpoch: number,
  totalS: number,
  stoppedByBudget: boolean,
  finalLoss: number | null,
  step: string | null,
): TrainFigures {
  const fromBatches =
    clock.count >= 2 && clock.firstEndMs !== null && clock.lastEndMs !== null
      ? ((clock.lastEndMs - clock.firstEndMs) / 1000 / (clock.count - 1)) * batchesPerEpoch
      : null;
  const perEpoch = median(epochSeconds) ?? fromBatches;
  const done = epochSeconds.length;
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const projected =
    done >= 20
      ? sum(epochSeconds.slice(0, 20))
      : perEpoch === null
        ? null
        : sum(epochSeconds) + (20 - done) * perEpoch;
  return {
    s_per_epoch: perEpoch,
    epochs_run: done,
    batches_run: clock.count,
    batches_per_epoch: batchesPerEpoch,
    epoch_s: [...epochSeconds],
    total_s: totalS,
    projected_20_epochs_s: projected,
    stopped_by_budget: stoppedByBudget,
    final_loss: finalLoss,
    step,
  };
}

/**
 * Untimed warm-up until the machine is steady: runs `run` (which returns its ms) until two consecutive runs
 * agree within `tolerance` (10%), at most `maxRuns` times. `previous` is a run already made (e.g. the first
 * classification after loading). Measured: right after building its models the bench worker's first
 * classifications ran 1.5–2.5× slow for ~15 s on 1 thread, then steady. Returns the ms of the runs made here.
 */
export async function settle(
  run: () => Promise<number>,
  options: { previous?: number | null; tolerance?: number; maxRuns?: number } = {},
): Promise<number[]> {
  const tolerance = options.tolerance ?? 0.1;
  const maxRuns = options.maxRuns ?? 8;
  const times: number[] = [];
  let last = options.previous ?? null;
  while (times.length < maxRuns) {
    const ms = await run();
    times.push(ms);
    if (last !== null && Math.abs(ms - last) <= tolerance * last) break;
    last = ms;
  }
  return times;
}
