// The message archive's queries (store/archive.ts, XEP-0313 through
// xmpp/mam.ts; protocol.md "History on reopen"), part of the store suite and
// so run on PostgreSQL and on PGlite: paging forwards and backwards with RSM,
// the start/end and chat-title filters, the archive-id bounds, what is
// archived at all, and that a user reads only their own messages at that JID.
import { beforeEach, describe, expect, it } from "vitest";
import type { ArchiveSelection } from "../../../src/store/archive.js";
import type { NewConversation, Store } from "../../../src/store/index.js";

const ALICE = "393471111111@localhost";
const BOB = "393472222222@localhost";
const T0 = Date.UTC(2025, 4, 6, 10, 0, 0);
const minute = (n: number) => new Date(T0 + n * 60_000);

const conversation = (userJid: string, chatTitle: string, extra: Partial<NewConversation> = {}): NewConversation => ({
  userJid,
  msisdn: userJid.split("@")[0]!,
  channel: "supporto",
  chatTitle,
  addressing: { kind: "channel" },
  apiVersion: "2.1",
  lang: "it",
  ...extra,
});

interface Sent {
  /** The message id (the archive id the router encodes for clients). */
  id: string;
  text: string;
}

export function defineArchiveTests(store: () => Store): void {
  describe("message archive (MAM)", () => {
    let seq = 0;
    /** Stores one message as the router does (a conversation step) at `at`, and returns its id. */
    async function message(
      conversationId: string,
      sender: string,
      m: { direction: "in" | "out"; text: string; at: Date; kind?: string; payload?: Record<string, unknown>; stanza?: string | null },
    ): Promise<Sent> {
      const key = `m-${++seq}`;
      const kind = m.kind ?? "chat_text";
      await store().steps.append({
        conversationId,
        version: null,
        ...(m.direction === "in"
          ? { inbound: { sender, dedupeKey: key, kind, text: m.text, payload: m.payload ?? { text: m.text } } }
          : {}),
        outbound:
          m.direction === "out"
            ? [
                {
                  author: "bot",
                  kind,
                  text: m.text,
                  dedupeKey: key,
                  ...(m.stanza === null ? {} : { stanza: m.stanza ?? `<message id="${key}"><body>${m.text}</body></message>` }),
                },
              ]
            : [],
        enqueue: [],
        owner: "test",
        lockMs: 10_000,
      });
      // The database stamps created_at with its clock; the test sets it to know the time filters' answers.
      const { rows } = await store().db.query<{ id: string }>(
        "UPDATE messages SET created_at = $2::timestamptz WHERE dedupe_key = $1::text RETURNING id::text AS id",
        [key, m.at],
      );
      return { id: rows[0]!.id, text: m.text };
    }

    const channelOf = (userJid: string): Pick<ArchiveSelection, "userJid" | "archive"> => ({
      userJid,
      archive: { kind: "channel", local: "supporto" },
    });
    const texts = (r: { rows: { text: string | null }[] }) => r.rows.map((row) => row.text);

    /** Alice: "Ordini" (a1…a5) and "Fatture" (f1, f2), interleaved with Bob's "Ordini" (b1, b2), a minute apart. */
    let alice: Sent[];
    let fatture: Sent[];
    let bob: Sent[];

    beforeEach(async () => {
      seq = 0;
      const s = store();
      const ordini = await s.conversations.create(conversation(ALICE, "Ordini"));
      const invoices = await s.conversations.create(conversation(ALICE, "Fatture"));
      const bobs = await s.conversations.create(conversation(BOB, "Ordini"));
      const a = (text: string, n: number, direction: "in" | "out" = "in") => message(ordini.id, ALICE, { direction, text, at: minute(n) });
      alice = [];
      fatture = [];
      bob = [];
      alice.push(await a("a1", 0));
      bob.push(await message(bobs.id, BOB, { direction: "in", text: "b1", at: minute(1) }));
      alice.push(await a("a2", 2, "out"));
      fatture.push(await message(invoices.id, ALICE, { direction: "in", text: "f1", at: minute(3) }));
      alice.push(await a("a3", 4));
      bob.push(await message(bobs.id, BOB, { direction: "out", text: "b2", at: minute(5) }));
      alice.push(await a("a4", 6, "out"));
      fatture.push(await message(invoices.id, ALICE, { direction: "out", text: "f2", at: minute(7) }));
      alice.push(await a("a5", 8));
    });

    it("pages forwards with after: every page in order, the count of all, complete on the last", async () => {
      const all = ["a1", "a2", "f1", "a3", "a4", "f2", "a5"];
      const p1 = await store().archive.page(channelOf(ALICE), { max: 3 });
      expect(texts(p1)).toEqual(all.slice(0, 3));
      expect(p1).toMatchObject({ count: 7, complete: false });
      const p2 = await store().archive.page(channelOf(ALICE), { max: 3, after: p1.rows.at(-1)!.archiveId });
      expect(texts(p2)).toEqual(all.slice(3, 6));
      expect(p2).toMatchObject({ count: 7, complete: false });
      const p3 = await store().archive.page(channelOf(ALICE), { max: 3, after: p2.rows.at(-1)!.archiveId });
      expect(texts(p3)).toEqual(["a5"]);
      expect(p3).toMatchObject({ count: 7, complete: true });
      // Exactly a page's worth left is complete too; after the last id, nothing.
      expect(await store().archive.page(channelOf(ALICE), { max: 1, after: p2.rows.at(-1)!.archiveId })).toMatchObject({
        complete: true,
      });
      const none = await store().archive.page(channelOf(ALICE), { max: 3, after: alice.at(-1)!.id });
      expect(none).toEqual({ rows: [], count: 7, complete: true });
      // The rows carry what the result messages are built from.
      expect(p1.rows[1]).toMatchObject({
        archiveId: alice[1]!.id,
        direction: "out",
        kind: "chat_text",
        createdAt: minute(2),
        conversation: { userJid: ALICE, channel: "supporto", chatTitle: "Ordini", addressing: { kind: "channel" }, apiVersion: "2.1" },
      });
      expect(p1.rows[1]!.stanza).toContain("<body>a2</body>");
      expect(p1.rows[0]).toMatchObject({ direction: "in", payload: { text: "a1" }, createdAt: minute(0) });
    });

    it("pages backwards with before: the last page first, each oldest first, complete at the start", async () => {
      const p1 = await store().archive.page(channelOf(ALICE), { max: 3, before: null });
      expect(texts(p1)).toEqual(["a4", "f2", "a5"]);
      expect(p1).toMatchObject({ count: 7, complete: false });
      const p2 = await store().archive.page(channelOf(ALICE), { max: 3, before: p1.rows[0]!.archiveId });
      expect(texts(p2)).toEqual(["a2", "f1", "a3"]);
      expect(p2.complete).toBe(false);
      const p3 = await store().archive.page(channelOf(ALICE), { max: 3, before: p2.rows[0]!.archiveId });
      expect(texts(p3)).toEqual(["a1"]);
      expect(p3).toMatchObject({ count: 7, complete: true });
      expect(await store().archive.page(channelOf(ALICE), { max: 3, before: alice[0]!.id })).toEqual({
        rows: [],
        count: 7,
        complete: true,
      });
      // max 0: the count alone (XEP-0059 §2.7).
      expect(await store().archive.page(channelOf(ALICE), { max: 0, before: null })).toEqual({ rows: [], count: 7, complete: false });
    });

    it("filters by time, start and end inclusive, and pages within the filter", async () => {
      const window = { ...channelOf(ALICE), start: minute(2), end: minute(7) };
      const all = await store().archive.page(window, { max: 10 });
      expect(texts(all)).toEqual(["a2", "f1", "a3", "a4", "f2"]);
      expect(all).toMatchObject({ count: 5, complete: true });
      const first = await store().archive.page(window, { max: 2 });
      expect(texts(first)).toEqual(["a2", "f1"]);
      expect(texts(await store().archive.page(window, { max: 2, after: first.rows[1]!.archiveId }))).toEqual(["a3", "a4"]);
      expect(texts(await store().archive.page(window, { max: 2, before: null }))).toEqual(["a4", "f2"]);
      expect(texts(await store().archive.page({ ...channelOf(ALICE), start: minute(6) }, { max: 10 }))).toEqual(["a4", "f2", "a5"]);
      expect(texts(await store().archive.page({ ...channelOf(ALICE), end: minute(0) }, { max: 10 }))).toEqual(["a1"]);
      // Between two messages, and an empty window.
      expect(texts(await store().archive.page({ ...channelOf(ALICE), start: new Date(T0 + 30_000), end: minute(1) }, { max: 10 }))).toEqual(
        [],
      );
      expect(await store().archive.page({ ...channelOf(ALICE), start: minute(9) }, { max: 10 })).toEqual({
        rows: [],
        count: 0,
        complete: true,
      });
    });

    it("bounds by archive id (after-id, before-id: exclusive), and the count counts within the bounds", async () => {
      const bounded = { ...channelOf(ALICE), afterId: alice[0]!.id, beforeId: alice[4]!.id };
      const all = await store().archive.page(bounded, { max: 10 });
      expect(texts(all)).toEqual(["a2", "f1", "a3", "a4", "f2"]);
      expect(all.count).toBe(5);
      // An RSM after/before inside the bounds narrows further.
      expect(texts(await store().archive.page(bounded, { max: 10, after: alice[2]!.id }))).toEqual(["a4", "f2"]);
      expect(texts(await store().archive.page(bounded, { max: 10, before: alice[2]!.id }))).toEqual(["a2", "f1"]);
      // One outside them does not widen them.
      const narrow = { ...channelOf(ALICE), afterId: alice[1]!.id, beforeId: alice[3]!.id };
      expect(texts(await store().archive.page(narrow, { max: 10, after: alice[0]!.id }))).toEqual(["f1", "a3"]);
      expect(texts(await store().archive.page(narrow, { max: 10, before: alice[4]!.id }))).toEqual(["f1", "a3"]);
      expect(await store().archive.page(narrow, { max: 1, before: null })).toMatchObject({ count: 2, complete: false });
    });

    it("filters by chat title: one chat of the user at that JID, with its own count", async () => {
      const ordini = { ...channelOf(ALICE), chatTitle: "Ordini" };
      const p1 = await store().archive.page(ordini, { max: 3 });
      expect(texts(p1)).toEqual(["a1", "a2", "a3"]);
      expect(p1).toMatchObject({ count: 5, complete: false });
      expect(texts(await store().archive.page(ordini, { max: 3, after: p1.rows[2]!.archiveId }))).toEqual(["a4", "a5"]);
      const invoices = await store().archive.page({ ...channelOf(ALICE), chatTitle: "Fatture", start: minute(4) }, { max: 10 });
      expect(texts(invoices)).toEqual(["f2"]);
      expect(invoices.count).toBe(1);
      expect(await store().archive.page({ ...channelOf(ALICE), chatTitle: "Nessuna" }, { max: 10 })).toEqual({
        rows: [],
        count: 0,
        complete: true,
      });
    });

    it("isolates users: each reads only their own messages, and another's ids are unknown to them", async () => {
      const bobs = await store().archive.page(channelOf(BOB), { max: 10 });
      expect(texts(bobs)).toEqual(["b1", "b2"]);
      expect(bobs.count).toBe(2);
      // The same chat title as Alice's chat, and backwards from the end: still only his own.
      expect(texts(await store().archive.page({ ...channelOf(BOB), chatTitle: "Ordini" }, { max: 10 }))).toEqual(["b1", "b2"]);
      expect(texts(await store().archive.page(channelOf(BOB), { max: 10, before: null }))).toEqual(["b1", "b2"]);
      // A user with no conversation there has an empty archive.
      expect(await store().archive.page(channelOf("393479999999@localhost"), { max: 10 })).toEqual({ rows: [], count: 0, complete: true });
      // item-not-found for another's id (and for ids that are none), not for one's own.
      expect(await store().archive.unknownIds(channelOf(ALICE), [alice[0]!.id, bob[0]!.id, fatture[1]!.id])).toEqual([bob[0]!.id]);
      expect(await store().archive.unknownIds(channelOf(BOB), [alice[0]!.id, bob[1]!.id, "0", "x", "99999999999"])).toEqual([
        alice[0]!.id,
        "0",
        "x",
        "99999999999",
      ]);
    });

    it("keeps the archives of a channel JID and a server-address JID apart, and archives only what was exchanged", async () => {
      const s = store();
      const generic = await s.conversations.create(
        conversation(ALICE, "Biglietti", { channel: "atm_milano", addressing: { kind: "server", serverAddress: "myticket" } }),
      );
      const ticket = await message(generic.id, ALICE, { direction: "in", text: "t1", at: minute(10) });
      // Not archived: a command execution (XEP-0050), a chat state, an outbound message never sent as a stanza.
      await message(generic.id, ALICE, { direction: "in", text: "cmd", at: minute(11), payload: { via: "xep-0050" } });
      await message(generic.id, ALICE, { direction: "out", text: "typing", at: minute(12), kind: "chat_state" });
      await message(generic.id, ALICE, { direction: "out", text: "unsent", at: minute(13), stanza: null });
      const answer = await message(generic.id, ALICE, { direction: "out", text: "t2", at: minute(14) });

      const server = { userJid: ALICE, archive: { kind: "server", local: "myticket" } } as const;
      const got = await s.archive.page(server, { max: 10 });
      expect(texts(got)).toEqual(["t1", "t2"]);
      expect(got.count).toBe(2);
      expect(got.rows[0]!.conversation).toMatchObject({ channel: "atm_milano", addressing: { kind: "server", serverAddress: "myticket" } });
      // Neither archive holds the other's messages; the channel JID of a server-addressed channel holds none of them.
      expect((await s.archive.page(channelOf(ALICE), { max: 10 })).count).toBe(7);
      expect(await s.archive.page({ userJid: ALICE, archive: { kind: "channel", local: "atm_milano" } }, { max: 10 })).toMatchObject({
        count: 0,
      });
      expect(await s.archive.unknownIds(channelOf(ALICE), [ticket.id, alice[0]!.id])).toEqual([ticket.id]);
      expect(await s.archive.unknownIds(server, [ticket.id, answer.id, alice[0]!.id])).toEqual([alice[0]!.id]);
      expect(await s.archive.page({ ...server, userJid: BOB }, { max: 10 })).toEqual({ rows: [], count: 0, complete: true });
    });
  });
}
