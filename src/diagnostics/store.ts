/**
 * What the worker reports about itself: its environment's capabilities, the
 * backend in use, and TF.js memory (tensor count and bytes), refreshed after
 * every model load and every classify job.
 */
import { create } from "zustand";
import { errorMessage, type Vgg16Port } from "../app/client-port";
import type { BackendInfo, Capabilities, MemoryInfo, Vgg16Engine } from "../vgg16/api";

interface DiagnosticsStore {
  readonly capabilities: Capabilities | null;
  readonly backend: BackendInfo | null;
  readonly engine: Vgg16Engine | null;
  readonly memory: MemoryInfo | null;
  /** Date.now() of the last memory reading. */
  readonly updatedAt: number | null;
  readonly error: string | null;
  setBackend(backend: BackendInfo | null, engine?: Vgg16Engine | null): void;
  /** Reads capabilities once (they do not change while the page lives). */
  loadCapabilities(): Promise<void>;
  /** Reads tensor count and bytes now. */
  refresh(): Promise<void>;
}

let client: Vgg16Port | null = null;

export function connectDiagnosticsClient(port: Vgg16Port | null): void {
  client = port;
}

let reading: Promise<void> | null = null;

export const useDiagnostics = create<DiagnosticsStore>()((set, get) => ({
  capabilities: null,
  backend: null,
  engine: null,
  memory: null,
  updatedAt: null,
  error: null,

  setBackend(backend, engine = null) {
    set({ backend, engine });
  },

  async loadCapabilities() {
    if (!client || get().capabilities) return;
    try {
      set({ capabilities: await client.capabilities() });
    } catch (error) {
      set({ error: `Could not read the capabilities: ${errorMessage(error)}` });
    }
  },

  async refresh() {
    if (!client) return;
    // One reading at a time; a request during one waits for it and reads again.
    const port = client;
    const previous = reading;
    const next = (async () => {
      await previous?.catch(() => undefined);
      try {
        const memory = await port.memory();
        set({ memory, updatedAt: Date.now(), error: null });
      } catch (error) {
        set({ error: `Could not read TF.js memory: ${errorMessage(error)}` });
      }
    })();
    reading = next;
    await next;
    if (reading === next) reading = null;
  },
}));
