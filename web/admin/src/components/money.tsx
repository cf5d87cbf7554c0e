import { useEffect, useId, useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { App, Form, Input, Modal, Tag, Typography } from 'antd';
import { formatYuan } from '../../../shared/format.ts';
import type { ApiClient } from '../../../shared/api.ts';
import type { CommissionStatus, OrderStatus, StatementStatus, WithdrawalStatus } from '../../../shared/types.ts';
import { useI18n } from '../i18n.ts';
import type { MessageKey } from '../messages.ts';
import { useAuthed } from '../session.tsx';
import { messageOf } from './errors.ts';

/** An amount in fen shown as yuan; a negative amount (a clawback, a debt) in red with its sign. */
export function Money({ fen, strong, testId }: { fen: number; strong?: boolean; testId?: string }) {
  return (
    <Typography.Text
      strong={strong}
      type={fen < 0 ? 'danger' : undefined}
      data-testid={testId}
      data-fen={fen}
      style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}
    >
      {formatYuan(fen)}
    </Typography.Text>
  );
}

const ORDER_COLORS: Record<OrderStatus, string> = {
  pending_payment: 'gold',
  closed: 'default',
  paid: 'blue',
  shipped: 'cyan',
  received: 'geekblue',
  completed: 'green',
  cancelled: 'default',
  refunded: 'volcano',
};
const COMMISSION_COLORS: Record<CommissionStatus, string> = { pending: 'gold', available: 'blue', settled: 'green', reversed: 'default' };
const STATEMENT_COLORS: Record<StatementStatus, string> = { pending_review: 'gold', approved: 'green', rejected: 'volcano' };
const WITHDRAWAL_COLORS: Record<WithdrawalStatus, string> = { pending_review: 'gold', approved: 'blue', paid: 'green', failed: 'red', rejected: 'volcano' };

/** A status the server may grow: known ones are translated, anything else is shown as it came. */
function KnownTag({ value, color, prefix }: { value: string; color: string | undefined; prefix: string }) {
  const { t } = useI18n();
  const key = `${prefix}.${value}` as MessageKey;
  const label = t(key);
  return <Tag color={color ?? 'default'}>{label === key ? value : label}</Tag>;
}

export function OrderStatusTag({ status }: { status: string }) {
  return <KnownTag value={status} color={ORDER_COLORS[status as OrderStatus]} prefix="orderStatus" />;
}
export function CommissionStatusTag({ status, held }: { status: string; held?: boolean }) {
  const { t } = useI18n();
  return (
    <>
      <KnownTag value={status} color={COMMISSION_COLORS[status as CommissionStatus]} prefix="commissionStatus" />
      {held && <Tag color="red">{t('commission.held')}</Tag>}
    </>
  );
}
export function StatementStatusTag({ status }: { status: string }) {
  return <KnownTag value={status} color={STATEMENT_COLORS[status as StatementStatus]} prefix="statementStatus" />;
}
export function WithdrawalStatusTag({ status }: { status: string }) {
  return <KnownTag value={status} color={WITHDRAWAL_COLORS[status as WithdrawalStatus]} prefix="withdrawalStatus" />;
}
export function PayoutStateTag({ state }: { state: string }) {
  const color =
    state === 'succeeded'
      ? 'green'
      : state === 'failed' || state === 'cancelled'
        ? 'red'
        : state === 'wait_user_confirm' || state === 'unknown'
          ? 'gold'
          : 'blue';
  return <KnownTag value={state} color={color} prefix="payoutState" />;
}
export function ChannelLabel({ channel }: { channel: string }) {
  const { t } = useI18n();
  const key = `channel.${channel}` as MessageKey;
  const label = t(key);
  return <>{label === key ? channel : label}</>;
}

/**
 * Distributor names for lists that carry only ids, fetched once per id and page load. Ids are
 * globally unique (prefixed, time-ordered), so one cache serves any tenant; an id this session
 * cannot see resolves to null and shows as the id.
 */
const names = new Map<string, Promise<string | null>>();

function nameOf(api: ApiClient, id: string): Promise<string | null> {
  let p = names.get(id);
  if (!p) {
    p = api.get<{ name: string }>(`/v1/distributors/${encodeURIComponent(id)}`).then(
      (d) => d.name,
      () => null,
    );
    names.set(id, p);
  }
  return p;
}

export function DistributorLink({ id, testId }: { id: string | null; testId?: string }) {
  const { api } = useAuthed();
  const [name, setName] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    if (!id) return undefined;
    let live = true;
    void nameOf(api, id).then((n) => {
      if (live) setName(n);
    });
    return () => {
      live = false;
    };
  }, [api, id]);
  if (!id) return <>—</>;
  return (
    <Link to={`/distributors/${encodeURIComponent(id)}`} data-testid={testId}>
      {name ?? id}
    </Link>
  );
}

export interface ReasonField {
  name: string;
  label: string;
  required?: boolean;
  max?: number;
  multiline?: boolean;
}

/**
 * A confirmation that needs words: a reason (reject, fail, hold), a reference (a completed
 * payout). `extra` goes above the fields (a choice, a hint). Errors from the server stay in the
 * dialog as a message; the dialog closes only when `onSubmit` succeeds.
 */
export function ReasonDialog({
  open,
  title,
  fields,
  extra,
  okText,
  danger,
  onSubmit,
  onClose,
}: {
  open: boolean;
  title: string;
  fields: ReasonField[];
  extra?: ReactNode;
  okText?: string;
  danger?: boolean;
  onSubmit: (values: Record<string, string>) => Promise<unknown>;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Record<string, string>>();
  const [busy, setBusy] = useState(false);
  // Several dialogs live on one page: a form name of its own keeps their field ids (and labels) apart.
  const formName = `dialog${useId().replace(/[^A-Za-z0-9]/g, '')}`;

  useEffect(() => {
    if (open) form.resetFields();
  }, [open, form]);

  async function ok() {
    let values: Record<string, string>;
    try {
      values = await form.validateFields();
    } catch {
      return;
    } // the form says what is missing
    setBusy(true);
    try {
      await onSubmit(Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v])));
      onClose();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      open={open}
      title={title}
      onCancel={onClose}
      onOk={() => void ok()}
      confirmLoading={busy}
      okText={okText ?? t('common.confirm')}
      cancelText={t('common.cancel')}
      okButtonProps={{ danger }}
      destroyOnHidden
      forceRender
      // Opened from a drawer too (a withdrawal's detail): above it.
      zIndex={1100}
    >
      <Form form={form} name={formName} layout="vertical">
        {extra}
        {fields.map((f) => (
          <Form.Item
            key={f.name}
            name={f.name}
            label={f.label}
            rules={f.required === false ? [] : [{ required: true, whitespace: true, message: t('money.required', { field: f.label }) }]}
          >
            {f.multiline === false ? <Input maxLength={f.max ?? 128} /> : <Input.TextArea rows={3} maxLength={f.max ?? 500} showCount />}
          </Form.Item>
        ))}
      </Form>
    </Modal>
  );
}
