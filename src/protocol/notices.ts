// protocol.md §4: chat_notice codes, their direction, and the localised text
// sent with them (payload.text and the <body> fallback).

export type NoticeDirection = "toClient" | "toRouter";
export type NoticeLang = "it" | "en";
export const NOTICE_LANGS: readonly NoticeLang[] = ["it", "en"];

/** Data of a notice as sent in payload.data; the texts use the fields they know. */
export interface NoticeData {
  /** ROUTER_QUEUED#0001: 1-based place in the queue. */
  position?: number;
  /** ROUTER_QUEUED#0001. */
  estimatedWaitSeconds?: number;
  /** ROUTER_OPERATOR_JOINED#0001. */
  nickname?: string;
  /** ROUTER_CLOSED_HOURS#0001: ISO 8601 date-time (formatted in the text) or free text. */
  opensAt?: string;
  /** ROUTER_VOTING_OPEN#0001: ISO 8601 date-time or free text. */
  until?: string;
  /** ROUTER_INACTIVITY_WARNING#0001: ISO 8601 date-time the conversation closes at. */
  closesAt?: string;
  /** ROUTER_ATTACHMENT_REFUSED#0001: host, size, type, count, url, backend, fetch or unavailable. */
  reason?: string;
  /** ROUTER_ATTACHMENT_REFUSED#0001: the file's name or URL. */
  name?: string;
  /** ROUTER_QUEUE_FULL#0001: the user may ask for a callback (ROUTER_CALLBACK_REQUEST#0001). */
  callbackOffered?: boolean;
  /** ROUTER_CALLBACK_REGISTERED#0001: ISO 8601 date-time of the call; absent: as soon as possible. */
  at?: string;
  [key: string]: unknown;
}

/** The data fields after checking, ready to be put in a sentence; absent ones drop their clause. */
interface Fields {
  position?: string;
  minutes?: string;
  nickname?: string;
  opensAt?: string;
  until?: string;
  closesAt?: string;
  reason?: string;
  name?: string;
  callbackOffered?: true;
  at?: string;
}

interface NoticeSpec {
  direction: NoticeDirection;
  meaning: string;
  text: Record<NoticeLang, (f: Fields) => string>;
}

/** Why an attachment was refused (protocol.md section 10), in words. */
const REFUSAL_REASONS: Record<NoticeLang, Record<string, string>> = {
  it: {
    host: "non proviene da un indirizzo ammesso",
    size: "è troppo grande",
    type: "è di un tipo non ammesso",
    count: "supera il numero di file ammessi",
    url: "non ha un indirizzo valido",
    backend: "è stato rifiutato dal servizio operatori",
    fetch: "non è stato possibile scaricarlo",
    unavailable: "il servizio operatori non accetta file",
  },
  en: {
    host: "does not come from an allowed address",
    size: "is too large",
    type: "is of a type not allowed",
    count: "is more files than allowed",
    url: "has no valid address",
    backend: "was refused by the operator service",
    fetch: "could not be downloaded",
    unavailable: "cannot be sent to this operator service",
  },
};

const minutesEn = (m: string) => (m === "1" ? "1 minute" : `${m} minutes`);
const minutesIt = (m: string) => (m === "1" ? "1 minuto" : `${m} minuti`);

export const NOTICES = {
  "GENESYS#0001": {
    direction: "toClient",
    meaning: "operator conversation closed for an unhandled error",
    text: {
      it: () => "La conversazione con l'operatore è stata chiusa a causa di un errore.",
      en: () => "The conversation with the operator was closed because of an error.",
    },
  },
  "GENESYS#0002": {
    direction: "toClient",
    meaning: "closed by the operator",
    text: {
      it: () => "L'operatore ha chiuso la conversazione.",
      en: () => "The operator closed the conversation.",
    },
  },
  "GENESYS#0003": {
    direction: "toClient",
    meaning: "operator conversation timed out",
    text: {
      it: () => "La conversazione con l'operatore è stata chiusa per inattività.",
      en: () => "The conversation with the operator was closed for inactivity.",
    },
  },
  "GENESYS#0004": {
    direction: "toClient",
    meaning: "closed by the user",
    text: {
      it: () => "Hai chiuso la conversazione con l'operatore.",
      en: () => "You closed the conversation with the operator.",
    },
  },
  "GENESYS_ERROR#0001": {
    direction: "toClient",
    meaning: "a Genesys error that does not end the conversation",
    text: {
      it: () => "Il servizio operatori ha avuto un problema; la conversazione continua.",
      en: () => "The operator service had a problem; the conversation continues.",
    },
  },
  "FOREGROUND_CONVERSATION#0001": {
    direction: "toClient",
    meaning: "put this conversation in the foreground",
    text: {
      it: () => "Sei in conversazione con un operatore.",
      en: () => "You are talking with an operator.",
    },
  },
  "FOREGROUND_CONVERSATION#0002": {
    direction: "toClient",
    meaning: "the conversation was already open",
    text: {
      it: () => "La conversazione con l'operatore è già aperta.",
      en: () => "The conversation with the operator is already open.",
    },
  },
  "GENESYS_CLOSE_BY_USER#0001": {
    direction: "toRouter",
    meaning: "close my conversation with the operator",
    text: {
      it: () => "Chiudi la conversazione con l'operatore.",
      en: () => "Close the conversation with the operator.",
    },
  },
  "GENESYS_OPEN_FOR_VOTING#0001": {
    direction: "toRouter",
    meaning: "reopen my closed operator conversation to vote",
    text: {
      it: () => "Riapri la conversazione con l'operatore per valutarla.",
      en: () => "Reopen the conversation with the operator to rate it.",
    },
  },
  "ROUTER_QUEUED#0001": {
    direction: "toClient",
    meaning: "waiting for an operator: {position?, estimatedWaitSeconds?}",
    text: {
      it: (f) =>
        (f.position !== undefined ? `Sei il numero ${f.position} in coda per un operatore.` : "Sei in coda per un operatore.") +
        (f.minutes !== undefined ? ` Attesa stimata: circa ${minutesIt(f.minutes)}.` : ""),
      en: (f) =>
        (f.position !== undefined
          ? `You are number ${f.position} in the queue for an operator.`
          : "You are in the queue for an operator.") + (f.minutes !== undefined ? ` Estimated wait: about ${minutesEn(f.minutes)}.` : ""),
    },
  },
  "ROUTER_OPERATOR_JOINED#0001": {
    direction: "toClient",
    meaning: "an operator joined: {nickname}",
    text: {
      it: (f) =>
        f.nickname !== undefined
          ? `${f.nickname} ha preso in carico la conversazione.`
          : "Un operatore ha preso in carico la conversazione.",
      en: (f) => (f.nickname !== undefined ? `${f.nickname} has joined the conversation.` : "An operator has joined the conversation."),
    },
  },
  "ROUTER_BOT_UNAVAILABLE#0001": {
    direction: "toClient",
    meaning: "the bot did not answer; the message is kept and retried",
    text: {
      it: () => "L'assistente non risponde al momento; il tuo messaggio è stato conservato e gli verrà consegnato.",
      en: () => "The assistant is not answering right now; your message is kept and will be delivered.",
    },
  },
  "ROUTER_CLOSED_HOURS#0001": {
    direction: "toClient",
    meaning: "no operator service now: {opensAt?}",
    text: {
      it: (f) => "Nessun operatore è disponibile ora." + (f.opensAt !== undefined ? ` Il servizio riapre il ${f.opensAt}.` : ""),
      en: (f) => "No operator is available now." + (f.opensAt !== undefined ? ` The service reopens on ${f.opensAt}.` : ""),
    },
  },
  "ROUTER_QUEUE_FULL#0001": {
    direction: "toClient",
    meaning: "the operator queue is at its limit: {callbackOffered?}; the conversation stays with the bot",
    text: {
      it: (f) =>
        "Tutti gli operatori sono occupati e la coda è piena. " +
        (f.callbackOffered ? "Se vuoi, puoi chiedere di essere richiamato." : "Riprova più tardi."),
      en: (f) =>
        "All operators are busy and the queue is full. " +
        (f.callbackOffered ? "You can ask to be called back." : "Please try again later."),
    },
  },
  "ROUTER_INACTIVITY_WARNING#0001": {
    direction: "toClient",
    meaning: "the operator conversation will close for inactivity: {closesAt}",
    text: {
      it: (f) =>
        "La conversazione con l'operatore sta per chiudersi per inattività" +
        (f.closesAt !== undefined ? ` (alle ${f.closesAt})` : "") +
        ". Scrivi un messaggio per tenerla aperta.",
      en: (f) =>
        "The conversation with the operator is about to close for inactivity" +
        (f.closesAt !== undefined ? ` (at ${f.closesAt})` : "") +
        ". Send a message to keep it open.",
    },
  },
  "ROUTER_VOTING_OPEN#0001": {
    direction: "toClient",
    meaning: "voting is open for this conversation: {until}",
    text: {
      it: (f) => (f.until !== undefined ? `Puoi valutare questa conversazione fino al ${f.until}.` : "Puoi valutare questa conversazione."),
      en: (f) => (f.until !== undefined ? `You can rate this conversation until ${f.until}.` : "You can rate this conversation."),
    },
  },
  "ROUTER_VOTE_RECORDED#0001": {
    direction: "toClient",
    meaning: "the post-chat vote was received; the conversation is closed again",
    text: {
      it: () => "Grazie, la tua valutazione è stata registrata.",
      en: () => "Thank you, your rating has been recorded.",
    },
  },
  "ROUTER_ATTACHMENT_REFUSED#0001": {
    direction: "toClient",
    meaning: "an attachment was not passed on: {reason, name?}; the text of the message still was",
    text: {
      it: (f) =>
        `Il file${f.name !== undefined ? ` ${f.name}` : ""} non è stato inoltrato: ${REFUSAL_REASONS.it[f.reason ?? ""] ?? "non è ammesso"}.`,
      en: (f) =>
        `The file${f.name !== undefined ? ` ${f.name}` : ""} was not passed on: it ${REFUSAL_REASONS.en[f.reason ?? ""] ?? "is not allowed"}.`,
    },
  },
  // backends.md section 2c: the callback offered with ROUTER_QUEUE_FULL#0001 (docs/protocol.md "Callbacks").
  "ROUTER_CALLBACK_REQUEST#0001": {
    direction: "toRouter",
    meaning: "call me back (accepts the offer of ROUTER_QUEUE_FULL#0001): {desiredTime?}",
    text: {
      it: () => "Richiamami.",
      en: () => "Call me back.",
    },
  },
  "ROUTER_CALLBACK_REGISTERED#0001": {
    direction: "toClient",
    meaning: "a callback was booked: {at?}",
    text: {
      it: (f) =>
        f.at !== undefined
          ? `La richiamata è prenotata per il ${f.at}.`
          : "La richiamata è prenotata: un operatore ti chiamerà appena possibile.",
      en: (f) =>
        f.at !== undefined
          ? `Your callback is booked for ${f.at}.`
          : "Your callback is booked: an operator will call you as soon as possible.",
    },
  },
  "ROUTER_CALLBACK_FAILED#0001": {
    direction: "toClient",
    meaning: "the callback could not be booked; nothing was booked",
    text: {
      it: () => "Non è stato possibile prenotare la richiamata. Riprova più tardi.",
      en: () => "The callback could not be booked. Please try again later.",
    },
  },
} as const satisfies Record<string, NoticeSpec>;

export type NoticeCode = keyof typeof NOTICES;
export const NOTICE_CODES = Object.keys(NOTICES) as NoticeCode[];

export function isNoticeCode(code: string): code is NoticeCode {
  return Object.hasOwn(NOTICES, code);
}

export function noticeDirection(code: NoticeCode): NoticeDirection {
  return NOTICES[code].direction;
}

/** it or en from the primary subtag of a BCP-47 tag ("it-IT" → it); anything else → en. */
export function noticeLang(lang: string): NoticeLang {
  const primary = lang.split("-")[0]?.toLowerCase();
  return primary === "it" ? "it" : "en";
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;
const LOCALES: Record<NoticeLang, string> = { it: "it-IT", en: "en-GB" };

/** An ISO 8601 date-time in the reader's language and `timeZone` (named in the text); other text verbatim. */
function formatWhen(value: string, lang: NoticeLang, timeZone: string): string {
  if (!ISO_DATE_TIME.test(value)) return value;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  try {
    return new Intl.DateTimeFormat(LOCALES[lang], {
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone,
      timeZoneName: "short",
    }).format(date);
  } catch {
    return value;
  }
}

function nonEmptyText(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  const t = v.trim();
  return t === "" || t.length > 256 ? undefined : t;
}

function fieldsOf(data: NoticeData, lang: NoticeLang, timeZone: string): Fields {
  const f: Fields = {};
  if (typeof data.position === "number" && Number.isSafeInteger(data.position) && data.position > 0) {
    f.position = String(data.position);
  }
  const w = data.estimatedWaitSeconds;
  if (typeof w === "number" && Number.isFinite(w) && w > 0) f.minutes = String(Math.max(1, Math.round(w / 60)));
  const nickname = nonEmptyText(data.nickname);
  if (nickname !== undefined) f.nickname = nickname;
  const opensAt = nonEmptyText(data.opensAt);
  if (opensAt !== undefined) f.opensAt = formatWhen(opensAt, lang, timeZone);
  const until = nonEmptyText(data.until);
  if (until !== undefined) f.until = formatWhen(until, lang, timeZone);
  const closesAt = nonEmptyText(data.closesAt);
  if (closesAt !== undefined) f.closesAt = formatWhen(closesAt, lang, timeZone);
  const reason = nonEmptyText(data.reason);
  if (reason !== undefined) f.reason = reason;
  const name = nonEmptyText(data.name);
  if (name !== undefined) f.name = name;
  if (data.callbackOffered === true) f.callbackOffered = true;
  const when = nonEmptyText(data.at);
  if (when !== undefined) f.at = formatWhen(when, lang, timeZone);
  return f;
}

export interface NoticeTextOptions {
  /** IANA time zone for date-times in the text; default UTC (the text names the zone). */
  timeZone?: string;
}

/**
 * The localised text of a notice. Language is matched on the primary subtag;
 * languages other than it and en get English. A missing or unusable data
 * value drops its clause ("You are in the queue for an operator." instead of
 * "You are number 3 in the queue for an operator.").
 */
export function noticeText(code: NoticeCode, lang: string, data: NoticeData = {}, opts: NoticeTextOptions = {}): string {
  const l = noticeLang(lang);
  const spec: NoticeSpec = NOTICES[code];
  return spec.text[l](fieldsOf(data, l, opts.timeZone ?? "UTC"));
}
