import { useEffect, useState } from 'react';
import { Card, List, Tag } from 'antd-mobile';
import { formatTime, formatYuan } from '../../../shared/format.ts';
import type { Deposit } from '../../../shared/types.ts';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';

/** The fields this card knows; anything else the server adds later is listed as it comes (see extras). */
const KNOWN = new Set(['distributor_id', 'status', 'required_fen', 'paid_fen', 'refunded_fen', 'held_fen']);

type State = 'none' | 'due' | 'partial' | 'held' | 'refunded';

/** Where the deposit stands, from the four amounts alone. */
export function depositState(d: Pick<Deposit, 'required_fen' | 'paid_fen' | 'refunded_fen' | 'held_fen'>): State {
  if (d.held_fen <= 0 && d.refunded_fen > 0) return 'refunded';
  if (d.required_fen <= 0) return d.held_fen > 0 ? 'held' : 'none';
  if (d.held_fen >= d.required_fen) return 'held';
  return d.held_fen > 0 ? 'partial' : 'due';
}

const STATE_COLOR: Record<State, 'success' | 'warning' | 'default' | 'primary'> = {
  none: 'default',
  due: 'warning',
  partial: 'warning',
  held: 'success',
  refunded: 'primary',
};

/**
 * Fields of the answer this card does not know (a refund in progress, say), flattened one level
 * deep: amounts in fen shown as yuan, times as local times, anything else as it came. A field
 * added to the API shows here before the portal learns to word it.
 */
function extras(d: Record<string, unknown>, lang: string, yesNo: (b: boolean) => string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const show = (key: string, v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'number') out.push({ key, value: key.endsWith('_fen') ? formatYuan(v) : String(v) });
    else if (typeof v === 'boolean') out.push({ key, value: yesNo(v) });
    else if (typeof v === 'string') out.push({ key, value: /(_at|_on)$/.test(key) ? formatTime(v, lang) : v });
    else if (Array.isArray(v)) out.push({ key, value: v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') });
    else out.push({ key, value: JSON.stringify(v) });
  };
  for (const [key, v] of Object.entries(d)) {
    if (KNOWN.has(key)) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [sub, w] of Object.entries(v)) show(`${key}.${sub}`, w);
    else show(key, v);
  }
  return out;
}

/**
 * The distributor's admission deposit (GET /v1/me/deposit), read only: what the program asks, what
 * it paid, what the merchant holds for it and what was refunded. Shown when there is a deposit to
 * speak of (one is asked, or was ever paid).
 */
export function DepositCard() {
  const { t, lang } = useI18n();
  const { api } = useSession();
  const [deposit, setDeposit] = useState<Deposit | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.get<Deposit>('/v1/me/deposit').then(
      (d) => live && setDeposit(d),
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [api]);

  if (error)
    return (
      <Card title={t('deposit.title')} data-testid="deposit">
        <p style={{ margin: 0, color: '#666' }}>{t('deposit.error', { message: error })}</p>
      </Card>
    );
  if (!deposit || (deposit.required_fen <= 0 && deposit.paid_fen <= 0)) return null;

  const state = depositState(deposit);
  const due = Math.max(0, deposit.required_fen - deposit.held_fen);
  const more = extras(deposit as unknown as Record<string, unknown>, lang, (b) => (b ? t('deposit.yes') : t('deposit.no')));
  const row = (key: 'required' | 'paid' | 'held' | 'refunded', fen: number) => (
    <List.Item
      extra={
        <strong data-testid={`deposit-${key}`} data-value={fen}>
          {formatYuan(fen)}
        </strong>
      }
    >
      {t(`deposit.${key}`)}
    </List.Item>
  );
  return (
    <Card title={t('deposit.title')} data-testid="deposit">
      <div style={{ marginBottom: 8 }}>
        <Tag color={STATE_COLOR[state]} fill="outline" data-testid="deposit-state" data-state={state}>
          {t(`deposit.state.${state}`, { amount: formatYuan(due) })}
        </Tag>
      </div>
      <List>
        {row('required', deposit.required_fen)}
        {row('paid', deposit.paid_fen)}
        {row('held', deposit.held_fen)}
        {row('refunded', deposit.refunded_fen)}
      </List>
      {more.length > 0 && (
        <List header={t('deposit.more')} data-testid="deposit-more">
          {more.map((m) => (
            <List.Item key={m.key} extra={<span style={{ wordBreak: 'break-all' }}>{m.value}</span>}>
              <code>{m.key}</code>
            </List.Item>
          ))}
        </List>
      )}
      <p style={{ margin: '8px 0 0', color: '#666', fontSize: 13 }}>{t('deposit.hint')}</p>
    </Card>
  );
}
