import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Alert, App, Button, Descriptions, Drawer, Form, Input, Select, Space, Table, Tag, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import type { Page, RiskEvent, RiskEventDetail } from '../../../shared/types.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { messageOf } from '../components/errors.ts';
import { DistributorLink, Money, ReasonDialog } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

const STATUSES = ['open', 'released', 'confirmed', 'dismissed'] as const;
type Decision = 'release' | 'confirm' | 'dismiss';

const SEVERITY_COLORS: Record<string, string> = { block: 'red', hold: 'orange', flag: 'blue' };

/** The subject of an event in words, a distributor as a link to its page. */
function Subject({ e }: { e: Pick<RiskEvent, 'subject_type' | 'subject_id'> }) {
  const word = useWord();
  const label = word('risk.subject', e.subject_type);
  if (e.subject_type === 'distributor' && e.subject_id)
    return (
      <>
        {label}: <DistributorLink id={e.subject_id} />
      </>
    );
  if (e.subject_type === 'order' && e.subject_id)
    return (
      <>
        {label}: <Typography.Text code>{e.subject_id}</Typography.Text>
      </>
    );
  return <>{e.subject_id ? `${label}: ${e.subject_id}` : label}</>;
}

/**
 * One event under review: what it holds, and the three decisions (release, confirm fraud,
 * dismiss) with a note each, then — once fraud on a distributor was confirmed — lifting the
 * distributor's hold.
 */
function ReviewDrawer({ id, onClose, onChanged }: { id: string | null; onClose: () => void; onChanged: () => void }) {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [event, setEvent] = useState<RiskEventDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState<Decision | null>(null);
  const [lifting, setLifting] = useState(false);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (!id) return undefined;
    let live = true;
    setEvent(null);
    setError(null);
    api.get<RiskEventDetail>(`/v1/risk-events/${encodeURIComponent(id)}`).then(
      (e) => live && setEvent(e),
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [api, id, version]);

  useEffect(() => setNote(''), [id]);

  async function decide(decision: Decision) {
    if (!id) return;
    if (!note.trim()) {
      void message.warning(t('risk.noteRequired'));
      return;
    }
    setBusy(decision);
    try {
      const r = await api.post<{ status: string; lines: number }>(`/v1/risk-events/${encodeURIComponent(id)}/${decision}`, { note: note.trim() });
      void message.success(t(`risk.done.${r.status as 'released' | 'confirmed' | 'dismissed'}`, { lines: r.lines }));
      setNote('');
      setVersion((v) => v + 1);
      onChanged();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(null);
    }
  }

  const writable = can('risk:write');
  const open = event?.status === 'open';
  const distributorId = event?.subject_type === 'distributor' ? event.subject_id : null;
  return (
    <Drawer open={id !== null} onClose={onClose} title={t('risk.reviewTitle')} width={760} destroyOnHidden>
      {error && <Alert type="error" title={t('common.error', { message: error })} />}
      {event && (
        <Space direction="vertical" size="large" style={{ width: '100%' }} data-testid="risk-review">
          <Descriptions column={2} size="small" bordered>
            <Descriptions.Item label={t('risk.kind')}>{word('risk.kind', event.kind)}</Descriptions.Item>
            <Descriptions.Item label={t('risk.severity')}>
              <Tag color={SEVERITY_COLORS[event.severity] ?? 'default'}>{word('risk.severity', event.severity)}</Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t('risk.subject')}>
              <Subject e={event} />
            </Descriptions.Item>
            <Descriptions.Item label={t('risk.status')}>
              <span data-testid="risk-review-status">{word('risk.status', event.status)}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('risk.createdAt')}>{formatTime(event.created_at, lang)}</Descriptions.Item>
            <Descriptions.Item label={t('risk.reviewedAt')}>{event.reviewed_at ? formatTime(event.reviewed_at, lang) : '—'}</Descriptions.Item>
            {event.review_note && (
              <Descriptions.Item label={t('risk.reviewNote')} span={2}>
                {event.review_note}
              </Descriptions.Item>
            )}
            <Descriptions.Item label={t('risk.details')} span={2}>
              <Typography.Text code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                {JSON.stringify(event.details)}
              </Typography.Text>
            </Descriptions.Item>
          </Descriptions>
          <Typography.Title level={2} style={{ fontSize: 16, margin: 0 }}>
            {t('risk.lines')}
          </Typography.Title>
          <Table
            rowKey="id"
            size="small"
            pagination={false}
            dataSource={event.lines}
            data-testid="risk-lines"
            locale={{ emptyText: t('risk.linesEmpty') }}
            columns={[
              { title: t('risk.line.beneficiary'), dataIndex: 'beneficiary_id', render: (v: string) => <DistributorLink id={v} /> },
              { title: t('risk.line.order'), dataIndex: 'order_id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
              { title: t('risk.line.amount'), dataIndex: 'amount_fen', align: 'right', render: (v: number) => <Money fen={v} /> },
              { title: t('risk.status'), dataIndex: 'status', render: (v: string) => word('commissionStatus', v) },
              { title: t('risk.line.held'), dataIndex: 'held', render: (v: boolean) => (v ? <Tag color="red">{t('common.yes')}</Tag> : t('common.no')) },
            ]}
          />
          {open && writable && (
            <Form layout="vertical" name="risk-review">
              <Form.Item label={t('risk.note')} required>
                <Input.TextArea aria-label={t('risk.note')} rows={2} maxLength={500} showCount value={note} onChange={(e) => setNote(e.target.value)} />
              </Form.Item>
              <Space direction="vertical">
                <Typography.Text type="secondary">{t('risk.releaseHelp')}</Typography.Text>
                <Typography.Text type="secondary">{t('risk.confirmHelp')}</Typography.Text>
                <Typography.Text type="secondary">{t('risk.dismissHelp')}</Typography.Text>
                <Space wrap>
                  <Button type="primary" loading={busy === 'release'} onClick={() => void decide('release')}>
                    {t('risk.release')}
                  </Button>
                  <Button danger loading={busy === 'confirm'} onClick={() => void decide('confirm')}>
                    {t('risk.confirm')}
                  </Button>
                  <Button loading={busy === 'dismiss'} onClick={() => void decide('dismiss')}>
                    {t('risk.dismiss')}
                  </Button>
                </Space>
              </Space>
            </Form>
          )}
          {event.status === 'confirmed' && distributorId && writable && (
            <Space direction="vertical">
              <Typography.Text type="secondary">{t('risk.liftHoldHelp')}</Typography.Text>
              <Button onClick={() => setLifting(true)}>{t('risk.liftHold')}</Button>
            </Space>
          )}
          <ReasonDialog
            open={lifting}
            title={t('risk.liftHold')}
            fields={[{ name: 'note', label: t('risk.note') }]}
            onClose={() => setLifting(false)}
            onSubmit={async (v) => {
              const r = await api.post<{ lines: number }>(`/v1/distributors/${encodeURIComponent(distributorId ?? '')}/risk-hold/lift`, { note: v.note });
              void message.success(t('risk.liftHoldDone', { lines: r.lines }));
              onChanged();
            }}
          />
        </Space>
      )}
    </Drawer>
  );
}

export default function RiskEventsPage() {
  const { t, lang } = useI18n();
  const word = useWord();
  const { api } = useAuthed();
  const [status, setStatus] = useState<string>('');
  const [items, setItems] = useState<RiskEvent[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reviewing, setReviewing] = useState<string | null>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    let live = true;
    setItems(null);
    api.get<Page<RiskEvent>>('/v1/risk-events', { status: status || undefined, limit: 50 }).then(
      (p) => {
        if (live) {
          setItems(p.items);
          setCursor(p.next_cursor);
        }
      },
      (err: unknown) => live && setError(messageOf(err)),
    );
    return () => {
      live = false;
    };
  }, [api, status, version]);

  async function more() {
    if (!cursor) return;
    const p = await api.get<Page<RiskEvent>>('/v1/risk-events', { status: status || undefined, limit: 50, cursor });
    setItems((prev) => [...(prev ?? []), ...p.items]);
    setCursor(p.next_cursor);
  }

  const changed = useCallback(() => setVersion((v) => v + 1), []);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }} wrap>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('risk.title')}
        </Typography.Title>
        <Link to="/risk-rules">{t('risk.toRules')}</Link>
      </Space>
      <Select
        aria-label={t('risk.status')}
        style={{ width: 180 }}
        value={status}
        onChange={setStatus}
        options={[{ value: '', label: `${t('risk.status')}: ${t('common.all')}` }, ...STATUSES.map((s) => ({ value: s, label: word('risk.status', s) }))]}
      />
      {error && <Typography.Text type="danger">{t('common.error', { message: error })}</Typography.Text>}
      <Table<RiskEvent>
        rowKey="id"
        loading={items === null}
        dataSource={items ?? []}
        pagination={false}
        data-testid="risk-table"
        locale={{ emptyText: t('risk.empty') }}
        scroll={{ x: 'max-content' }}
        columns={[
          { title: t('risk.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang), width: 170 },
          { title: t('risk.kind'), dataIndex: 'kind', render: (v: string) => word('risk.kind', v) },
          {
            title: t('risk.severity'),
            dataIndex: 'severity',
            render: (v: string) => <Tag color={SEVERITY_COLORS[v] ?? 'default'}>{word('risk.severity', v)}</Tag>,
          },
          { title: t('risk.subject'), key: 'subject', render: (_: unknown, e) => <Subject e={e} /> },
          { title: t('risk.status'), dataIndex: 'status', render: (v: string) => word('risk.status', v) },
          {
            title: t('common.actions'),
            key: 'actions',
            fixed: 'right',
            render: (_: unknown, e) => (
              <Button size="small" type={e.status === 'open' ? 'primary' : 'default'} onClick={() => setReviewing(e.id)}>
                {e.status === 'open' ? t('risk.review') : t('common.view')}
              </Button>
            ),
          },
        ]}
      />
      {cursor && <Button onClick={() => void more()}>{t('common.loadMore')}</Button>}
      <ReviewDrawer id={reviewing} onClose={() => setReviewing(null)} onChanged={changed} />
    </Space>
  );
}
