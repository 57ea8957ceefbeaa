/** Notices about the worker itself (crashes, restarts), shown above the panels until dismissed. */
import { create } from "zustand";

export interface WorkerNotice {
  readonly kind: "crashed" | "restarted";
  readonly message: string;
}

interface NoticeStore {
  readonly notice: WorkerNotice | null;
  crashed(message: string): void;
  restarted(): void;
  dismiss(): void;
}

export const useNotices = create<NoticeStore>()((set, get) => ({
  notice: null,
  crashed(message) {
    set({ notice: { kind: "crashed", message } });
  },
  restarted() {
    const crash = get().notice;
    const why = crash?.kind === "crashed" && crash.message ? ` (${crash.message})` : "";
    set({ notice: { kind: "restarted", message: why } });
  },
  dismiss() {
    set({ notice: null });
  },
}));
