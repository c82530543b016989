// The ledger of one scenario: every message a careful client sent, each
// attempt, its receipt (XEP-0184), the error replies it got and every answer
// delivered for it, keyed by the answer's stanza id. What the table prints is
// computed from it alone (pure: no I/O), so the figures mean the same whatever
// the router does inside.
//
// "Answered" means the user saw an answer to that message: a chat_text that
// quotes the message's key (the sample bot and the GMS simulator's agent both
// echo the text), or, where no such answer ever came, a notice that closes the
// matter for the user (GENESYS#0001, GENESYS_ERROR#0001: protocol.md §4).
// Two deliveries with the same stanza id are a redelivery a client can drop;
// two with different ids are two answers in the user's chat.

export interface Entry {
  readonly key: string;
  /** The stanza id and origin-id of every attempt (a resend repeats them). */
  readonly id: string;
  /** The conversation (client, channel, title) it belongs to, for notices. */
  readonly conversation: string;
  readonly sentAt: number;
  attempts: number;
  acceptedAt: number | undefined;
  /** Stanza id of an answer → how many times it was delivered. */
  readonly answers: Map<string, number>;
  firstAnswerAt: number | undefined;
  /** Terminal notice codes attributed to it (only counted when no answer came). */
  readonly notices: string[];
  /** `type/condition` of each error reply. */
  readonly errors: string[];
}

export interface Summary {
  sent: number;
  accepted: number;
  resent: number;
  once: number;
  twiceSameId: number;
  twiceDifferentIds: number;
  never: number;
  /** Of `once`: answered by a terminal notice only. */
  byNotice: number;
  /** `type/condition` → count, over every error reply received. */
  errors: Map<string, number>;
  /** Slowest first answer after the first send, ms (answered messages only). */
  slowestAnswerMs: number;
  /** Keys never answered (a few, for the details). */
  neverKeys: string[];
}

export class Ledger {
  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<string, Entry>();
  /** Errors to stanzas that are not careful messages (the mutated ones). */
  readonly noise = new Map<string, number>();
  /** What the clients received besides receipts, abbreviated (bounded), for --keep's dump. */
  readonly trace: string[] = [];

  note(line: string): void {
    if (this.trace.length < 20_000) this.trace.push(line);
  }

  /** Everything, as JSON (for --keep). */
  dump(): string {
    const entries = this.all().map((e) => ({ ...e, answers: Object.fromEntries(e.answers) }));
    return JSON.stringify({ entries, noise: Object.fromEntries(this.noise), trace: this.trace }, null, 1);
  }

  sent(key: string, id: string, conversation: string, now = Date.now()): Entry {
    const existing = this.entries.get(key);
    if (existing) {
      existing.attempts += 1;
      return existing;
    }
    const entry: Entry = {
      key,
      id,
      conversation,
      sentAt: now,
      attempts: 1,
      acceptedAt: undefined,
      answers: new Map(),
      firstAnswerAt: undefined,
      notices: [],
      errors: [],
    };
    this.entries.set(key, entry);
    this.byId.set(id, entry);
    return entry;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  byStanzaId(id: string): Entry | undefined {
    return this.byId.get(id);
  }

  accepted(id: string, now = Date.now()): Entry | undefined {
    const e = this.byId.get(id);
    if (e && e.acceptedAt === undefined) e.acceptedAt = now;
    return e;
  }

  error(id: string, condition: string): Entry | undefined {
    const e = this.byId.get(id);
    if (e) e.errors.push(condition);
    else this.noise.set(condition, (this.noise.get(condition) ?? 0) + 1);
    return e;
  }

  answer(key: string, stanzaId: string, now = Date.now()): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.answers.set(stanzaId, (e.answers.get(stanzaId) ?? 0) + 1);
    e.firstAnswerAt ??= now;
  }

  /** A terminal notice in a conversation: it answers the oldest message there that has no answer yet. */
  notice(conversation: string, code: string): void {
    for (const e of this.entries.values()) {
      if (e.conversation === conversation && e.answers.size === 0 && e.notices.length === 0) {
        e.notices.push(code);
        return;
      }
    }
  }

  all(): Entry[] {
    return [...this.entries.values()];
  }

  /** Messages still waiting for a receipt or an answer. */
  outstanding(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.acceptedAt === undefined || !answered(e)) n++;
    return n;
  }

  summary(): Summary {
    const s: Summary = {
      sent: 0,
      accepted: 0,
      resent: 0,
      once: 0,
      twiceSameId: 0,
      twiceDifferentIds: 0,
      never: 0,
      byNotice: 0,
      errors: new Map(),
      slowestAnswerMs: 0,
      neverKeys: [],
    };
    for (const e of this.entries.values()) {
      s.sent++;
      if (e.acceptedAt !== undefined) s.accepted++;
      s.resent += e.attempts - 1;
      for (const c of e.errors) s.errors.set(c, (s.errors.get(c) ?? 0) + 1);
      const deliveries = [...e.answers.values()].reduce((a, b) => a + b, 0);
      if (e.answers.size >= 2) s.twiceDifferentIds++;
      else if (deliveries >= 2) s.twiceSameId++;
      else if (deliveries === 1) s.once++;
      else if (e.notices.length > 0) {
        s.once++;
        s.byNotice++;
      } else {
        s.never++;
        if (s.neverKeys.length < 5) s.neverKeys.push(e.key);
      }
      if (e.firstAnswerAt !== undefined) s.slowestAnswerMs = Math.max(s.slowestAnswerMs, e.firstAnswerAt - e.sentAt);
    }
    return s;
  }
}

export const answered = (e: Entry): boolean => e.answers.size > 0 || e.notices.length > 0;
