// XEP-0050 Ad-Hoc Commands (https://xmpp.org/extensions/xep-0050.html) of a
// channel JID: the plain clients' commands of protocol.md section 9, each a
// single-stage command that completes at once, with no form ("callback" too:
// as soon as possible; profanity runs no multi-stage command). Pure builders.
import xml, { type Element } from "@xmpp/xml";
import type { DirectoryItem } from "../core/model.js";
import { NS_COMMANDS, NS_DISCO_INFO, NS_DISCO_ITEMS } from "./ns.js";
import { noticeLang, type NoticeLang } from "./notices.js";
import { PLAIN_COMMANDS, type PlainCommand } from "./plain-message.js";

const NAMES: Record<NoticeLang, Record<PlainCommand, string>> = {
  it: {
    operator: "Parla con un operatore",
    close: "Chiudi la conversazione con l'operatore",
    reset: "Ricomincia con l'assistente",
    vote: "Vota l'ultima conversazione con l'operatore",
    callback: "Richiamami (quando la coda è piena)",
  },
  en: {
    operator: "Talk to an operator",
    close: "End the conversation with the operator",
    reset: "Start again with the assistant",
    vote: "Rate the last conversation with the operator",
    callback: "Call me back (when the queue is full)",
  },
};

const DONE: Record<NoticeLang, string> = {
  it: "Fatto: la risposta arriva nella chat.",
  en: "Done: the answer follows in the chat.",
};

export function isPlainCommand(node: unknown): node is PlainCommand {
  return typeof node === "string" && (PLAIN_COMMANDS as readonly string[]).includes(node);
}

/**
 * The commands a channel offers (XEP-0050 section 3.2 lets the list depend on
 * the entity): "callback" only where the route has one (docs/protocol.md
 * "Callbacks"); elsewhere it could never be accepted.
 */
export function channelCommands(channel: Pick<DirectoryItem, "route">): readonly PlainCommand[] {
  return channel.route?.callback ? PLAIN_COMMANDS : PLAIN_COMMANDS.filter((c) => c !== "callback");
}

/** XEP-0050 section 3.2: disco#items of the commands node lists the commands of `jid`. */
export function commandItems(jid: string, lang: string, commands: readonly PlainCommand[] = PLAIN_COMMANDS): Element {
  const names = NAMES[noticeLang(lang)];
  return xml(
    "query",
    { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS },
    ...commands.map((node) => xml("item", { jid, node, name: names[node] })),
  );
}

/** XEP-0050 section 3.3: disco#info of one command node. */
export function commandNodeInfo(node: PlainCommand, lang: string): Element {
  return xml(
    "query",
    { xmlns: NS_DISCO_INFO, node },
    xml("identity", { category: "automation", type: "command-node", name: NAMES[noticeLang(lang)][node] }),
    xml("feature", { var: NS_COMMANDS }),
    xml("feature", { var: "jabber:x:data" }),
  );
}

/**
 * XEP-0050 section 3.4: the answer to an execution, status completed, with a
 * note: "done" (what the command caused follows as chat messages), or the
 * reason it was refused (type error).
 */
export function commandCompleted(node: PlainCommand, sessionId: string, lang: string, refused?: string): Element {
  return xml(
    "command",
    { xmlns: NS_COMMANDS, node, sessionid: sessionId, status: "completed" },
    xml("note", { type: refused === undefined ? "info" : "error" }, refused ?? DONE[noticeLang(lang)]),
  );
}

/** XEP-0050 section 3.5: a canceled session. */
export function commandCanceled(node: PlainCommand, sessionId: string): Element {
  return xml("command", { xmlns: NS_COMMANDS, node, sessionid: sessionId, status: "canceled" });
}
