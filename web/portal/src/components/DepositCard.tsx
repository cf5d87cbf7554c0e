import { useCallback, useEffect, useState } from 'react';
import { Button, Card, List, NoticeBar, Tag, Toast } from 'antd-mobile';
import { formatTime, formatYuan } from '../../../shared/format.ts';
import type { MyDeposit } from '../../../shared/types.ts';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { inWechat, requestDepositRefundTransfer } from '../wechat.ts';

type State = 'none' | 'due' | 'partial' | 'held' | 'refunded';
type Refund = NonNullable<MyDeposit['refund']>;

/** Where the deposit stands, from the four amounts alone. */
export function depositState(d: Pick<MyDeposit, 'required_fen' | 'paid_fen' | 'refunded_fen' | 'held_fen'>): State {
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

const REFUND_COLOR: Record<Refund['status'], 'success' | 'warning' | 'default' | 'primary' | 'danger'> = {
  pending_review: 'warning',
  approved: 'primary',
  paid: 'success',
  failed: 'danger',
  rejected: 'default',
};

/**
 * The distributor's admission deposit (GET /v1/me/deposit): what the program asks, what it paid,
 * what the merchant holds for it, what is on its way back and what was refunded, and the newest
 * refund's status. A refund whose WeChat transfer waits for the payee offers WeChat's own
 * confirmation (wx.requestMerchantTransfer), as the withdrawals page does for a withdrawal. Shown
 * when there is a deposit to speak of (one is asked, or was ever paid).
 */
export function DepositCard() {
  const { t } = useI18n();
  const { api } = useSession();
  const [deposit, setDeposit] = useState<MyDeposit | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const reload = useCallback(() => setReloads((n) => n + 1), []);

  useEffect(() => {
    let live = true;
    api.get<MyDeposit>('/v1/me/deposit').then(
      (d) => live && setDeposit(d),
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [api, reloads]);

  if (error)
    return (
      <Card title={t('deposit.title')} data-testid="deposit">
        <p style={{ margin: 0, color: '#666' }}>{t('deposit.error', { message: error })}</p>
      </Card>
    );
  if (!deposit || (deposit.required_fen <= 0 && deposit.paid_fen <= 0)) return null;

  const state = depositState(deposit);
  const due = Math.max(0, deposit.required_fen - deposit.held_fen);
  const row = (key: 'required' | 'paid' | 'held' | 'refunding' | 'refunded', fen: number) => (
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
        {deposit.refunding_fen !== 0 && row('refunding', deposit.refunding_fen)}
        {row('refunded', deposit.refunded_fen)}
      </List>
      {deposit.refund && <RefundLine refund={deposit.refund} onConfirmed={reload} />}
      <p style={{ margin: '8px 0 0', color: '#666', fontSize: 13 }}>{t('deposit.hint')}</p>
    </Card>
  );
}

/** The newest refund: its amount, when it was asked for, its status in words; and the confirmation a WeChat transfer waits for. */
function RefundLine({ refund, onConfirmed }: { refund: Refund; onConfirmed: () => void }) {
  const { t, lang } = useI18n();
  const { api } = useSession();
  const [confirming, setConfirming] = useState(false);
  const wechat = inWechat();

  /** WeChat's own confirmation page; the status changes when WeChat Pay reports the transfer. */
  async function confirm() {
    setConfirming(true);
    try {
      const result = await requestDepositRefundTransfer(api, refund.id);
      if (result === 'requestMerchantTransfer:ok') {
        Toast.show({ icon: 'success', content: t('wx.confirmSent') });
        onConfirmed();
      } else if (/cancel/i.test(result)) {
        Toast.show({ content: t('wx.confirmCancelled') });
      } else {
        Toast.show({ icon: 'fail', content: t('wx.confirmFailed', { message: result }) });
      }
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('wx.confirmFailed', { message: messageOf(err) }) });
    } finally {
      setConfirming(false);
    }
  }

  return (
    <List header={t('deposit.refund.title')} data-testid="deposit-refund" data-refund-id={refund.id}>
      <List.Item
        description={t('deposit.refund.asked', { amount: formatYuan(refund.amount_fen), time: formatTime(refund.created_at, lang) })}
        extra={
          <Tag color={REFUND_COLOR[refund.status]} fill="outline" data-testid="deposit-refund-status" data-status={refund.status}>
            {t(`deposit.refund.status.${refund.status}`)}
          </Tag>
        }
      >
        <span data-testid="deposit-refund-amount" data-value={refund.amount_fen}>
          {formatYuan(refund.amount_fen)}
        </span>
      </List.Item>
      {refund.awaiting_confirmation && (
        <div style={{ padding: '8px 0' }} data-testid="deposit-refund-waiting">
          <NoticeBar color="alert" wrap content={t('deposit.refund.waiting')} />
          {wechat ? (
            <Button block color="success" style={{ marginTop: 8 }} loading={confirming} onClick={() => void confirm()} data-testid="deposit-refund-confirm">
              {t('deposit.refund.confirm')}
            </Button>
          ) : (
            <p style={{ margin: '8px 0 0', fontSize: 13, color: '#666' }}>{t('deposit.refund.openInWechat')}</p>
          )}
        </div>
      )}
    </List>
  );
}
