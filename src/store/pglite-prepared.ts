// Named prepared statements on PGlite (worker side). PGlite's query() parses
// and plans every call as an unnamed statement; the router's conversation step
// (src/store/steps.ts) is one large statement, and planning it each time cost
// about 2/3 of its CPU (docs/performance.md, PGlite). Here each SQL text is
// parsed once per database under its own name, and only bound and executed
// afterwards, as node-postgres does with named statements on pg (pg-db.ts).
import { parse, protocol, type PGlite, type Results } from "@electric-sql/pglite";

const { serialize } = protocol;

/** More distinct texts than the store has: beyond it, statements run unnamed (and are planned each time). */
const MAX_STATEMENTS = 500;

interface Statement {
  name: string;
  /** Parameter type OIDs, as PostgreSQL inferred them. */
  types: number[];
}

export class PreparedStatements {
  private readonly statements = new Map<string, Statement>();
  private next = 1;

  constructor(private readonly pg: PGlite) {}

  async query(sql: string, params: unknown[] = []): Promise<Results> {
    try {
      return await this.run(sql, params);
    } catch (err) {
      // A table under a cached SELECT * changed shape (a migration): parse it again, once.
      if (!isStalePlan(err) || !this.statements.has(sql)) throw err;
      await this.forget(sql);
      return this.run(sql, params);
    }
  }

  private run(sql: string, params: unknown[]): Promise<Results> {
    return this.pg.runExclusive(async () => {
      const st = this.statements.get(sql) ?? (this.statements.size < MAX_STATEMENTS ? await this.prepare(sql) : undefined);
      if (!st) return this.unnamed(sql, params);
      const messages = [];
      try {
        messages.push(...(await this.send(serialize.bind({ statement: st.name, values: this.values(params, st.types) }))));
        messages.push(...(await this.send(serialize.describe({ type: "P" }))));
        messages.push(...(await this.send(serialize.execute({}))));
      } finally {
        // Sync also ends an error; outside a transaction it is the commit, then written to the data directory.
        messages.push(...(await this.send(serialize.sync(), !this.pg.isInTransaction())));
      }
      return parse.parseResults(messages, this.pg.parsers)[0]!;
    });
  }

  private async prepare(sql: string): Promise<Statement> {
    const name = `eime_${this.next++}`;
    try {
      await this.send(serialize.parse({ name, text: sql }));
      const types = parse.parseDescribeStatementResults(await this.send(serialize.describe({ type: "S", name })));
      const st = { name, types };
      this.statements.set(sql, st);
      return st;
    } catch (err) {
      await this.send(serialize.sync(), false).catch(() => undefined);
      throw err;
    }
  }

  /** A statement beyond the cache's bound: PGlite's own path (already inside its query lock). */
  private async unnamed(sql: string, params: unknown[]): Promise<Results> {
    const messages = [];
    try {
      await this.send(serialize.parse({ text: sql }));
      const types = parse.parseDescribeStatementResults(await this.send(serialize.describe({ type: "S" })));
      messages.push(...(await this.send(serialize.bind({ values: this.values(params, types) }))));
      messages.push(...(await this.send(serialize.describe({ type: "P" }))));
      messages.push(...(await this.send(serialize.execute({}))));
    } finally {
      messages.push(...(await this.send(serialize.sync(), !this.pg.isInTransaction())));
    }
    return parse.parseResults(messages, this.pg.parsers)[0]!;
  }

  private values(params: unknown[], types: number[]): (string | null)[] {
    return params.map((p, i) => {
      if (p === null || p === undefined) return null;
      const serializer = this.pg.serializers[types[i]!];
      if (serializer) return serializer(p);
      if (typeof p === "string") return p;
      if (typeof p === "number" || typeof p === "boolean" || typeof p === "bigint") return p.toString();
      return JSON.stringify(p);
    });
  }

  private async send(message: Uint8Array, syncToFs = false) {
    return (await this.pg.execProtocol(message, { syncToFs })).messages;
  }

  private async forget(sql: string): Promise<void> {
    const st = this.statements.get(sql);
    this.statements.delete(sql);
    if (st) await this.pg.exec(`DEALLOCATE ${st.name}`).catch(() => undefined);
  }
}

function isStalePlan(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code === "0A000" && /cached plan/.test(err.message);
}
