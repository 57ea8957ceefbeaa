/**
 * SVG drawings are classified as the browser shows them: a worker cannot decode SVG (createImageBitmap
 * refuses it there, and there is no <img> in a worker), so the main thread draws the SVG into a canvas
 * once, on a white background as a page shows it, and sends that PNG instead. The long side is
 * SVG_RASTER_SIDE pixels (vectors have no pixel size of their own; more than VGG16's 224 keeps edges
 * clean after its resize), so a drawing with a huge declared size costs no more than a small one.
 */
export const SVG_RASTER_SIDE = 512;

export function isSvg(blob: Blob, name: string): boolean {
  return blob.type === "image/svg+xml" || /\.svg$/i.test(name);
}

/** The raster size for a drawing of intrinsic size width × height (0: none given, as in 300 × 150). */
export function rasterSize(width: number, height: number): { width: number; height: number } {
  const w = width > 0 ? width : 300;
  const h = height > 0 ? height : 150;
  const scale = SVG_RASTER_SIDE / Math.max(w, h);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/** The drawing as a PNG; rejects when the browser cannot render it (the worker then says why). */
export async function rasterizeSvg(blob: Blob): Promise<Blob> {
  const svg = blob.type === "image/svg+xml" ? blob : new Blob([blob], { type: "image/svg+xml" });
  const url = URL.createObjectURL(svg);
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const { width, height } = rasterSize(image.naturalWidth, image.naturalHeight);
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    if (!context) throw new Error("no 2D canvas");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, width, height);
    context.drawImage(image, 0, 0, width, height);
    return await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob(
        (png) => (png ? resolve(png) : reject(new Error("the drawing could not be rendered"))),
        "image/png",
      ),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}
