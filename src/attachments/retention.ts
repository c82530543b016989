// protocol.md section 10: stored files are deleted with their conversation's
// retention (attachments.retentionDays, default 90). A periodic job; every
// instance may run it (the DELETE is idempotent), one pass at start, then hourly.
import type { Logger } from "../log.js";
import type { AttachmentRepository } from "../store/index.js";

const ORPHAN_AGE_MS = 3_600_000;

export interface RetentionOptions {
  attachments: () => AttachmentRepository | undefined;
  retentionDays: number;
  log: Logger;
  intervalMs?: number;
  now?: () => Date;
  /** Told the bytes still stored after each pass (the attachments_stored_bytes gauge). */
  onBytes?: (bytes: number) => void;
}

/** Runs one pass; returns how many files it deleted. */
export async function expireAttachments(opts: RetentionOptions): Promise<number> {
  const repo = opts.attachments();
  if (!repo) return 0;
  const now = opts.now?.() ?? new Date();
  const deleted = await repo.deleteOlderThan(new Date(now.getTime() - opts.retentionDays * 86_400_000));
  if (deleted > 0) opts.log.info({ deleted, retentionDays: opts.retentionDays }, "attachments past retention deleted");
  // Directory storage: files no row names (written just before a crash, or their conversation deleted); an hour old, so none being stored now.
  const orphans = await repo.sweepOrphans(new Date(now.getTime() - ORPHAN_AGE_MS));
  if (orphans > 0) opts.log.info({ orphans }, "attachment files without a row removed");
  opts.onBytes?.(await repo.totalBytes());
  return deleted;
}

/** Starts the periodic job; the function it returns stops it. */
export function startAttachmentRetention(opts: RetentionOptions): () => void {
  const pass = () => void expireAttachments(opts).catch((err: unknown) => opts.log.warn({ err }, "attachment retention pass failed"));
  pass();
  const timer = setInterval(pass, opts.intervalMs ?? 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
