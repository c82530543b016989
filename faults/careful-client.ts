// A client that behaves as a careful real one (XEP-0359, XEP-0184, RFC 6120
// §8.3): every message carries a stanza id and the same origin-id and asks for
// a receipt; whatever gets an error reply, or no receipt within a bound, is
// sent again with the same ids, a bounded number of times, once the client is
// online again. It records everything in the scenario's ledger; it never looks
// inside the router.
import type { Element } from "@xmpp/xml";
import { connectClient, type TestClient } from "../test/e2e/harness/client.js";
import type { Prosody } from "../test/e2e/harness/prosody.js";
import { readError, readX, v2Thread, xMessage } from "../test/e2e/support/eime.js";
import type { Ledger } from "./ledger.js";

const NS_RECEIPTS = "urn:xmpp:receipts";
/** The text of every careful message; answers quote it, which is how they are matched. */
export const textOf = (key: string) => `fault ${key} .`;
const KEY_IN_TEXT = /fault (\S+) \./;
/** Notices that close the matter for the user when no answer comes (protocol.md §4). */
const TERMINAL_NOTICES = new Set(["GENESYS#0001", "GENESYS_ERROR#0001"]);

export interface CarefulOptions {
  /** No receipt this long after a send: send again. */
  receiptTimeoutMs: number;
  /** Sends after the first, at most. */
  maxResends: number;
  /** Wait before a resend: this × the attempt number. */
  resendBackoffMs: number;
}

const DATA = { apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false };

export class CarefulClient {
  private ledger: Ledger | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stanzas = new Map<string, Element>();
  private stopped = false;

  private constructor(
    readonly tc: TestClient,
    readonly msisdn: string,
    private readonly componentDomain: string,
    private readonly opts: CarefulOptions,
  ) {
    tc.xmpp.on("stanza", (el: Element) => this.onStanza(el));
  }

  static async connect(
    prosody: Pick<Prosody, "c2sService" | "userDomain" | "componentDomain">,
    msisdn: string,
    password: string,
    opts: CarefulOptions,
  ): Promise<CarefulClient> {
    const tc = await connectClient({ prosody, username: msisdn, password, resource: "phone", reconnectDelayMs: 200 });
    return new CarefulClient(tc, msisdn, prosody.componentDomain, opts);
  }

  /** Records into this ledger from now on; forgets pending resends of the previous one. */
  use(ledger: Ledger): void {
    this.clearTimers();
    this.stanzas.clear();
    this.ledger = ledger;
  }

  conversation(channel: string, title: string): string {
    return `${this.msisdn}|${channel}|${title}`;
  }

  /** Sends one careful message; resends follow by themselves. `file`: asks the sample bot for its text back as a file. */
  send(channel: string, title: string, key: string, opts: { file?: boolean } = {}): void {
    const ledger = this.mustLedger();
    const id = `fx-${key}`;
    const stanza = xMessage(
      "chat_text",
      { text: opts.file ? `file ${textOf(key)}` : textOf(key), data: DATA },
      { to: `${channel}@${this.componentDomain}`, thread: v2Thread(this.msisdn, title), id, originId: id, receipt: true },
    );
    this.stanzas.set(id, stanza);
    ledger.sent(key, id, this.conversation(channel, title));
    this.transmit(id, stanza);
  }

  /** Sends a stanza that is not a careful message (no resend); an error to it counts as noise. */
  sendRaw(stanza: Element): Promise<void> {
    return this.tc.send(stanza).catch(() => undefined);
  }

  private transmit(id: string, stanza: Element): void {
    this.tc.send(stanza).catch(() => undefined); // offline: the missing receipt triggers the resend
    this.after(this.opts.receiptTimeoutMs, () => {
      const e = this.ledger?.byStanzaId(id);
      if (e && e.acceptedAt === undefined) this.resend(id);
    });
  }

  private resend(id: string): void {
    const ledger = this.ledger;
    const stanza = this.stanzas.get(id);
    const e = ledger?.byStanzaId(id);
    if (!ledger || !stanza || !e || e.attempts > this.opts.maxResends || this.stopped) return;
    this.after(this.opts.resendBackoffMs * e.attempts, () => {
      if (e.acceptedAt !== undefined || this.ledger !== ledger) return;
      void this.tc.waitOnline(30_000).then(
        () => {
          if (e.acceptedAt !== undefined || this.ledger !== ledger || this.stopped) return;
          ledger.sent(e.key, id, e.conversation);
          this.transmit(id, stanza);
        },
        () => undefined,
      );
    });
  }

  private onStanza(el: Element): void {
    const ledger = this.ledger;
    if (!ledger || !el.is("message")) return;
    const receipt = el.getChild("received", NS_RECEIPTS);
    if (receipt) {
      ledger.accepted(String(receipt.attrs.id));
      return;
    }
    ledger.note(
      `${new Date().toISOString().slice(11, 23)} ${this.msisdn} <- ${String(el.attrs.from)} id=${String(el.attrs.id)} ` +
        `${el.attrs.type === "error" ? el.getChild("error")?.toString() : el.getChild("x")?.getChildText("payload")}`.slice(0, 300),
    );
    if (el.attrs.type === "error") {
      const err = readError(el);
      const type = el.getChild("error")?.attrs.type as string | undefined;
      const condition = `${type ?? "?"}/${err?.condition || "?"}`;
      const id = String(el.attrs.id ?? "");
      const e = ledger.error(id, condition);
      if (e && e.acceptedAt === undefined) this.resend(id);
      return;
    }
    this.onAnswer(ledger, el);
  }

  private onAnswer(ledger: Ledger, el: Element): void {
    let x;
    try {
      x = readX(el);
    } catch {
      x = null; // a payload that is not JSON: not an answer we can match
    }
    const stanzaId = String(el.attrs.id ?? `no-id-${Math.random()}`);
    // A file's answer (protocol.md section 10) quotes the key in its name.
    const file = x?.payload?.data?.["attachment"] as { name?: unknown } | undefined;
    const text = x?.payload?.text || (typeof file?.name === "string" ? file.name : "") || (el.getChildText("body") ?? "");
    const key = KEY_IN_TEXT.exec(text)?.[1];
    if (key) {
      ledger.answer(key, stanzaId);
      return;
    }
    const code = x?.payload?.code;
    if (typeof code === "string" && TERMINAL_NOTICES.has(code)) {
      const channel = String(el.attrs.from ?? "").split("@")[0] ?? "";
      for (const e of ledger.all()) {
        if (e.conversation.startsWith(`${this.msisdn}|${channel}|`)) {
          ledger.notice(e.conversation, code);
          return;
        }
      }
    }
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private mustLedger(): Ledger {
    if (!this.ledger) throw new Error("CarefulClient.use(ledger) first");
    return this.ledger;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.tc.stop();
  }
}
