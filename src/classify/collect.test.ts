import { describe, expect, it } from "vitest";
import {
  collectFiles,
  type DropSource,
  dropSources,
  type FsEntryLike,
  fromFileSystemEntry,
  isJunkDirectory,
  isJunkFile,
  pastedFiles,
  type WalkEntry,
} from "./collect";

const file = (name: string, type = "image/jpeg") => new File(["x"], name, { type });

function fakeFile(name: string, fail?: string): WalkEntry {
  return {
    kind: "file",
    name,
    file: async () => {
      if (fail) throw new Error(fail);
      return file(name);
    },
  };
}

function fakeDir(name: string, children: WalkEntry[] | Error): WalkEntry {
  return {
    kind: "directory",
    name,
    children: async () => {
      if (children instanceof Error) throw children;
      return children;
    },
  };
}

describe("junk filter", () => {
  it("knows OS litter", () => {
    for (const name of [".DS_Store", ".ds_store", "Thumbs.db", "desktop.ini", "._IMG_0001.jpg", "Icon\r"]) {
      expect(isJunkFile(name), name).toBe(true);
    }
    for (const name of ["cat.jpg", "notes.txt", ".hidden.png", "DS_Store.png", "thumbs.db.jpg"]) {
      expect(isJunkFile(name), name).toBe(false);
    }
    expect(isJunkDirectory("__MACOSX")).toBe(true);
    expect(isJunkDirectory(".git")).toBe(true);
    expect(isJunkDirectory("photos")).toBe(false);
  });
});

describe("collectFiles", () => {
  it("walks folders recursively in natural order and keeps non-images", async () => {
    const sources: DropSource[] = [
      { kind: "given", file: file("z-first.png") },
      fakeDir("trip", [
        fakeFile("IMG_10.jpg"),
        fakeFile(".DS_Store"),
        fakeDir("beach", [fakeFile("b.jpg"), fakeFile("a.jpg"), fakeFile("._a.jpg")]),
        fakeFile("IMG_2.jpg"),
        fakeFile("notes.txt"),
        fakeDir("__MACOSX", [fakeFile("x.jpg")]),
      ]),
      fakeFile("loose.gif"),
    ];
    const collected = await collectFiles(sources);
    expect(collected.files.map((f) => f.path)).toEqual([
      "z-first.png",
      "trip/beach/a.jpg",
      "trip/beach/b.jpg",
      "trip/IMG_2.jpg",
      "trip/IMG_10.jpg",
      "trip/notes.txt",
      "loose.gif",
    ]);
    expect(collected.files[1]?.file.name).toBe("a.jpg");
    expect(collected.skipped).toBe(3);
    expect(collected.problems).toEqual([]);
  });

  it("keeps junk-named files dropped on their own", async () => {
    const collected = await collectFiles([fakeFile(".DS_Store")]);
    expect(collected.files.map((f) => f.path)).toEqual([".DS_Store"]);
  });

  it("reports unreadable files and folders and goes on", async () => {
    const collected = await collectFiles([
      fakeDir("a", [fakeFile("ok.jpg"), fakeFile("locked.jpg", "NotReadableError")]),
      fakeDir("b", new Error("permission denied")),
    ]);
    expect(collected.files.map((f) => f.path)).toEqual(["a/ok.jpg"]);
    expect(collected.problems).toEqual([
      "Could not read a/locked.jpg: NotReadableError",
      "Could not read the folder b: permission denied",
    ]);
  });
});

/** FileSystemEntry look-alikes with the browser's callback API. */
function fsFile(name: string): FsEntryLike {
  return {
    isFile: true,
    isDirectory: false,
    name,
    file: (ok: (f: File) => void) => setTimeout(() => ok(file(name)), 0),
  } as FsEntryLike;
}

function fsDir(name: string, children: FsEntryLike[], batch = 2): FsEntryLike & { reads: number } {
  const dir = {
    isFile: false,
    isDirectory: true,
    name,
    reads: 0,
    createReader() {
      let offset = 0;
      return {
        readEntries(ok: (entries: FsEntryLike[]) => void) {
          dir.reads++;
          const slice = children.slice(offset, offset + batch);
          offset += slice.length;
          setTimeout(() => ok(slice), 0);
        },
      };
    },
  };
  return dir;
}

describe("fromFileSystemEntry", () => {
  it("reads directories in batches until an empty one", async () => {
    const inner = fsDir("inner", [fsFile("c.jpg")]);
    const root = fsDir("root", [
      fsFile("a.jpg"),
      fsFile("b.jpg"),
      inner,
      fsFile("d.jpg"),
      fsFile(".DS_Store"),
    ]);
    const collected = await collectFiles([fromFileSystemEntry(root)]);
    expect(collected.files.map((f) => f.path)).toEqual([
      "root/a.jpg",
      "root/b.jpg",
      "root/d.jpg",
      "root/inner/c.jpg",
    ]);
    expect(root.reads).toBe(4); // 2 + 2 + 1 + the empty batch
  });
});

describe("dropSources and pastedFiles", () => {
  it("takes files directly and folders as entries", () => {
    const dir = fsDir("photos", []);
    const a = file("a.jpg");
    const sources = dropSources(
      [
        { kind: "file", getAsFile: () => a, webkitGetAsEntry: () => fsFile("a.jpg") },
        { kind: "file", getAsFile: () => null, webkitGetAsEntry: () => dir },
        { kind: "string", getAsFile: () => null },
        { kind: "file", getAsFile: () => file("b.png") },
      ],
      null,
    );
    expect(sources.map((s) => (s.kind === "given" ? `file ${s.file.name}` : `${s.kind} ${s.name}`))).toEqual([
      "file a.jpg",
      "directory photos",
      "file b.png",
    ]);
    expect(dropSources(null, [file("x.jpg")])).toHaveLength(1);
    expect(dropSources([], [])).toEqual([]);
  });

  it("reads pasted files", () => {
    expect(pastedFiles(null, [file("shot.png")]).map((f) => f.name)).toEqual(["shot.png"]);
    const fromItems = pastedFiles(
      [
        { kind: "string", getAsFile: () => null },
        { kind: "file", getAsFile: () => file("image.png") },
      ],
      [],
    );
    expect(fromItems.map((f) => f.name)).toEqual(["image.png"]);
    expect(pastedFiles(null, null)).toEqual([]);
  });
});
