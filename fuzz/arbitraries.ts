// Inputs shared by the XML-safety property test and the codec fuzzer: strings
// drawn from every class of code point that matters to XML 1.0 (production
// [2] Char, https://www.w3.org/TR/xml/#charsets) and to PostgreSQL text/jsonb,
// and a strict XML parser (saxes) to judge what the router writes.
import fc from "fast-check";
import { SaxesParser } from "saxes";

const range = (min: number, max: number) => fc.integer({ min, max }).map((n) => String.fromCharCode(n));
const codePoints = (min: number, max: number) => fc.integer({ min, max }).map((n) => String.fromCodePoint(n));

/** Pieces XML 1.0 allows. */
const allowedClasses = [
  range(0x20, 0x7e), // printable ASCII
  fc.constantFrom("\t", "\n", "\r"), // the only C0 controls XML allows
  range(0x7f, 0x9f), // DEL and C1: allowed by XML 1.0, refused in chat titles
  range(0xa0, 0xd7ff), // the rest of the BMP below the surrogates
  range(0xe000, 0xfffd), // private use and the top of the BMP
  codePoints(0x10000, 0x10ffff), // astral, as a surrogate pair (U+1FFFE and friends are allowed)
  fc.constantFrom("&", "<", ">", '"', "'", "]]>", "\\", "\\u0000", "|$|", "&#1;", "\uFFFD"),
];

/** Pieces XML 1.0 forbids. */
const forbiddenClasses = [
  range(0x00, 0x08), // C0 (NUL among them)
  fc.constantFrom("\u000B", "\u000C"),
  range(0x0e, 0x1f),
  range(0xd800, 0xdbff), // a lone high surrogate
  range(0xdc00, 0xdfff), // a lone low surrogate
  fc.constantFrom("\uFFFE", "\uFFFF"), // the BMP noncharacters
];

/** One piece of text from any class, equally likely. */
export const codepointClass = fc.oneof(...allowedClasses, ...forbiddenClasses);
/** One piece XML allows. */
export const allowedPiece = fc.oneof(...allowedClasses);

const pieces = (piece: fc.Arbitrary<string>, maxPieces: number, minPieces: number) =>
  fc.array(piece, { minLength: minPieces, maxLength: maxPieces }).map((p) => p.join(""));

/** A string of pieces of any class. */
export function classString(maxPieces = 12, minPieces = 0) {
  return pieces(codepointClass, maxPieces, minPieces);
}

/** A string of pieces XML allows (markup and look-alike escapes included). */
export function allowedString(maxPieces = 12, minPieces = 0) {
  return pieces(allowedPiece, maxPieces, minPieces);
}

/** JSON text with every non-ASCII UTF-16 unit written as a \u escape: valid XML text whatever the string holds. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/** Throws (with the parser's reason) unless `text` is a well-formed XML 1.0 document with namespaces. */
export function assertWellFormed(text: string): void {
  const parser = new SaxesParser({ xmlns: true, additionalNamespaces: { stream: "http://etherx.jabber.org/streams" } });
  let failure: Error | undefined;
  parser.on("error", (err) => {
    failure ??= err;
  });
  parser.write(text).close();
  if (failure) throw new Error(`not well-formed XML (${failure.message}): ${JSON.stringify(text.slice(0, 300))}`);
}
