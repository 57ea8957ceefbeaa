/**
 * A warm-up that runs only if nothing else does its work first: `start`
 * schedules it `delayMs` later; `claim()` (a job that runs the model anyway)
 * or `cancel()` (the model is replaced) before then means it never runs.
 * Used for the WASM runner, which is ready without a warm-up (worker.ts).
 */
export class IdleWarmUp {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private settled = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly delayMs: number,
  ) {}

  start(): void {
    if (this.settled || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.settled) return;
      this.settled = true;
      this.run().catch(() => {
        // Whatever failed fails the first job too, which reports it.
      });
    }, this.delayMs);
  }

  /** A job runs the model now: it pays the first-call costs, so no warm-up is needed. */
  claim(): void {
    this.cancel();
  }

  cancel(): void {
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
