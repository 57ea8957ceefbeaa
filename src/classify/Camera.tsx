import { useCallback, useEffect, useRef, useState } from "react";

type CameraState =
  | { readonly phase: "closed" }
  | { readonly phase: "starting" }
  | { readonly phase: "live"; readonly stream: MediaStream }
  | { readonly phase: "error"; readonly message: string };

export function cameraSupported(): boolean {
  return typeof navigator !== "undefined" && typeof navigator.mediaDevices?.getUserMedia === "function";
}

function cameraError(error: unknown): string {
  const name = error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was not allowed.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found.";
    case "NotReadableError":
      return "The camera is in use by another application.";
    default:
      return `The camera could not be started${error instanceof Error && error.message ? ` (${error.message})` : ""}.`;
  }
}

function stamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** Grabs the video's current frame as a JPEG file. */
function captureFrame(video: HTMLVideoElement): Promise<File | null> {
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!width || !height) return Promise.resolve(null);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return Promise.resolve(null);
  context.drawImage(video, 0, 0, width, height);
  return new Promise((resolve) =>
    canvas.toBlob(
      (blob) =>
        resolve(blob ? new File([blob], `photo-${stamp(new Date())}.jpg`, { type: "image/jpeg" }) : null),
      "image/jpeg",
      0.92,
    ),
  );
}

/**
 * "Take a photo": asks for the camera (only when the user clicks), shows a
 * live preview with Capture and Close, and hands each captured frame on as a
 * JPEG file. Absent where the browser has no camera API.
 */
export function Camera({ onPhoto }: { readonly onPhoto: (file: File) => void }) {
  const [state, setState] = useState<CameraState>({ phase: "closed" });
  const [note, setNote] = useState("");
  const videoRef = useRef<HTMLVideoElement>(null);
  const streamRef = useRef<MediaStream | null>(null);
  const captureRef = useRef<HTMLButtonElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);

  const stopStream = useCallback(() => {
    for (const track of streamRef.current?.getTracks() ?? []) track.stop();
    streamRef.current = null;
  }, []);

  useEffect(() => stopStream, [stopStream]);

  // Back to the opener once it is enabled again (focus() on a disabled button does nothing).
  const returnFocus = useRef(false);
  useEffect(() => {
    if (state.phase === "closed" && returnFocus.current) {
      returnFocus.current = false;
      openerRef.current?.focus();
    }
  }, [state]);

  useEffect(() => {
    if (state.phase !== "live" || !videoRef.current) return;
    videoRef.current.srcObject = state.stream;
    void videoRef.current.play().catch(() => undefined);
    captureRef.current?.focus();
  }, [state]);

  if (!cameraSupported()) return null;

  async function open() {
    setNote("");
    setState({ phase: "starting" });
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 960 } },
        audio: false,
      });
      stopStream();
      streamRef.current = stream;
      setState({ phase: "live", stream });
    } catch (error) {
      setState({ phase: "error", message: cameraError(error) });
    }
  }

  function close() {
    stopStream();
    if (videoRef.current) videoRef.current.srcObject = null;
    returnFocus.current = true;
    setState({ phase: "closed" });
  }

  async function capture() {
    const video = videoRef.current;
    const file = video ? await captureFrame(video) : null;
    if (!file) {
      setNote("No picture yet: the camera has not sent a frame. Try again in a moment.");
      return;
    }
    setNote(`Added ${file.name}.`);
    onPhoto(file);
  }

  return (
    <div className="camera">
      <button
        ref={openerRef}
        type="button"
        onClick={() => void open()}
        disabled={state.phase === "starting" || state.phase === "live"}
      >
        Take a photo
      </button>
      {state.phase === "live" && (
        <div className="camera__live">
          <video ref={videoRef} className="camera__video" muted playsInline aria-label="Camera preview" />
          <div className="camera__buttons">
            <button ref={captureRef} type="button" className="primary" onClick={() => void capture()}>
              Capture
            </button>
            <button type="button" onClick={close}>
              Close camera
            </button>
          </div>
        </div>
      )}
      <span className="camera__note muted" aria-live="polite">
        {state.phase === "starting" && "Asking for the camera…"}
        {state.phase === "error" && state.message}
        {state.phase === "live" && note}
      </span>
    </div>
  );
}
