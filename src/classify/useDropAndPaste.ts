import { useEffect, useRef, useState } from "react";
import { type Collected, collectFiles, dropSources, pastedFiles } from "./collect";

function carriesFiles(event: DragEvent): boolean {
  const types = event.dataTransfer?.types;
  return !!types && Array.from(types).includes("Files");
}

/**
 * Accepts files and folders dropped anywhere on the page and image files
 * pasted from the clipboard. Returns whether files are being dragged over
 * the page (for the drop overlay).
 */
export function useDropAndPaste(onFiles: (collected: Collected) => void): boolean {
  const [dragging, setDragging] = useState(false);
  const handler = useRef(onFiles);
  handler.current = onFiles;

  useEffect(() => {
    let depth = 0;
    const enter = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth++;
      setDragging(true);
    };
    const over = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    };
    const leave = (event: DragEvent) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const drop = (event: DragEvent) => {
      depth = 0;
      setDragging(false);
      if (!carriesFiles(event) || !event.dataTransfer) return;
      event.preventDefault();
      // Entries must be taken now: the DataTransfer is emptied when this handler returns.
      const sources = dropSources(event.dataTransfer.items, event.dataTransfer.files);
      void collectFiles(sources).then((collected) => handler.current(collected));
    };
    const paste = (event: ClipboardEvent) => {
      const data = event.clipboardData;
      const files = pastedFiles(data?.items ?? null, data?.files ?? null);
      if (files.length === 0) return;
      event.preventDefault();
      handler.current({ files: files.map((file) => ({ file, path: file.name })), problems: [], skipped: 0 });
    };
    window.addEventListener("dragenter", enter);
    window.addEventListener("dragover", over);
    window.addEventListener("dragleave", leave);
    window.addEventListener("drop", drop);
    document.addEventListener("paste", paste);
    return () => {
      window.removeEventListener("dragenter", enter);
      window.removeEventListener("dragover", over);
      window.removeEventListener("dragleave", leave);
      window.removeEventListener("drop", drop);
      document.removeEventListener("paste", paste);
    };
  }, []);

  return dragging;
}
