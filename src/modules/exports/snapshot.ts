import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Db, Tx } from '../../db/database.ts';
import { exportsRepo } from './repo.ts';

/**
 * Reads that must see the ledger at one instant: a reconciliation whose rows, totals and
 * mismatches agree to the fen, an export whose totals row equals the balances.
 *
 * Both run in one REPEATABLE READ, READ ONLY transaction. The level is set with SET TRANSACTION
 * as the transaction's first statement rather than through Kysely's builder, because the PGlite
 * driver (src/db/pglite-dialect.ts) begins every transaction with a bare BEGIN and would drop
 * the setting silently.
 */
export async function inSnapshot<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await exportsRepo.readOnlySnapshot(tx);
    return fn(tx);
  });
}

const embedded = new WeakMap<Db, Promise<boolean>>();

/** Whether `db` is the embedded PGlite (one session for the whole process). Asked once per db. */
export function isEmbedded(db: Db): Promise<boolean> {
  let known = embedded.get(db);
  if (!known) {
    known = exportsRepo.serverVersion(db).then((v) => /PGlite/i.test(v));
    embedded.set(db, known);
    // Asked while the database was away: ask again next time rather than fail every export after.
    known.catch(() => {
      if (embedded.get(db) === known) embedded.delete(db);
    });
  }
  return known;
}

/**
 * The rows `produce` reads inside one snapshot, as a stream a writer pulls from.
 *
 * On PostgreSQL the snapshot transaction stays open while the rows stream (keyset pages, the
 * next query only when the writer wants more), holding one pooled connection and no locks that
 * block writers; it ends when the rows end or the consumer goes away (`return()`).
 *
 * On PGlite there is one database session for the whole process, and a transaction holds it:
 * left open for as long as a slow client downloads, it would stop every other request. So the
 * rows are read in one short snapshot transaction into a spool file (one JSON line each, flat
 * memory), the session is released, and the rows stream from the file. Rows must survive JSON:
 * times as ISO strings, amounts as safe integers.
 */
export function snapshotRows<Row>(db: Db, produce: (tx: Tx) => AsyncIterable<Row>): AsyncGenerator<Row, void, undefined> {
  return (async function* () {
    if (await isEmbedded(db)) yield* spooled(db, produce);
    else yield* direct(db, produce);
  })();
}

async function* direct<Row>(db: Db, produce: (tx: Tx) => AsyncIterable<Row>): AsyncGenerator<Row, void, undefined> {
  const trx = await db.startTransaction().execute();
  let done = false;
  try {
    await exportsRepo.readOnlySnapshot(trx);
    yield* produce(trx);
    done = true;
  } finally {
    // Read only: commit and rollback are the same; rollback also covers a consumer that left.
    if (done) await trx.commit().execute();
    else
      await trx
        .rollback()
        .execute()
        .catch(() => {});
  }
}

async function* spooled<Row>(db: Db, produce: (tx: Tx) => AsyncIterable<Row>): AsyncGenerator<Row, void, undefined> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'fenxiao-snapshot-'));
  const file = path.join(dir, 'rows.ndjson');
  try {
    await inSnapshot(db, async (tx) => {
      const out = fs.createWriteStream(file, { mode: 0o600 });
      try {
        for await (const row of produce(tx)) {
          if (!out.write(`${JSON.stringify(row)}\n`)) await once(out, 'drain');
        }
        out.end();
        await finished(out);
      } catch (err) {
        out.destroy();
        throw err;
      }
    });
    const input = fs.createReadStream(file, { encoding: 'utf8' });
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of lines) if (line) yield JSON.parse(line) as Row;
    } finally {
      lines.close();
      input.destroy();
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
