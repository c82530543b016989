// Both storages of attachments (config attachments.storage, docs/attachments.md)
// behind one repository, on a real PGlite and a real directory: the row keeps
// size, type and sha256 in both; "directory" keeps the bytes in a file that
// retention and the admin delete remove with the row.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expireAttachments } from "../../../src/attachments/retention.js";
import { attachmentFiles, openStore, type AttachmentStorage, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const dir = mkdtempSync(join(tmpdir(), "eime-attachments-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string) => Buffer.from(s, "utf8");
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** Every file under the directory, relative. */
const filesOnDisk = () =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
    : [];

describe.each<{ name: string; storage: () => AttachmentStorage }>([
  { name: "database", storage: () => ({ kind: "database" }) },
  { name: "directory", storage: () => ({ kind: "directory", files: attachmentFiles(dir) }) },
])("attachments stored in the $name", ({ name, storage }) => {
  let store: Store;
  let conversationId: string;
  let other: string;

  beforeAll(async () => {
    store = await openStore(pgliteConfig(), silentLogging(), undefined, { attachments: storage() });
    const open = (jid: string) =>
      store.conversations.create({
        userJid: jid,
        msisdn: null,
        channel: "supporto",
        chatTitle: "Supporto",
        addressing: { kind: "channel" },
        apiVersion: "2",
        lang: "it",
      });
    conversationId = (await open("anna@localhost")).id;
    other = (await open("bruno@localhost")).id;
  });
  afterAll(async () => {
    await store?.close();
  });

  const put = (key: string, content: Buffer, conversation = conversationId) =>
    store.attachments.put({
      conversationId: conversation,
      origin: "bot",
      idempotencyKey: `${name}:${key}`,
      name: "bolletta.pdf",
      mediaType: "application/pdf",
      content,
      sha256: sha(content),
    });

  it("keeps size, type and sha256 in the row and gives the same bytes back", async () => {
    const content = bytes(`%PDF-1.4 ${name}`);
    const a = await put("one", content);
    expect(a).toMatchObject({ size: content.length, sha256: sha(content), mediaType: "application/pdf", conversationId });
    expect(await store.attachments.content(a.id)).toEqual(content);
    const row = await store.db.query<{ storage: string; has_content: boolean; path: string | null }>(
      "SELECT storage, content IS NOT NULL AS has_content, path FROM attachments WHERE id = $1",
      [a.id],
    );
    expect(row.rows[0]).toMatchObject(
      name === "directory" ? { storage: "directory", has_content: false } : { storage: "database", has_content: true, path: null },
    );
    if (name === "directory") expect(filesOnDisk()).toContain(a.id);
  });

  it("stores a file once per idempotency key, under the id asked for", async () => {
    const id = `0a${"b".repeat(30)}-${name}`;
    const first = await store.attachments.put({
      id,
      conversationId,
      origin: "bot",
      idempotencyKey: `${name}:fixed`,
      name: null,
      mediaType: "text/plain",
      content: bytes("ciao"),
      sha256: sha(bytes("ciao")),
    });
    const again = await put("fixed", bytes("something else"));
    expect(first.id).toBe(id);
    expect(again.id).toBe(id);
    expect(await store.attachments.content(id)).toEqual(bytes("ciao"));
    if (name === "directory") expect(filesOnDisk().filter((f) => f === id)).toHaveLength(1);
  });

  it("the admin delete removes a conversation's rows and their files, not another's", async () => {
    const mine = await put("mine", bytes("mine"));
    const theirs = await put("theirs", bytes("theirs"), other);
    const deleted = await store.attachments.deleteForConversation(conversationId);
    expect(deleted).toBe(3); // "one", "fixed" and "mine"
    expect(await store.attachments.get(mine.id)).toBeNull();
    expect(await store.attachments.content(theirs.id)).toEqual(bytes("theirs"));
    if (name === "directory") expect(filesOnDisk().filter((f) => !f.endsWith(".part"))).toEqual([theirs.id]);
  });

  it("retention removes old rows and their files, and files no row names", async () => {
    const old = await put("old", bytes("old"));
    await store.db.query("UPDATE attachments SET created_at = now() - interval '100 days' WHERE id = $1", [old.id]);
    const stray = join(dir, "zz", "zz-orphan-0000");
    if (name === "directory") {
      mkdirSync(join(dir, "zz"), { recursive: true });
      writeFileSync(stray, "left by a crash");
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      utimesSync(stray, twoHoursAgo, twoHoursAgo);
    }
    const deleted = await expireAttachments({ attachments: () => store.attachments, retentionDays: 90, log: silentLogging().child("t") });
    expect(deleted).toBe(1);
    expect(await store.attachments.get(old.id)).toBeNull();
    if (name === "directory") {
      expect(existsSync(stray)).toBe(false);
      expect(filesOnDisk()).not.toContain(old.id);
      expect(filesOnDisk().length).toBeGreaterThan(0); // "theirs" stays
    }
  });
});

describe("directory storage and rows of the other storage", () => {
  it("a row stored in the database stays readable after switching to the directory", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "eime-attachments-pglite-"));
    try {
      const first = await openStore(pgliteConfig(dataDir), silentLogging());
      const c = await first.conversations.create({
        userJid: "carla@localhost",
        msisdn: null,
        channel: "supporto",
        chatTitle: "Supporto",
        addressing: { kind: "channel" },
        apiVersion: "2",
        lang: "it",
      });
      const content = bytes("before the switch");
      const a = await first.attachments.put({
        conversationId: c.id,
        origin: "operator",
        idempotencyKey: "switch",
        name: null,
        mediaType: "text/plain",
        content,
        sha256: sha(content),
      });
      await first.close();
      const second = await openStore(pgliteConfig(dataDir), silentLogging(), undefined, {
        attachments: { kind: "directory", files: attachmentFiles(join(dataDir, "files")) },
      });
      expect(await second.attachments.content(a.id)).toEqual(content);
      await second.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
