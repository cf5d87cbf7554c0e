import { sql, type Kysely } from 'kysely';
import { BIDI_CONTROLS_CLASS } from '../../core/text.ts';

/**
 * Names and file names stored before Text fields refused bidirectional control characters
 * (issue 14, item 13) lose them: a right-to-left override kept in a distributor's name or a
 * document's file name would go on reordering what every screen shows (`invoice\u202efdp.exe`
 * listed as `invoiceexe.pdf`). Removing them changes no visible character, only the order a
 * screen draws them in. The audit log is hash-chained and keeps what it recorded.
 */
const COLUMNS: readonly [table: string, column: string][] = [
  ['distributors', 'name'],
  ['tenants', 'name'],
  ['admin_users', 'name'],
  ['grades', 'name'],
  ['documents', 'filename'],
];

export async function up(db: Kysely<any>): Promise<void> {
  const pattern = `[${BIDI_CONTROLS_CLASS}]`;
  for (const [table, column] of COLUMNS) {
    await sql`update ${sql.table(table)} set ${sql.ref(column)} = regexp_replace(${sql.ref(column)}, ${pattern}, '', 'g')
      where ${sql.ref(column)} ~ ${pattern}`.execute(db);
  }
}

export async function down(): Promise<void> {
  // What was removed reordered screens; nothing to restore.
}
