// protocol/: pure codecs, no I/O (design.md). XML in, typed values out, and back.
export * from "./result.js";
export * from "./ns.js";
export * from "./msisdn.js";
export * from "./x-element.js";
export * from "./message.js";
export * from "./payloads.js";
export * from "./thread.js";
export * from "./notices.js";
export * from "./outbound.js";
export * from "./chat-states.js";
export * from "./directory.js";
export * from "./vcard.js";
export * from "./disco.js";
export * from "./stanza-error.js";
export * from "./plain-render.js";
export * from "./plain-message.js";
export * from "./adhoc.js";
