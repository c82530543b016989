// XEP-0313 §4 (https://xmpp.org/extensions/xep-0313.html#query): the archive
// query a client sends to a channel JID, read into a typed value. Pure.
//
//   <query xmlns="urn:xmpp:mam:2" queryid="f27">
//     <x xmlns="jabber:x:data" type="submit">
//       <field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>
//       <field var="with"><value>…</value></field>          (§4.1.1)
//       <field var="start"><value>2026-01-01T00:00:00Z</value></field>   (§4.1.2, XEP-0082)
//       <field var="end">…</field>
//       <field var="after-id">…</field> <field var="before-id">…</field>  (§4.1.3)
//       <field var="{urn:eime:x:0}chat-title"><value>Supporto</value></field>  (ours, Clark notation per §4.1.5 / XEP-0068)
//     </x>
//     <set xmlns="http://jabber.org/protocol/rsm"><max>10</max><after>…</after></set>  (XEP-0059 §2)
//   </query>
//
// A field the archive does not know is feature-not-implemented (§4.1.5), a
// bad value bad-request naming the field. Archive ids are checked against the
// archive by the caller (unknown: item-not-found, §4.3).
import jid from "@xmpp/jid";
import type { Element } from "@xmpp/xml";
import { NS_DATA_FORMS, NS_MAM, NS_RSM } from "./ns.js";
import { fail, ok, type Result } from "./result.js";

export interface ArchivePage {
  /** Page size, already capped at the archive's maximum. */
  max: number;
  /** RSM `<after>`: the page after this archive id. */
  after?: string;
  /** RSM `<before>`: the page before this id; "" (an empty `<before/>`) asks for the last page. */
  before?: string;
}

export interface ArchiveQuery {
  queryId?: string;
  /** The `with` JID as given (bare or full). */
  with?: string;
  start?: Date;
  end?: Date;
  afterId?: string;
  beforeId?: string;
  chatTitle?: string;
  page: ArchivePage;
}

export interface ArchiveQueryOptions {
  /** Config `protocol.namespace`: the custom field is `{namespace}chat-title`. */
  namespace: string;
  /** Page size when the client gives none, and the most a page holds (config `mam.maxPageSize`). */
  maxPageSize: number;
}

/** The custom field naming a conversation's chat title (protocol.md §3 multi-chat). */
export const chatTitleField = (namespace: string) => `{${namespace}}chat-title`;

// XEP-0082 §3.2 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const MAX_ID_LENGTH = 256;

const bad = (field: string, message: string) => fail("BAD_REQUEST", field, message);

function singleValue(field: Element, name: string): Result<string> {
  const values = field.getChildren("value");
  if (values.length !== 1) return bad(name, "must have exactly one value");
  return ok(values[0]!.getText());
}

function dateValue(text: string, name: string): Result<Date> {
  const t = text.trim();
  const ms = DATE_TIME.test(t) ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? bad(name, "must be an XEP-0082 DateTime, e.g. 2026-01-31T12:00:00Z") : ok(new Date(ms));
}

function idValue(text: string, name: string): Result<string> {
  const t = text.trim();
  if (t === "" || t.length > MAX_ID_LENGTH) return bad(name, `must be an archive id of 1..${MAX_ID_LENGTH} characters`);
  return ok(t);
}

function jidValue(text: string): Result<string> {
  const t = text.trim();
  try {
    const j = jid(t);
    // @xmpp/jid reads some malformed JIDs leniently (a second "@").
    if (!j.domain || t.split("@").length > 2) return bad("with", "must be a JID");
    return ok(j.toString());
  } catch {
    return bad("with", "must be a JID");
  }
}

type Filters = Omit<ArchiveQuery, "page" | "queryId">;

function readField(field: Element, filters: Filters, opts: ArchiveQueryOptions): Result<Filters> {
  const name = String(field.attrs.var ?? "");
  if (name === "FORM_TYPE") {
    const v = singleValue(field, name);
    return !v.ok ? v : v.value.trim() === NS_MAM ? ok(filters) : bad(name, `must be ${NS_MAM}`);
  }
  const known = ["with", "start", "end", "after-id", "before-id", chatTitleField(opts.namespace)];
  if (!known.includes(name)) return fail("ARCHIVE_FIELD_UNKNOWN", name || "field", "this archive does not support the field");
  const v = singleValue(field, name);
  if (!v.ok) return v;
  const set = <K extends keyof Filters>(key: K, r: Result<Filters[K]>): Result<Filters> => (r.ok ? ok({ ...filters, [key]: r.value }) : r);
  switch (name) {
    case "with":
      return set("with", jidValue(v.value));
    case "start":
      return set("start", dateValue(v.value, name));
    case "end":
      return set("end", dateValue(v.value, name));
    case "after-id":
      return set("afterId", idValue(v.value, name));
    case "before-id":
      return set("beforeId", idValue(v.value, name));
    default: {
      const title = v.value.trim();
      return title === "" ? bad(name, "must not be empty") : set("chatTitle", ok(title));
    }
  }
}

function readForm(query: Element, opts: ArchiveQueryOptions): Result<Filters> {
  const forms = query.getChildren("x", NS_DATA_FORMS);
  if (forms.length > 1) return bad("x", "more than one data form");
  let filters: Filters = {};
  const form = forms[0];
  if (!form) return ok(filters);
  if (form.attrs.type !== "submit") return bad("x", 'the data form must be of type "submit"');
  for (const field of form.getChildren("field")) {
    const r = readField(field, filters, opts);
    if (!r.ok) return r;
    filters = r.value;
  }
  if (filters.start && filters.end && filters.start > filters.end) return bad("start", "is after end");
  return ok(filters);
}

/** XEP-0059 §2.1–2.5: max, after, before (empty: the last page). */
function readPage(query: Element, opts: ArchiveQueryOptions): Result<ArchivePage> {
  const set = query.getChild("set", NS_RSM);
  if (!set) return ok({ max: opts.maxPageSize });
  const maxText = set.getChildText("max");
  let max = opts.maxPageSize;
  if (maxText !== null) {
    if (!/^\d{1,9}$/.test(maxText.trim())) return bad("set/max", "must be a non-negative integer");
    max = Math.min(Number(maxText.trim()), opts.maxPageSize);
  }
  const page: ArchivePage = { max };
  const after = set.getChild("after");
  const before = set.getChild("before");
  if (after && before) return bad("set", "after and before together: use the after-id and before-id fields (XEP-0313 §4.3)");
  if (after) {
    const id = idValue(after.getText(), "set/after");
    if (!id.ok) return id;
    page.after = id.value;
  }
  if (before) {
    const text = before.getText().trim();
    if (text !== "") {
      const id = idValue(text, "set/before");
      if (!id.ok) return id;
    }
    page.before = text;
  }
  return ok(page);
}

/** The query of an `<iq type="set">` to an archive. Never throws. */
export function parseArchiveQuery(query: Element, opts: ArchiveQueryOptions): Result<ArchiveQuery> {
  const filters = readForm(query, opts);
  if (!filters.ok) return filters;
  const page = readPage(query, opts);
  if (!page.ok) return page;
  const queryId: unknown = query.attrs.queryid;
  if (queryId !== undefined && (typeof queryId !== "string" || queryId.length > MAX_ID_LENGTH)) {
    return bad("queryid", `must be at most ${MAX_ID_LENGTH} characters`);
  }
  return ok({ ...filters.value, ...(typeof queryId === "string" ? { queryId } : {}), page: page.value });
}
