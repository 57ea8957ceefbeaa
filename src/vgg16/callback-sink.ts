/** Calling Comlink-proxied callbacks from the worker. */
import * as Comlink from "comlink";

/** Calls a Comlink-proxied callback; collects the message promises so a call can wait for them before returning. */
export function callbackSink<T>(callback: (value: T) => unknown) {
  const pending: Promise<unknown>[] = [];
  return {
    send(value: T): void {
      pending.push(Promise.resolve(callback(value)).catch(() => undefined));
    },
    async flush(): Promise<void> {
      await Promise.all(pending.splice(0));
    },
    release(): void {
      const release = (callback as unknown as { [Comlink.releaseProxy]?: () => void })[Comlink.releaseProxy];
      try {
        release?.call(callback);
      } catch {
        // not a proxy, or already released
      }
    },
  };
}
