/**
 * Turns what the user dropped, pasted or picked into a flat list of files.
 *
 * Folders come from DataTransferItem.webkitGetAsEntry(); walking them is
 * hidden behind the tiny {@link WalkEntry} interface so the walk is unit-tested
 * with fakes, and {@link fromFileSystemEntry} adapts the browser's callback API
 * (including readEntries' batches of at most 100 children) to it.
 *
 * Everything found inside folders is kept, images or not (the worker says
 * which it cannot decode, and the UI shows that as an error card), except
 * operating-system junk such as .DS_Store.
 */

export type WalkEntry =
  | { readonly kind: "file"; readonly name: string; file(): Promise<File> }
  | { readonly kind: "directory"; readonly name: string; children(): Promise<readonly WalkEntry[]> };

/** One top-level thing dropped: a file the browser already handed over, or a folder to walk. */
export type DropSource = { readonly kind: "given"; readonly file: File } | WalkEntry;

export interface CollectedFile {
  readonly file: File;
  /** Path inside what was dropped, e.g. "holiday/beach/IMG_0001.jpg"; just the name at top level. */
  readonly path: string;
}

export interface Collected {
  readonly files: CollectedFile[];
  /** Folders or files that could not be read, with why. */
  readonly problems: string[];
  /** How many junk files were left out. */
  readonly skipped: number;
}

const JUNK_FILES = new Set([".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".localized", "icon\r"]);
const JUNK_DIRECTORIES = new Set([
  "__macosx",
  ".git",
  ".svn",
  ".hg",
  ".trashes",
  ".spotlight-v100",
  ".fseventsd",
]);

/** Operating-system and version-control litter that is never meant to be classified. */
export function isJunkFile(name: string): boolean {
  const lower = name.toLowerCase();
  return JUNK_FILES.has(lower) || lower.startsWith("._");
}

export function isJunkDirectory(name: string): boolean {
  return JUNK_DIRECTORIES.has(name.toLowerCase());
}

const byName = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/**
 * Flattens dropped files and folders, depth first; the children of each folder
 * in natural name order (IMG_2 before IMG_10), top-level items in drop order.
 * Junk is left out only inside folders: a file dropped on its own is kept.
 */
export async function collectFiles(sources: readonly DropSource[]): Promise<Collected> {
  const files: CollectedFile[] = [];
  const problems: string[] = [];
  let skipped = 0;

  async function walk(entry: WalkEntry, prefix: string, nested: boolean): Promise<void> {
    const path = `${prefix}${entry.name}`;
    if (entry.kind === "file") {
      if (nested && isJunkFile(entry.name)) {
        skipped++;
        return;
      }
      try {
        files.push({ file: await entry.file(), path });
      } catch (error) {
        problems.push(`Could not read ${path}: ${reasonOf(error)}`);
      }
      return;
    }
    if (isJunkDirectory(entry.name)) {
      skipped++;
      return;
    }
    let children: readonly WalkEntry[];
    try {
      children = await entry.children();
    } catch (error) {
      problems.push(`Could not read the folder ${path}: ${reasonOf(error)}`);
      return;
    }
    const sorted = [...children].sort((a, b) => byName.compare(a.name, b.name));
    for (const child of sorted) await walk(child, `${path}/`, true);
  }

  for (const source of sources) {
    if (source.kind === "given") files.push({ file: source.file, path: source.file.name });
    else await walk(source, "", false);
  }
  return { files, problems, skipped };
}

/** The parts of the browser's FileSystemEntry API that the walk uses. */
export interface FsEntryLike {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
}
interface FsFileEntryLike extends FsEntryLike {
  file(success: (file: File) => void, failure?: (error: unknown) => void): void;
}
interface FsDirectoryEntryLike extends FsEntryLike {
  createReader(): {
    readEntries(success: (entries: FsEntryLike[]) => void, failure?: (error: unknown) => void): void;
  };
}

/** Adapts a FileSystemEntry (or anything shaped like one) to a {@link WalkEntry}. */
export function fromFileSystemEntry(entry: FsEntryLike): WalkEntry {
  if (entry.isDirectory) {
    const directory = entry as FsDirectoryEntryLike;
    return {
      kind: "directory",
      name: entry.name,
      async children() {
        const reader = directory.createReader();
        const all: FsEntryLike[] = [];
        // readEntries returns the children in batches (Chromium: 100) until an empty one.
        for (;;) {
          const batch = await new Promise<FsEntryLike[]>((resolve, reject) =>
            reader.readEntries(resolve, reject),
          );
          if (batch.length === 0) break;
          all.push(...batch);
        }
        return all.map(fromFileSystemEntry);
      },
    };
  }
  const fileEntry = entry as FsFileEntryLike;
  return {
    kind: "file",
    name: entry.name,
    file: () => new Promise<File>((resolve, reject) => fileEntry.file(resolve, reject)),
  };
}

/** The parts of DataTransferItem used here. */
export interface TransferItemLike {
  readonly kind: string;
  getAsFile(): File | null;
  webkitGetAsEntry?(): FsEntryLike | null;
}

/**
 * Reads a drop's items. Must run synchronously inside the drop event: the
 * browser empties the DataTransfer once the handler returns. Folders become
 * entries to walk later; files are taken as File objects right away (that also
 * works for DataTransfers built by scripts, whose entries cannot be read).
 */
export function dropSources(
  items: ArrayLike<TransferItemLike> | null,
  files: ArrayLike<File> | null,
): DropSource[] {
  const sources: DropSource[] = [];
  if (items && items.length > 0) {
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item?.kind !== "file") continue;
      const entry = item.webkitGetAsEntry?.() ?? null;
      if (entry?.isDirectory) {
        sources.push(fromFileSystemEntry(entry));
        continue;
      }
      const file = item.getAsFile();
      if (file) sources.push({ kind: "given", file });
    }
    return sources;
  }
  if (files) {
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      if (file) sources.push({ kind: "given", file });
    }
  }
  return sources;
}

/** Files from a paste event's clipboard data (screenshots, copied image files). */
export function pastedFiles(
  items: ArrayLike<TransferItemLike> | null,
  files: ArrayLike<File> | null,
): File[] {
  const result: File[] = [];
  if (files && files.length > 0) {
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      if (file) result.push(file);
    }
    return result;
  }
  if (items) {
    for (let i = 0; i < items.length; i++) {
      const file = items[i]?.kind === "file" ? items[i]?.getAsFile() : null;
      if (file) result.push(file);
    }
  }
  return result;
}
