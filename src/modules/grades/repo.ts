import type { Executor } from '../../db/database.ts';
import type { GradeChangesTable } from '../../db/schema.ts';
import type { Insertable } from 'kysely';

/** grade_changes: the record of every grade a distributor moved to, and why. */
export const gradesRepo = {
  async insertChanges(ex: Executor, rows: Insertable<GradeChangesTable> | Insertable<GradeChangesTable>[]) {
    await ex.insertInto('grade_changes').values(rows).execute();
  },

  async history(ex: Executor, tenantId: string, distributorId: string) {
    return ex
      .selectFrom('grade_changes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  },
};
