import { useEffect, useState } from 'react';
import type { ApiClient } from '../../../shared/api.ts';
import type { Grade } from '../../../shared/types.ts';
import { formatYuan } from '../../../shared/format.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

/**
 * Grade names by code, read once per session client (a page of many rows asks once): the
 * console shows 金牌会员, not `gold` (issue 16, item 9). A page that changes grades reloads.
 */
const cache = new WeakMap<ApiClient, Promise<Map<string, string>>>();

function namesOf(api: ApiClient): Promise<Map<string, string>> {
  let p = cache.get(api);
  if (!p) {
    p = api.get<{ items: Grade[] }>('/v1/grades').then(
      (r) => new Map(r.items.map((g) => [g.code, g.name])),
      () => {
        cache.delete(api);
        return new Map<string, string>();
      },
    );
    cache.set(api, p);
  }
  return p;
}

/** Forgets the names (after a grade was created or renamed). */
export function forgetGradeNames(api: ApiClient): void {
  cache.delete(api);
}

/** A grade shown by its name, its code as a tooltip; the code itself when the grade is gone. */
export function GradeName({ code }: { code: string | null | undefined }) {
  const { api } = useAuthed();
  const [names, setNames] = useState<Map<string, string> | null>(null);
  useEffect(() => {
    let live = true;
    void namesOf(api).then((n) => live && setNames(n));
    return () => {
      live = false;
    };
  }, [api]);
  if (!code) return <>—</>;
  const name = names?.get(code);
  return (
    <span title={code} data-grade={code}>
      {name ?? code}
    </span>
  );
}

/**
 * Why a grade changed, in words: an automatic upgrade records `sales_fen 150000 ≥ 100000`
 * (grades/service.ts), said here as a sentence with the amounts in yuan; a person's reason is
 * shown as written.
 */
export function GradeReason({ reason }: { reason: string }) {
  const { t } = useI18n();
  const m = /^(sales_fen|settled_sales_fen) (-?\d+) ≥ (\d+)$/.exec(reason);
  if (!m) return <>{reason}</>;
  const [, metric, value, min] = m as unknown as [string, 'sales_fen' | 'settled_sales_fen', string, string];
  return <span title={reason}>{t(`gradeReason.${metric}`, { value: formatYuan(Number(value)), min: formatYuan(Number(min)) })}</span>;
}
