import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Card, Popconfirm, Space, Table, Typography } from 'antd';
import type { Static } from '@sinclair/typebox';
import type { ProgramProposal as ProposalSchema } from '../../../../src/modules/program/schema.ts';
import { formatBp, formatTime, formatYuan } from '../../../shared/format.ts';
import type { AdminUser, Page } from '../../../shared/types.ts';
import type { MessageKey } from '../messages.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { messageOf } from './errors.ts';
import { ReasonDialog } from './money.tsx';

export type ProgramProposal = Static<typeof ProposalSchema>;

/** The program page's label of each money control, by its dotted name in a proposal. */
const LABELS: Record<string, MessageKey> = {
  freeze_days: 'program.freezeDays',
  review_threshold_fen: 'program.reviewThreshold',
  'withdrawal.min_fen': 'program.withdrawal.min',
  'withdrawal.fee_bp': 'program.withdrawal.feeBp',
  'withdrawal.fixed_fee_fen': 'program.withdrawal.fixedFee',
  'withdrawal.auto_approve_max_fen': 'program.withdrawal.autoApproveMax',
  'withdrawal.daily_count_limit': 'program.withdrawal.dailyCount',
  'withdrawal.daily_amount_limit_fen': 'program.withdrawal.dailyAmount',
  'settlement.cycle': 'program.settlement.cycle',
  'settlement.weekday': 'program.settlement.weekday',
  'settlement.day_of_month': 'program.settlement.dayOfMonth',
  'settlement.hour': 'program.settlement.hour',
  'settlement.threshold_fen': 'program.settlement.threshold',
};

/**
 * Changes to the money controls waiting for a second person (issue 14): who proposed what, from
 * what to what; a user with program:money other than the proposer confirms or rejects each.
 * `version` reloads the list (after the page saved a change that became a proposal).
 */
export function ProgramProposals({ version, onDecided }: { version: number; onDecided: () => void }) {
  const { t, lang } = useI18n();
  const { api, can, session } = useAuthed();
  const { message } = App.useApp();
  const [items, setItems] = useState<ProgramProposal[] | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState<ProgramProposal | null>(null);
  const [reload, setReload] = useState(0);
  const decides = can('program:money');

  useEffect(() => {
    let live = true;
    api.get<Page<ProgramProposal>>('/v1/program-proposals', { status: 'pending', limit: 50 }).then(
      (p) => {
        if (live) setItems(p.items);
      },
      (err: unknown) => {
        if (live) setError(messageOf(err));
      },
    );
    api.get<{ items: AdminUser[] }>('/v1/admin-users').then(
      (u) => {
        if (live) setNames(Object.fromEntries(u.items.map((x) => [x.id, x.name || x.email])));
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api, version, reload]);

  const done = useCallback(() => {
    setReload((v) => v + 1);
    onDecided();
  }, [onDecided]);

  const show = (field: string, v: string | number): string => {
    if (typeof v === 'string') return field === 'settlement.cycle' ? t(`program.settlement.cycle.${v}` as MessageKey) : v;
    if (field.endsWith('_fen')) return formatYuan(v);
    if (field.endsWith('_bp')) return formatBp(v);
    return String(v);
  };

  async function confirm(p: ProgramProposal) {
    try {
      await api.post(`/v1/program-proposals/${encodeURIComponent(p.id)}/confirm`, {});
      void message.success(t('program.proposal.confirmed'));
      done();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!items || items.length === 0) return null;
  return (
    <Card title={t('program.proposal.title')} data-testid="program-proposals" style={{ borderColor: '#faad14' }}>
      <Typography.Paragraph type="secondary">{t('program.proposal.hint')}</Typography.Paragraph>
      <Space direction="vertical" size="middle" style={{ width: '100%' }}>
        {items.map((p) => {
          const own = p.proposed_by.type === 'admin' && p.proposed_by.id === session?.user.id;
          const who = p.proposed_by.id ? (names[p.proposed_by.id] ?? p.proposed_by.id) : p.proposed_by.type;
          return (
            <Card
              key={p.id}
              size="small"
              data-testid={`proposal-${p.id}`}
              title={t('program.proposal.by', { who, at: formatTime(p.created_at, lang) })}
              extra={
                (own || decides) && (
                  <Space>
                    {own && <Typography.Text type="secondary">{t('program.proposal.own')}</Typography.Text>}
                    {decides && !own && (
                      <Popconfirm
                        title={t('program.proposal.confirmAsk')}
                        okText={t('common.confirm')}
                        cancelText={t('common.cancel')}
                        onConfirm={() => void confirm(p)}
                      >
                        <Button size="small" type="primary" data-testid={`proposal-confirm-${p.id}`}>
                          {t('program.proposal.confirm')}
                        </Button>
                      </Popconfirm>
                    )}
                    {decides && (
                      <Button size="small" danger onClick={() => setRejecting(p)} data-testid={`proposal-reject-${p.id}`}>
                        {t('program.proposal.reject')}
                      </Button>
                    )}
                  </Space>
                )
              }
            >
              <Table
                size="small"
                rowKey="field"
                pagination={false}
                dataSource={p.changes}
                columns={[
                  { title: t('program.proposal.field'), dataIndex: 'field', render: (f: string) => (LABELS[f] ? t(LABELS[f]) : f) },
                  { title: t('program.proposal.from'), dataIndex: 'from', render: (v: string | number, c) => show(c.field, v) },
                  {
                    title: t('program.proposal.to'),
                    dataIndex: 'to',
                    render: (v: string | number, c) => <Typography.Text strong>{show(c.field, v)}</Typography.Text>,
                  },
                ]}
              />
            </Card>
          );
        })}
      </Space>
      <ReasonDialog
        open={rejecting !== null}
        title={t('program.proposal.rejectTitle')}
        danger
        fields={[{ name: 'reason', label: t('common.reason') }]}
        onClose={() => setRejecting(null)}
        onSubmit={async (v) => {
          if (!rejecting) return;
          await api.post(`/v1/program-proposals/${encodeURIComponent(rejecting.id)}/reject`, { reason: v.reason });
          void message.success(t('program.proposal.rejected'));
          done();
        }}
      />
    </Card>
  );
}
