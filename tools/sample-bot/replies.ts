// What the sample bot answers (pure: no I/O). Requests follow the webhook
// contract of spec/backends.md section 1; answers are the output of Rasa's REST
// channel: a JSON array of messages, each with `recipient_id` and one or more
// of `text`, `buttons` [{title, payload}], `image`, `custom`.
// https://rasa.com/docs/rasa/connectors/your-own-website/#rest-channels

/** `metadata.event` values of the webhook contract. */
export type BotEvent =
  | "message"
  | "session_start"
  | "session_reset"
  | "operator_returned"
  | "operator_closed"
  /** backends.md section 2c: the user accepted a callback at a full queue; `message` is the time asked for, or empty. */
  | "operator_callback"
  | "button";

export interface BotMetadata {
  conversationId?: string;
  /** The idempotency key: a retried request carries the same one. */
  messageId?: string;
  channel?: string;
  chatTitle?: string;
  locale?: string;
  event?: BotEvent | (string & {});
  apiVersion?: string;
  os?: string;
  appVersion?: string;
  premium?: boolean;
}

/** A webhook request body, as the router sends it. */
export interface BotRequest {
  sender: string;
  message?: string;
  metadata?: BotMetadata;
}

export interface RasaButton {
  title: string;
  payload: string;
}

/** One element of a Rasa REST channel answer. */
export interface RasaMessage {
  recipient_id: string;
  text?: string;
  buttons?: RasaButton[];
  image?: string;
  /** Rasa's send_attachment: here `{url, name, mediaType}`. */
  attachment?: { url: string; name: string; mediaType: string };
  custom?: Record<string, unknown>;
}

export type Locale = "it" | "en";

/** `it` unless the request asks for English (`en`, `en-GB`, ...). */
export function localeOf(req: BotRequest): Locale {
  return req.metadata?.locale?.toLowerCase().startsWith("en") ? "en" : "it";
}

const STRINGS = {
  it: {
    greeting: "Ciao! Sono l'assistente virtuale. Come posso aiutarti?",
    newSession: "Nuova sessione: ciao di nuovo! Come posso aiutarti?",
    operatorReturned: "Bentornato! Posso aiutarti ancora?",
    operatorClosed: "Gli operatori non sono disponibili in questo momento: intanto posso aiutarti io.",
    callback: "Va bene: ho preso nota, un operatore ti richiamerà appena possibile.",
    menu: "Ecco cosa posso fare per te:",
    offers: "Le offerte di oggi: 10 GB a 5 €/mese, 50 GB a 9 €/mese.",
    image: "Ecco un'immagine:",
    handoff: "Ti passo a un operatore, attendi qualche istante…",
    goodbye: "Ciao, alla prossima!",
    echo: "Hai scritto: ",
    chose: "Hai scelto: ",
    empty: "Non ho capito, puoi ripetere?",
    btnOffers: "Offerte",
    btnOperator: "Parla con un operatore",
    btnImage: "Immagine",
  },
  en: {
    greeting: "Hi! I am the virtual assistant. How can I help you?",
    newSession: "New session: hello again! How can I help you?",
    operatorReturned: "Welcome back! Can I help you with anything else?",
    operatorClosed: "Our operators are not available right now: meanwhile I can help you.",
    callback: "All right: noted, an operator will call you back as soon as possible.",
    menu: "Here is what I can do for you:",
    offers: "Today's offers: 10 GB for €5/month, 50 GB for €9/month.",
    image: "Here is an image:",
    handoff: "I am passing you to an operator, please wait a moment…",
    goodbye: "Bye, see you soon!",
    echo: "You wrote: ",
    chose: "You chose: ",
    empty: "I did not understand, could you repeat?",
    btnOffers: "Offers",
    btnOperator: "Talk to an operator",
    btnImage: "Image",
  },
} as const;

export const HANDOFF_REASON = "user asked for a human";

export interface ReplyOptions {
  /** Absolute URL of the image the bot sends for "immagine"/"image". */
  imageUrl: string;
  /** Base of the text files the bot sends for "file …" (`{base}?text=…` answers the text). */
  echoFileUrl?: string;
}

/** The bot's answer to one webhook request. */
export function botReply(req: BotRequest, opts: ReplyOptions): RasaMessage[] {
  const to = req.sender;
  const t = STRINGS[localeOf(req)];
  const text = (s: string, buttons?: RasaButton[]): RasaMessage =>
    buttons ? { recipient_id: to, text: s, buttons } : { recipient_id: to, text: s };
  const menuButtons: RasaButton[] = [
    { title: t.btnOffers, payload: "/offers" },
    { title: t.btnOperator, payload: "/operator" },
  ];
  const handoff = (): RasaMessage[] => [text(t.handoff), { recipient_id: to, custom: { router: { handoff: { reason: HANDOFF_REASON } } } }];
  const payload = (p: string): RasaMessage[] => {
    switch (p.trim().toLowerCase()) {
      case "/offers":
        return [text(t.offers, menuButtons)];
      case "/operator":
        return handoff();
      case "/menu":
      case "/help":
        return [text(t.menu, [...menuButtons, { title: t.btnImage, payload: "/image" }])];
      case "/image":
        return [text(t.image), { recipient_id: to, image: opts.imageUrl }];
      case "/bye":
        return [text(t.goodbye), { recipient_id: to, custom: { router: { close: true } } }];
      default:
        return [text(t.chose + p)];
    }
  };

  const message = req.message ?? "";
  switch (req.metadata?.event ?? "message") {
    case "session_start":
      return [text(t.greeting, menuButtons)];
    case "session_reset":
      return [text(t.newSession, menuButtons)];
    case "operator_returned":
      return [text(t.operatorReturned, menuButtons)];
    case "operator_closed":
      return [text(t.operatorClosed, menuButtons)];
    case "operator_callback":
      return [text(t.callback)];
    case "button":
      return payload(message);
    default:
      break;
  }

  const words = message
    .trim()
    .toLowerCase()
    .replace(/[!?.,;]+$/u, "");
  if (words === "") return [text(t.empty)];
  // A payload typed or sent as text is treated as the button (Rasa does the same with "/intent").
  if (words.startsWith("/")) return payload(words);
  if (words === "menu" || words === "help" || words === "aiuto") return payload("/menu");
  if (words === "immagine" || words === "image") return payload("/image");
  // "file <text>": the text back as a text file (protocol.md section 10; the fault suite's files in flight).
  const file = /^file\s+(.+)$/isu.exec(message.trim())?.[1];
  if (file && opts.echoFileUrl) {
    const url = `${opts.echoFileUrl}?text=${encodeURIComponent(file)}`;
    return [{ recipient_id: to, attachment: { url, name: file, mediaType: "text/plain" } }];
  }
  if (/operator/iu.test(message)) return handoff(); // "operatore" and "operator"
  if (words === "ciao" || words === "bye") return payload("/bye");
  return [text(t.echo + message)];
}
