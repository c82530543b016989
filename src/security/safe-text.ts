// Text from bots and operators that reaches clients (issue 13). Clients show
// it as HTML, so it is reduced by a real HTML parser (sanitize-html) to the
// subset the PBX seed describes: b, i, u, br, p, ul, ol, li, with no
// attribute at all (no href, no on* handler, no style); script and style
// elements go with their content, every other element is dropped and its
// text kept. Control characters other than newline and tab are dropped, as
// are lone surrogates and U+FFFE/U+FFFF (not XML 1.0 characters); emoji and
// all other Unicode stay as they are.
// Plain clients and <body> get plainText(): the same text without markup.
import sanitizeHtml from "sanitize-html";

export const ALLOWED_TAGS = ["b", "i", "u", "br", "p", "ul", "ol", "li"] as const;

const HTML_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...ALLOWED_TAGS],
  allowedAttributes: {},
  allowedSchemes: [],
  disallowedTagsMode: "discard",
  allowVulnerableTags: false,
  nonTextTags: ["script", "style", "textarea", "option", "noscript", "template", "iframe", "object", "svg", "math"],
};

// C0 controls but tab (U+0009) and newline (U+000A), DEL, C1 controls; lone surrogates; U+FFFE, U+FFFF.
const UNSAFE_CHARS =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` without the characters no client should get (control characters other than newline and tab, non-characters). */
export function dropControlChars(text: string): string {
  return text.replace(UNSAFE_CHARS, "");
}

/** Bot or operator text as the allowed HTML subset (what a payload's `text` carries). */
export function safeHtml(text: string): string {
  const clean = dropControlChars(text);
  return /[<>&]/.test(clean) ? sanitizeHtml(clean, HTML_OPTIONS) : clean;
}

// The sanitizer's own output escaping (sanitize-html escapeHtml), undone for plain text.
const UNESCAPE: Record<string, string> = { "&lt;": "<", "&gt;": ">", "&quot;": '"', "&amp;": "&" };

/** Text for clients without HTML (the <body>, plain XMPP clients): the safe subset without its markup, lines kept. */
export function plainText(text: string): string {
  const html = safeHtml(text);
  if (!/[<&]/.test(html)) return html;
  // After safeHtml only the allowed tags remain, attribute-free, in the sanitizer's canonical form.
  const lines = html
    .replace(/<br \/>/g, "\n")
    .replace(/<\/(p|li)>/g, "\n")
    .replace(/<li>/g, "- ")
    .replace(/<\/?(b|i|u|p|ul|ol)>/g, "");
  return sanitizeHtml(lines, { allowedTags: [], allowedAttributes: {} })
    .replace(/&(lt|gt|quot|amp);/g, (e) => UNESCAPE[e] ?? e)
    .replace(/\n+$/, "");
}

/**
 * A copy of a peer's JSON answer (bot, Genesys) with dropControlChars applied to every string and key:
 * what a peer sends is stored (PostgreSQL refuses NUL) and shown, so nothing XML forbids gets through.
 */
export function withoutControlChars<T>(value: T): T {
  if (typeof value === "string") return dropControlChars(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => withoutControlChars(v)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [dropControlChars(k), withoutControlChars(v)])) as T;
  }
  return value;
}
