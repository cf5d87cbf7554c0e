import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, App, Button, Descriptions, Drawer, Popconfirm, Select, Space, Spin, Table, Typography } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { saveBlob } from '../../../shared/api.ts';
import { formatTime } from '../../../shared/format.ts';
import type { Page, PayoutAccount, PayoutChannel, Withdrawal, WithdrawalStatus } from '../../../shared/types.ts';
import { ExportButton } from '../components/ExportButton.tsx';
import { messageOf } from '../components/errors.ts';
import { ChannelLabel, DistributorLink, Money, PayoutStateTag, ReasonDialog, WithdrawalStatusTag } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { Pager } from './Distributors.tsx';
import { DistributorPicker } from './Orders.tsx';

const STATUSES: WithdrawalStatus[] = ['pending_review', 'approved', 'paid', 'failed', 'rejected'];
const CHANNELS: PayoutChannel[] = ['manual', 'bank', 'alipay', 'wechat'];
const OFFLINE: readonly string[] = ['manual', 'bank'];
const OPEN_PAYOUT: readonly string[] = ['created', 'submitted', 'processing', 'wait_user_confirm', 'unknown'];

type Action = { kind: 'reject' | 'complete' | 'fail' | 'cancel'; w: Withdrawal } | null;

/** What a finance person may do next with a withdrawal, by its status and channel. */
function WithdrawalActions({ w, onAction, onApprove }: { w: Withdrawal; onAction: (a: Action) => void; onApprove: (w: Withdrawal) => void }) {
  const { t } = useI18n();
  const { can } = useAuthed();
  if (!can('finance:approve')) return null;
  if (w.status === 'pending_review') {
    return (
      <Space>
        <Popconfirm title={t('withdrawals.approveConfirm')} okText={t('common.confirm')} cancelText={t('common.cancel')} onConfirm={() => onApprove(w)}>
          <Button size="small" type="primary" data-testid={`wd-approve-${w.id}`}>
            {t('withdrawals.approve')}
          </Button>
        </Popconfirm>
        <Button size="small" danger onClick={() => onAction({ kind: 'reject', w })} data-testid={`wd-reject-${w.id}`}>
          {t('withdrawals.reject')}
        </Button>
      </Space>
    );
  }
  if (w.status === 'approved' && OFFLINE.includes(w.channel) && (!w.payout || OPEN_PAYOUT.includes(w.payout.state))) {
    return (
      <Space>
        <Button size="small" type="primary" onClick={() => onAction({ kind: 'complete', w })} data-testid={`wd-complete-${w.id}`}>
          {t('withdrawals.complete')}
        </Button>
        <Button size="small" danger onClick={() => onAction({ kind: 'fail', w })} data-testid={`wd-fail-${w.id}`}>
          {t('withdrawals.fail')}
        </Button>
      </Space>
    );
  }
  if (w.status === 'approved' && w.payout?.state === 'wait_user_confirm') {
    return (
      <Button size="small" danger onClick={() => onAction({ kind: 'cancel', w })} data-testid={`wd-cancel-${w.id}`}>
        {t('withdrawals.cancelTransfer')}
      </Button>
    );
  }
  return null;
}

function WithdrawalDetail({
  id,
  version,
  onAction,
  onApprove,
}: {
  id: string;
  version: number;
  onAction: (a: Action) => void;
  onApprove: (w: Withdrawal) => void;
}) {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [w, setW] = useState<Withdrawal | null>(null);
  const [account, setAccount] = useState<PayoutAccount | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.get<Withdrawal>(`/v1/withdrawals/${encodeURIComponent(id)}`).then(
      async (x) => {
        if (!live) return;
        setW(x);
        if (x.payout_account_id) {
          const accounts = await api
            .get<{ items: PayoutAccount[] }>(`/v1/distributors/${encodeURIComponent(x.distributor_id)}/payout-accounts`)
            .catch(() => ({ items: [] as PayoutAccount[] }));
          if (live) setAccount(accounts.items.find((a) => a.id === x.payout_account_id) ?? null);
        }
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    return () => {
      live = false;
    };
  }, [api, id, version]);

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!w) return <Spin />;
  const p = w.payout;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="withdrawal-detail">
      <Descriptions
        size="small"
        bordered
        column={1}
        items={[
          { key: 'id', label: t('withdrawals.id'), children: <Typography.Text copyable>{w.id}</Typography.Text> },
          { key: 'distributor', label: t('settlement.distributor'), children: <DistributorLink id={w.distributor_id} /> },
          { key: 'status', label: t('withdrawals.status'), children: <WithdrawalStatusTag status={w.status} /> },
          { key: 'amount', label: t('withdrawals.amount'), children: <Money fen={w.amount_fen} strong /> },
          { key: 'fee', label: t('withdrawals.fee'), children: <Money fen={w.fee_fen} /> },
          { key: 'net', label: t('withdrawals.net'), children: <Money fen={w.net_fen} strong /> },
          { key: 'channel', label: t('withdrawals.channel'), children: <ChannelLabel channel={w.channel} /> },
          { key: 'account', label: t('withdrawals.account'), children: account ? account.display : (w.payout_account_id ?? t('withdrawals.noAccount')) },
          { key: 'reason', label: t('withdrawals.statusReason'), children: w.status_reason ?? '—' },
          { key: 'reference', label: t('withdrawals.reference'), children: w.reference ?? '—' },
          { key: 'created', label: t('common.createdAt'), children: formatTime(w.created_at, lang) },
          { key: 'approved', label: t('withdrawals.approvedAt'), children: formatTime(w.approved_at, lang) },
          { key: 'paid', label: t('withdrawals.paidAt'), children: formatTime(w.paid_at, lang) },
          { key: 'failed', label: t('withdrawals.failedAt'), children: formatTime(w.failed_at, lang) },
        ]}
      />
      <Typography.Title level={3} style={{ fontSize: 16, margin: 0 }}>
        {t('withdrawals.payout')}
      </Typography.Title>
      {!p ? (
        <Typography.Text type="secondary">{t('withdrawals.noPayout')}</Typography.Text>
      ) : (
        <Descriptions
          size="small"
          bordered
          column={1}
          data-testid="payout-status"
          items={[
            { key: 'state', label: t('withdrawals.payoutState'), children: <PayoutStateTag state={p.state} /> },
            { key: 'out', label: t('withdrawals.outNo'), children: <Typography.Text code>{p.out_no}</Typography.Text> },
            { key: 'ref', label: t('withdrawals.providerRef'), children: p.provider_ref ?? '—' },
            { key: 'code', label: t('withdrawals.failCode'), children: p.fail_code ?? '—' },
            { key: 'failReason', label: t('withdrawals.failReason'), children: p.fail_reason ?? '—' },
            {
              key: 'package',
              label: t('withdrawals.packageInfo'),
              children: p.package_info ? t('withdrawals.packagePresent') : t('withdrawals.packageAbsent'),
            },
          ]}
        />
      )}
      <WithdrawalActions w={w} onAction={onAction} onApprove={onApprove} />
    </Space>
  );
}

export default function WithdrawalsPage() {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [params, setParams] = useSearchParams();
  const [status, setStatus] = useState<WithdrawalStatus | ''>('');
  const [channel, setChannel] = useState<PayoutChannel | ''>('');
  const [distributor, setDistributor] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<Withdrawal> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [action, setAction] = useState<Action>(null);
  const [downloading, setDownloading] = useState(false);
  const cursor = cursors[cursors.length - 1] ?? null;
  const openId = params.get('open');

  useEffect(() => {
    let live = true;
    setPage(null);
    setError(null);
    api
      .get<Page<Withdrawal>>('/v1/withdrawals', {
        status: status || undefined,
        channel: channel || undefined,
        distributor_id: distributor || undefined,
        cursor,
        limit: 20,
      })
      .then(
        (p) => {
          if (live) setPage(p);
        },
        (err: unknown) => {
          if (live) setError(messageOf(err));
        },
      );
    return () => {
      live = false;
    };
  }, [api, status, channel, distributor, cursor, version]);

  const reload = useCallback(() => setVersion((v) => v + 1), []);

  async function approve(w: Withdrawal) {
    try {
      await api.post(`/v1/withdrawals/${encodeURIComponent(w.id)}/approve`, {});
      void message.success(t('withdrawals.approved'));
      reload();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  async function bankFile() {
    setDownloading(true);
    try {
      const { blob, filename } = await api.file('/v1/payouts/bank-file', 'fenxiao-bank-batch.csv');
      saveBlob(blob, filename);
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setDownloading(false);
    }
  }

  const dialogs = {
    reject: { title: t('withdrawals.rejectTitle'), field: { name: 'reason', label: t('common.reason') }, path: 'reject', done: t('withdrawals.rejected') },
    complete: {
      title: t('withdrawals.completeTitle'),
      field: { name: 'reference', label: t('withdrawals.reference'), multiline: false, max: 128 },
      path: 'complete',
      done: t('withdrawals.completed'),
    },
    fail: {
      title: t('withdrawals.failTitle'),
      field: { name: 'reason', label: t('withdrawals.failReasonInput') },
      path: 'fail',
      done: t('withdrawals.failed'),
    },
    cancel: { title: t('withdrawals.cancelTitle'), field: { name: 'reason', label: t('common.reason') }, path: 'cancel', done: t('withdrawals.cancelled') },
  } as const;
  const dialog = action ? dialogs[action.kind] : null;

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('withdrawals.title')}
        </Typography.Title>
        <Space wrap>
          <ExportButton
            kind="withdrawals"
            testId="export-withdrawals"
            filters={{
              ...(status ? { status: [status] } : {}),
              ...(channel ? { channel: [channel] } : {}),
              ...(distributor ? { distributor_id: distributor } : {}),
            }}
          />
          {can('pii:read') && (
            <>
              <Typography.Text type="secondary">{t('withdrawals.bankFileHint')}</Typography.Text>
              <Button icon={<DownloadOutlined />} loading={downloading} onClick={() => void bankFile()} data-testid="bank-file">
                {t('withdrawals.bankFile')}
              </Button>
            </>
          )}
        </Space>
      </Space>
      <Space wrap role="search" aria-label={t('withdrawals.filters')}>
        <Select
          aria-label={t('withdrawals.status')}
          style={{ width: 170 }}
          value={status}
          onChange={(v) => {
            setStatus(v);
            setCursors([null]);
          }}
          data-testid="wd-status-filter"
          options={[
            { value: '', label: `${t('withdrawals.status')}: ${t('common.all')}` },
            ...STATUSES.map((s) => ({ value: s, label: t(`withdrawalStatus.${s}`) })),
          ]}
        />
        <Select
          aria-label={t('withdrawals.channel')}
          style={{ width: 170 }}
          value={channel}
          onChange={(v) => {
            setChannel(v);
            setCursors([null]);
          }}
          options={[{ value: '', label: `${t('withdrawals.channel')}: ${t('common.all')}` }, ...CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) }))]}
        />
        <DistributorPicker
          value={distributor}
          onChange={(v) => {
            setDistributor(v);
            setCursors([null]);
          }}
          ariaLabel={t('settlement.distributor')}
          placeholder={t('orders.sellerSearch')}
        />
      </Space>
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <Table<Withdrawal>
        rowKey="id"
        loading={page === null && !error}
        dataSource={page?.items ?? []}
        pagination={false}
        data-testid="withdrawals-table"
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: t('withdrawals.empty') }}
        columns={[
          {
            title: t('withdrawals.id'),
            dataIndex: 'id',
            render: (v: string) => (
              <Button type="link" size="small" style={{ padding: 0 }} onClick={() => setParams({ open: v })}>
                {v}
              </Button>
            ),
          },
          { title: t('settlement.distributor'), dataIndex: 'distributor_id', render: (id: string) => <DistributorLink id={id} /> },
          { title: t('withdrawals.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} strong /> },
          { title: t('withdrawals.fee'), dataIndex: 'fee_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('withdrawals.net'), dataIndex: 'net_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
          { title: t('withdrawals.channel'), dataIndex: 'channel', render: (c: string) => <ChannelLabel channel={c} /> },
          { title: t('withdrawals.status'), dataIndex: 'status', render: (s: string) => <WithdrawalStatusTag status={s} /> },
          { title: t('withdrawals.payoutState'), key: 'payout', render: (_: unknown, w) => (w.payout ? <PayoutStateTag state={w.payout.state} /> : '—') },
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
          {
            title: t('common.actions'),
            key: 'actions',
            // Pinned, so the review buttons stay on screen however wide the row is (issue 16, item 17).
            fixed: 'right',
            render: (_: unknown, w) => <WithdrawalActions w={w} onAction={setAction} onApprove={(x) => void approve(x)} />,
          },
        ]}
      />
      <Pager
        pageNumber={cursors.length}
        hasNext={!!page?.next_cursor}
        onNext={() => page?.next_cursor && setCursors((c) => [...c, page.next_cursor])}
        onPrevious={() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c))}
      />
      <Drawer open={!!openId} onClose={() => setParams({})} size={560} title={t('withdrawals.detail')} destroyOnHidden>
        {openId && <WithdrawalDetail id={openId} version={version} onAction={setAction} onApprove={(x) => void approve(x)} />}
      </Drawer>
      <ReasonDialog
        open={action !== null}
        title={dialog?.title ?? ''}
        danger={action?.kind !== 'complete'}
        fields={dialog ? [dialog.field] : []}
        onClose={() => setAction(null)}
        onSubmit={async (v) => {
          if (!action || !dialog) return;
          await api.post(`/v1/withdrawals/${encodeURIComponent(action.w.id)}/${dialog.path}`, { [dialog.field.name]: v[dialog.field.name] });
          void message.success(dialog.done);
          reload();
        }}
      />
    </Space>
  );
}
