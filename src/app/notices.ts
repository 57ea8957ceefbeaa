/** Notices about the worker itself (crashes, restarts, a lost GPU backend), shown above the panels until dismissed. */
import { create } from "zustand";
import type { BackendInfo, BackendName } from "../vgg16/api";

export type WorkerNotice =
  | { readonly kind: "crashed" | "restarted"; readonly message: string }
  | {
      readonly kind: "backend-lost";
      readonly lost: BackendName;
      /** What the browser said about the loss. */
      readonly message: string;
      /** The backend the model runs on now; null while it is being loaded there. */
      readonly now: BackendInfo | null;
    };

interface NoticeStore {
  readonly notice: WorkerNotice | null;
  crashed(message: string): void;
  restarted(): void;
  backendLost(lost: BackendName, message: string): void;
  /** The model is ready on `backend`: completes a backend-lost notice with where the work goes on. */
  modelReady(backend: BackendInfo): void;
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
  backendLost(lost, message) {
    set({ notice: { kind: "backend-lost", lost, message, now: null } });
  },
  modelReady(backend) {
    const notice = get().notice;
    if (notice?.kind !== "backend-lost" || backend.name === notice.lost) return;
    set({ notice: { ...notice, now: backend } });
  },
  dismiss() {
    set({ notice: null });
  },
}));
