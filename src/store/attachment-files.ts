// The bytes of stored attachments in a directory (config attachments.storage
// "directory", attachments.directory), while their rows (conversation, size,
// type, sha256) stay in the database (src/store/attachments.ts). A file is
// written under a temporary name and renamed, so a reader never sees half of
// one; its name is the attachment's id, in a subdirectory of the id's first
// two characters, so no directory grows past a few thousand entries.
import { randomUUID } from "node:crypto";
import { mkdir, readFile, readdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";

export interface AttachmentFiles {
  /** Writes the bytes of attachment `id`; returns the path stored in its row (relative to the directory). */
  write(id: string, content: Buffer): Promise<string>;
  /** The bytes at a row's path; null when the file is gone. */
  read(path: string): Promise<Buffer | null>;
  /** Removes files (rows deleted); one already gone is no error. */
  remove(paths: readonly string[]): Promise<void>;
  /** Files (relative paths) last changed before `before`: the orphan sweep compares them with the rows. */
  listOlderThan(before: Date): Promise<string[]>;
}

/** Ids are the router's own UUIDs; anything else would let a name climb out of the directory. */
const SAFE_ID = /^[A-Za-z0-9-]{8,64}$/;
const TEMP_SUFFIX = ".part";

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

export function attachmentFiles(directory: string): AttachmentFiles {
  const root = resolve(directory);
  /** The absolute path of a stored relative one, refused when it leaves the directory. */
  const absolute = (path: string): string => {
    const full = resolve(root, path);
    if (full !== root && !full.startsWith(root + sep)) throw new Error(`attachment path ${path} is outside ${root}`);
    return full;
  };
  return {
    async write(id, content) {
      if (!SAFE_ID.test(id)) throw new Error(`attachment id ${JSON.stringify(id)} cannot be a file name`);
      const path = join(id.slice(0, 2), id);
      const full = absolute(path);
      await mkdir(dirname(full), { recursive: true, mode: 0o750 });
      const temp = `${full}.${randomUUID()}${TEMP_SUFFIX}`;
      await writeFile(temp, content, { mode: 0o640, flush: true });
      await rename(temp, full);
      return path;
    },
    async read(path) {
      try {
        return await readFile(absolute(path));
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    },
    async remove(paths) {
      for (const p of paths) {
        await unlink(absolute(p)).catch((err: unknown) => {
          if (!isMissing(err)) throw err;
        });
      }
    },
    async listOlderThan(before) {
      const out: string[] = [];
      let dirs;
      try {
        dirs = await readdir(root, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return out;
        throw err;
      }
      for (const d of dirs) {
        if (!d.isDirectory()) continue;
        for (const name of await readdir(join(root, d.name))) {
          const full = join(root, d.name, name);
          const s = await stat(full).catch(() => null);
          if (s?.isFile() && s.mtime < before) out.push(relative(root, full));
        }
      }
      return out;
    },
  };
}
