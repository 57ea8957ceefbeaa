import { useNotices } from "./notices";

/** "The worker crashed and was restarted", dismissible. */
export function WorkerNoticeBar() {
  const notice = useNotices((s) => s.notice);
  const dismiss = useNotices((s) => s.dismiss);
  if (!notice) return null;
  return (
    <div role="alert" className="notice">
      <p>
        {notice.kind === "crashed"
          ? `The model's worker crashed${notice.message ? ` (${notice.message})` : ""}. Restarting it…`
          : `The model's worker crashed${notice.message} and was restarted: the model is loaded again and unfinished images are classified again.`}
      </p>
      <button type="button" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}
