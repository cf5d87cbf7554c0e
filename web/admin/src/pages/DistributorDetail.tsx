import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router-dom';
import {
  Alert,
  App,
  Button,
  Card,
  Checkbox,
  Col,
  Descriptions,
  Empty,
  Form,
  Input,
  List,
  Modal,
  Popconfirm,
  Row,
  Select,
  Space,
  Tag,
  Spin,
  Statistic,
  Table,
  Tree,
  Typography,
} from 'antd';
import type { TreeDataNode } from 'antd';
import { ApiError, saveBlob } from '../../../shared/api.ts';
import { fenToYuan, formatBytes, formatTime, newIdempotencyKey } from '../../../shared/format.ts';
import type { ApplicationReview, Distributor, DocumentView, Grade, Page, Profile, TeamMember, UplineMember } from '../../../shared/types.ts';
import { Chart } from '../components/Chart.tsx';
import { DistributorFunnel } from '../components/DistributorFunnel.tsx';
import { DistributorMoney } from '../components/DistributorMoney.tsx';
import { PersonalData } from '../components/PersonalData.tsx';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { StatusTag } from '../components/StatusTag.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { GradeName } from '../components/GradeName.tsx';

type Action =
  | 'reject'
  | 'suspend'
  | 'grade'
  | 'move'
  | 'conditions'
  | 'deposit'
  | 'refundDeposit'
  | 'rejectRefund'
  | 'completeRefund'
  | 'failRefund'
  | 'cancelRefund'
  | null;

/** The refund of the deposit, paid through the payout path (GET /v1/distributors/{id}/deposit answers the newest). */
interface DepositRefund {
  id: string;
  amount_fen: number;
  channel: 'manual' | 'bank' | 'wechat' | 'alipay';
  status: 'pending_review' | 'approved' | 'paid' | 'failed' | 'rejected';
  reason: string;
  status_reason: string | null;
  reference: string | null;
  requested_by: { type: string; id: string | null };
  created_at: string;
  payout: { id: string; out_no: string; state: string; fail_code: string | null; fail_reason: string | null } | null;
}

interface DepositState {
  paid_fen: number;
  refunded_fen: number;
  refunding_fen: number;
  held_fen: number;
  refund: DepositRefund | null;
}

interface TeamNode extends TreeDataNode {
  key: string;
  distributorId?: string;
  depth: number;
  children?: TeamNode[];
  /** A "more members" row: where the next page of its parent's members starts. */
  more?: { parentKey: string; parentId: string; depth: number; cursor: string };
}

const TEAM_PAGE = 50;

/** One page of a parent's members as tree nodes, and a "more" row when the page is not the last. */
function toNodes(parentKey: string, depth: number, page: Page<TeamMember>, parentId: string): TeamNode[] {
  const out: TeamNode[] = page.items.map((m) => ({
    key: `${parentKey}/${m.id}`,
    distributorId: m.id,
    depth,
    isLeaf: depth >= 3,
    title: (
      <span>
        <Link to={`/distributors/${encodeURIComponent(m.id)}`}>{m.name}</Link>
        <Typography.Text type="secondary" style={{ marginInlineStart: 8 }}>
          <GradeName code={m.grade} /> · {m.invite_code}
        </Typography.Text>
      </span>
    ),
  }));
  if (page.next_cursor) {
    const cursor = page.next_cursor;
    out.push({ key: `${parentKey}/more:${cursor}`, depth, isLeaf: true, selectable: false, more: { parentKey, parentId, depth, cursor } });
  }
  return out;
}

function replaceChildren(list: TeamNode[], parentKey: string, update: (children: TeamNode[]) => TeamNode[]): TeamNode[] {
  if (parentKey === 'root') return update(list);
  return list.map((n) =>
    n.key === parentKey ? { ...n, children: update(n.children ?? []) } : n.children ? { ...n, children: replaceChildren(n.children, parentKey, update) } : n,
  );
}

/** The team three levels deep: each level is fetched when its parent is opened. */
function TeamTree({ rootId }: { rootId: string }) {
  const { t } = useI18n();
  const { api } = useAuthed();
  const [nodes, setNodes] = useState<TeamNode[] | null>(null);

  const fetchLevel = useCallback(
    async (distributorId: string, cursor?: string) =>
      api.get<Page<TeamMember>>(`/v1/distributors/${encodeURIComponent(distributorId)}/downline`, { level: 1, limit: TEAM_PAGE, cursor }),
    [api],
  );

  // Rendered at render time (the tree's titleRender), so the button always has today's language and client.
  function moreButton({ parentKey, parentId, depth, cursor }: NonNullable<TeamNode['more']>) {
    return (
      <Button
        type="link"
        size="small"
        onClick={() => {
          void fetchLevel(parentId, cursor).then((page) =>
            setNodes(
              (prev) =>
                prev &&
                replaceChildren(prev, parentKey, (children) => [
                  ...children.filter((c) => !String(c.key).startsWith(`${parentKey}/more:`)),
                  ...toNodes(parentKey, depth, page, parentId),
                ]),
            ),
          );
        }}
      >
        {t('detail.moreMembers')}
      </Button>
    );
  }

  useEffect(() => {
    setNodes(null);
    void fetchLevel(rootId).then((page) => setNodes(toNodes('root', 1, page, rootId)));
  }, [rootId, fetchLevel]);

  async function loadData(node: TeamNode) {
    const parentId = node.distributorId;
    if (!parentId || node.depth >= 3 || node.children) return;
    const page = await fetchLevel(parentId);
    const key = String(node.key);
    setNodes((prev) => prev && replaceChildren(prev, key, () => toNodes(key, node.depth + 1, page, parentId)));
  }

  if (nodes === null) return <Spin />;
  if (nodes.length === 0) return <Empty description={t('detail.teamEmpty')} />;
  return (
    <Tree<TeamNode>
      treeData={nodes}
      loadData={loadData}
      selectable={false}
      titleRender={(node) => (node.more ? moreButton(node.more) : typeof node.title === 'function' ? node.title(node) : node.title)}
      data-testid="team-tree"
    />
  );
}

function ConditionsView({ profile }: { profile: Profile }) {
  const { t, lang } = useI18n();
  const c = profile.conditions;
  return (
    <Descriptions
      column={1}
      size="small"
      items={[
        {
          key: 'met',
          label: t('detail.conditions'),
          children: c.met ? (
            t('detail.conditionsMet')
          ) : (
            <Typography.Text type="warning">{t('detail.conditionsUnmet', { items: c.unmet.join('; ') })}</Typography.Text>
          ),
        },
        {
          key: 'deposit',
          label: t('detail.deposit'),
          children: t('detail.depositValue', {
            required: fenToYuan(c.deposit_required_fen),
            paid: fenToYuan(c.deposit_paid_fen),
            refunded: fenToYuan(c.deposit_refunded_fen),
          }),
        },
        {
          key: 'training',
          label: t('detail.training'),
          children:
            !c.training_required && !c.training_completed_at
              ? t('detail.trainingNotRequired')
              : c.training_completed_at
                ? t('detail.trainingDone', { at: formatTime(c.training_completed_at, lang) })
                : t('detail.trainingPending'),
        },
        {
          key: 'purchases',
          label: t('detail.purchases'),
          children: t('detail.purchasesValue', { purchases: fenToYuan(c.purchases_fen), required: fenToYuan(c.min_purchases_fen) }),
        },
      ]}
    />
  );
}

/** The program's automatic review of the application (GET …/review): each check, passed or failed, and why. */
function ReviewView({ review }: { review: ApplicationReview }) {
  const { t, lang } = useI18n();
  const color = { passed: 'green', failed: 'red', not_applicable: 'default' } as const;
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid="application-review">
      <Typography.Text strong data-testid="review-outcome">
        {t(`detail.review.outcome.${review.outcome}`)} · {formatTime(review.decided_at, lang)}
      </Typography.Text>
      {review.checks.map((c) => (
        <div key={c.check} data-testid={`review-check-${c.check}`}>
          <Tag color={color[c.outcome]}>{t(`detail.review.${c.outcome}`)}</Tag>
          <Typography.Text strong>{t(`detail.review.check.${c.check}`)}</Typography.Text>
          <Typography.Text type="secondary"> — {lang === 'en' ? c.reason.en : c.reason.zh}</Typography.Text>
        </div>
      ))}
    </Space>
  );
}

export default function DistributorDetailPage() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [upline, setUpline] = useState<UplineMember[]>([]);
  const [documents, setDocuments] = useState<DocumentView[]>([]);
  const [grades, setGrades] = useState<Grade[]>([]);
  const [review, setReview] = useState<ApplicationReview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<Action>(null);
  const [busy, setBusy] = useState(false);
  const [moveOptions, setMoveOptions] = useState<Distributor[]>([]);
  const [form] = Form.useForm();
  const writable = can('distributors:write');
  // Admission deposits are money: finance records them received and refunds them.
  const finance = can('finance:write');
  // Money out needs a second person: another finance user approves a refund and records it paid.
  const approver = can('finance:approve');
  // One key per opened deposit form: a double click or a retry after a lost answer records once.
  const [depositKey, setDepositKey] = useState(() => newIdempotencyKey('dep'));
  const [refundKey, setRefundKey] = useState(() => newIdempotencyKey('drf'));
  const [deposit, setDeposit] = useState<DepositState | null>(null);
  const path = `/v1/distributors/${encodeURIComponent(id)}`;
  const refund = deposit?.refund ?? null;
  const refundPath = `/v1/deposit-refunds/${encodeURIComponent(refund?.id ?? '')}`;

  const load = useCallback(async () => {
    try {
      const [p, u, docs, g, r, dep] = await Promise.all([
        api.get<Profile>(`${path}/profile`),
        api.get<{ items: UplineMember[] }>(`${path}/upline`),
        api.get<{ items: DocumentView[] }>(`${path}/documents`),
        api.get<{ items: Grade[] }>('/v1/grades'),
        // 404: the application was not reviewed automatically (review off, or admission open).
        api.get<ApplicationReview>(`${path}/review`).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404) return null;
          throw err;
        }),
        api.get<DepositState>(`${path}/deposit`),
      ]);
      setDeposit(dep);
      setReview(r);
      setProfile(p);
      setUpline(u.items);
      setDocuments(docs.items);
      setGrades(g.items);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [api, path]);
  useEffect(() => {
    setProfile(null);
    void load();
  }, [load]);

  const team = profile?.team;
  const chartOption = useMemo(
    () =>
      team && {
        tooltip: {},
        grid: { left: 40, right: 16, top: 16, bottom: 32 },
        xAxis: { type: 'category', data: [t('detail.level1'), t('detail.level2'), t('detail.level3')] },
        yAxis: { type: 'value', minInterval: 1 },
        series: [{ type: 'bar', data: [team.direct, team.level2, team.level3], itemStyle: { color: '#d4380d' }, barMaxWidth: 48 }],
      },
    [team, t],
  );

  async function run(label: string, fn: () => Promise<unknown>) {
    setBusy(true);
    try {
      await fn();
      void message.success(label);
      setAction(null);
      await load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  function openAction(a: Action) {
    form.resetFields();
    if (a === 'grade' && profile) form.setFieldsValue({ grade: profile.distributor.grade });
    if (a === 'deposit') setDepositKey(newIdempotencyKey('dep'));
    if (a === 'refundDeposit') setRefundKey(newIdempotencyKey('drf'));
    if (a === 'conditions' && profile)
      form.setFieldsValue({ deposit_paid_fen: profile.conditions.deposit_paid_fen, training_completed: !!profile.conditions.training_completed_at });
    setAction(a);
  }

  async function submitAction() {
    let v: {
      reason?: string;
      grade?: string;
      referrer_id?: string;
      deposit_paid_fen?: number;
      training_completed?: boolean;
      amount_fen?: number;
      channel?: string;
      reference?: string;
    };
    try {
      v = await form.validateFields();
    } catch {
      return undefined;
    } // the form shows what is missing
    switch (action) {
      case 'reject':
        return run(t('detail.rejected'), () => api.post(`${path}/reject`, { reason: v.reason }));
      case 'suspend':
        return run(t('detail.suspended'), () => api.post(`${path}/suspend`, { reason: v.reason }));
      case 'grade':
        return run(t('detail.gradeChanged'), () => api.patch(path, { grade: v.grade, ...(v.reason ? { reason: v.reason } : {}) }));
      case 'move':
        return run(t('detail.moved'), () => api.post(`${path}/move`, { referrer_id: v.referrer_id === '__none__' ? null : v.referrer_id, reason: v.reason }));
      case 'conditions':
        return run(t('detail.conditionsSaved'), () =>
          api.post(`${path}/conditions`, { deposit_paid_fen: v.deposit_paid_fen ?? 0, training_completed: !!v.training_completed }),
        );
      case 'deposit':
        return run(t('detail.depositRecorded'), () =>
          api.post(`${path}/deposit`, { amount_fen: v.amount_fen }, { headers: { 'Idempotency-Key': depositKey } }),
        );
      case 'refundDeposit':
        return run(t('detail.depositRefundAsked'), () =>
          api.post(
            `${path}/deposit/refund`,
            { reason: v.reason, ...(v.channel === 'manual' ? { channel: 'manual' } : {}) },
            { headers: { 'Idempotency-Key': refundKey } },
          ),
        );
      case 'rejectRefund':
        return run(t('detail.refundRejected'), () => api.post(`${refundPath}/reject`, { reason: v.reason }));
      case 'completeRefund':
        return run(t('detail.refundCompleted'), () => api.post(`${refundPath}/complete`, { reference: v.reference }));
      case 'failRefund':
        return run(t('detail.refundFailed'), () => api.post(`${refundPath}/fail`, { reason: v.reason }));
      case 'cancelRefund':
        return run(t('detail.refundCancelled'), () => api.post(`${refundPath}/cancel`, { reason: v.reason }));
      case null:
        return undefined;
      default: {
        const never: never = action;
        return never;
      }
    }
  }

  async function searchReferrers(q: string) {
    if (!q.trim()) {
      setMoveOptions([]);
      return;
    }
    const page = await api.get<Page<Distributor>>('/v1/distributors', { q: q.trim(), limit: 20 });
    setMoveOptions(page.items.filter((d) => d.id !== id));
  }

  async function openDocument(doc: DocumentView, download: boolean) {
    try {
      const blob = await api.blob(`/v1/documents/${encodeURIComponent(doc.id)}/content`);
      if (download) {
        saveBlob(blob, doc.filename);
        return;
      }
      const url = URL.createObjectURL(new Blob([blob], { type: doc.content_type }));
      window.open(url, '_blank', 'noopener');
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  // A wrong or no longer needed scan: the server deletes the file and its key, audited.
  async function deleteDocument(doc: DocumentView) {
    try {
      await api.del(`/v1/documents/${encodeURIComponent(doc.id)}`);
      void message.success(t('detail.docDeleted'));
      await load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!profile) return <Spin />;
  const d = profile.distributor;
  const reasonField = (required: boolean) => (
    <Form.Item name="reason" label={t('common.reason')} rules={required ? [{ required: true, whitespace: true, message: t('common.reasonRequired') }] : []}>
      <Input.TextArea rows={3} maxLength={500} showCount />
    </Form.Item>
  );
  const actionTitles: Record<Exclude<Action, null>, string> = {
    reject: t('detail.reject'),
    suspend: t('detail.suspend'),
    grade: t('detail.changeGrade'),
    move: t('detail.move'),
    conditions: t('detail.recordConditions'),
    deposit: t('detail.recordDeposit'),
    refundDeposit: t('detail.refundDeposit'),
    rejectRefund: t('detail.refundReject'),
    completeRefund: t('detail.refundComplete'),
    failRefund: t('detail.refundFail'),
    cancelRefund: t('detail.refundCancel'),
  };
  // Held now: the deposit account on the ledger (a refund under way is no longer held).
  const held = deposit?.held_fen ?? profile.conditions.deposit_paid_fen - profile.conditions.deposit_refunded_fen;
  const refundOpen = refund !== null && (refund.status === 'pending_review' || refund.status === 'approved');
  const owed = Math.max(0, profile.conditions.deposit_required_fen - held);
  const actionBody: Record<Exclude<Action, null>, ReactNode> = {
    reject: reasonField(true),
    suspend: reasonField(true),
    grade: (
      <>
        <Form.Item name="grade" label={t('distributors.grade')} rules={[{ required: true }]}>
          <Select options={grades.map((g) => ({ value: g.code, label: `${g.name} (${g.code})` }))} />
        </Form.Item>
        {reasonField(false)}
      </>
    ),
    move: (
      <>
        <Alert type="info" showIcon title={t('detail.moveHint')} style={{ marginBottom: 16 }} />
        <Form.Item name="referrer_id" label={t('detail.moveTo')} rules={[{ required: true }]}>
          <Select
            showSearch
            filterOption={false}
            placeholder={t('detail.moveSearch')}
            onSearch={(q) => void searchReferrers(q)}
            data-testid="move-target"
            options={[
              { value: '__none__', label: t('detail.moveToNone') },
              ...moveOptions.map((o) => ({ value: o.id, label: `${o.name} · ${o.invite_code}` })),
            ]}
          />
        </Form.Item>
        {reasonField(true)}
      </>
    ),
    conditions: (
      <>
        <Form.Item name="deposit_paid_fen" label={t('detail.depositPaid')}>
          <HundredthsInput suffix={t('common.yuan')} />
        </Form.Item>
        <Form.Item name="training_completed" valuePropName="checked">
          <Checkbox>{t('detail.trainingCompleted')}</Checkbox>
        </Form.Item>
      </>
    ),
    deposit: (
      <>
        <Alert type="info" showIcon title={t('detail.recordDepositHint', { owed: fenToYuan(owed) })} style={{ marginBottom: 16 }} />
        <Form.Item name="amount_fen" label={t('detail.depositAmount')} rules={[{ required: true }]}>
          <HundredthsInput suffix={t('common.yuan')} />
        </Form.Item>
      </>
    ),
    refundDeposit: (
      <>
        <Alert type="warning" showIcon title={t('detail.refundDepositHint', { held: fenToYuan(held) })} style={{ marginBottom: 16 }} />
        <Form.Item name="channel" label={t('detail.refundHow')} initialValue="account">
          <Select
            data-testid="refund-channel"
            options={[
              { value: 'account', label: t('detail.refundToAccount') },
              { value: 'manual', label: t('detail.refundOutside') },
            ]}
          />
        </Form.Item>
        {reasonField(true)}
      </>
    ),
    rejectRefund: reasonField(true),
    completeRefund: (
      <Form.Item name="reference" label={t('withdrawals.reference')} rules={[{ required: true, whitespace: true }]}>
        <Input maxLength={128} />
      </Form.Item>
    ),
    failRefund: reasonField(true),
    cancelRefund: reasonField(true),
  };

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space wrap align="center" style={{ justifyContent: 'space-between', width: '100%' }}>
        <Space align="center">
          <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }} data-testid="distributor-name">
            {d.name}
          </Typography.Title>
          <StatusTag status={d.status} />
        </Space>
        {writable && (
          <Space wrap>
            {d.status === 'pending' && (
              <Button type="primary" loading={busy} onClick={() => void run(t('detail.approved'), () => api.post(`${path}/approve`))} data-testid="approve">
                {t('detail.approve')}
              </Button>
            )}
            {d.status === 'pending' && (
              <Button danger onClick={() => openAction('reject')}>
                {t('detail.reject')}
              </Button>
            )}
            {d.status === 'active' && (
              <Button danger onClick={() => openAction('suspend')}>
                {t('detail.suspend')}
              </Button>
            )}
            {d.status === 'suspended' && (
              <Button loading={busy} onClick={() => void run(t('detail.reactivated'), () => api.post(`${path}/reactivate`))}>
                {t('detail.reactivate')}
              </Button>
            )}
            <Button onClick={() => openAction('grade')}>{t('detail.changeGrade')}</Button>
            <Button onClick={() => openAction('move')}>{t('detail.move')}</Button>
          </Space>
        )}
      </Space>

      <Card>
        <Descriptions
          column={{ xs: 1, md: 2, xl: 3 }}
          size="small"
          items={[
            { key: 'id', label: t('detail.id'), children: <Typography.Text copyable>{d.id}</Typography.Text> },
            { key: 'external', label: t('distributors.externalId'), children: d.external_id },
            { key: 'grade', label: t('distributors.grade'), children: <GradeName code={d.grade} /> },
            { key: 'code', label: t('distributors.inviteCode'), children: <Typography.Text copyable>{d.invite_code}</Typography.Text> },
            { key: 'url', label: t('detail.inviteUrl'), children: <Typography.Text copyable>{d.invite_url}</Typography.Text> },
            { key: 'phone', label: t('distributors.phone'), children: d.phone ?? '—' },
            { key: 'region', label: t('detail.region'), children: d.region_code ?? '—' },
            {
              key: 'source',
              label: t('detail.source'),
              children: d.source === 'api' || d.source === 'application' || d.source === 'admin' ? t(`detail.source.${d.source}`) : d.source,
            },
            { key: 'reason', label: t('detail.statusReason'), children: d.status_reason ?? '—' },
            { key: 'created', label: t('distributors.createdAt'), children: formatTime(d.created_at, lang) },
            { key: 'approved', label: t('detail.approvedAt'), children: formatTime(d.approved_at, lang) },
            {
              key: 'visits',
              label: t('detail.visits'),
              children: t('detail.visitsValue', { visits: profile.visits.visits, unique: profile.visits.unique_visitors }),
            },
          ]}
        />
      </Card>

      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card
            title={t('detail.conditions')}
            extra={
              <Space wrap>
                {writable && (
                  <Button size="small" onClick={() => openAction('conditions')}>
                    {t('detail.recordConditions')}
                  </Button>
                )}
                {finance && owed > 0 && d.status !== 'rejected' && d.status !== 'erased' && (
                  <Button size="small" onClick={() => openAction('deposit')} data-testid="record-deposit">
                    {t('detail.recordDeposit')}
                  </Button>
                )}
                {finance && held > 0 && !refundOpen && d.status !== 'active' && (
                  <Button size="small" danger onClick={() => openAction('refundDeposit')} data-testid="refund-deposit">
                    {t('detail.refundDeposit')}
                  </Button>
                )}
              </Space>
            }
          >
            <ConditionsView profile={profile} />
            {deposit && (deposit.paid_fen > 0 || refund) && (
              <Descriptions
                column={1}
                size="small"
                style={{ marginTop: 12 }}
                data-testid="deposit-ledger"
                items={[
                  {
                    key: 'held',
                    label: t('detail.depositNow'),
                    children: t('detail.depositNowValue', {
                      held: fenToYuan(deposit.held_fen),
                      refunding: fenToYuan(deposit.refunding_fen),
                      refunded: fenToYuan(deposit.refunded_fen),
                    }),
                  },
                ]}
              />
            )}
            {refund && (
              <Card
                size="small"
                type="inner"
                title={t('detail.depositRefund')}
                style={{ marginTop: 12 }}
                data-testid="deposit-refund"
                extra={
                  approver && (
                    <Space wrap>
                      {refund.status === 'pending_review' && (
                        <Popconfirm
                          title={t('detail.refundApproveConfirm')}
                          onConfirm={() => void run(t('detail.refundApproved'), () => api.post(`${refundPath}/approve`))}
                        >
                          <Button size="small" type="primary" loading={busy} data-testid="approve-refund">
                            {t('withdrawals.approve')}
                          </Button>
                        </Popconfirm>
                      )}
                      {refund.status === 'pending_review' && (
                        <Button size="small" danger onClick={() => openAction('rejectRefund')}>
                          {t('detail.refundReject')}
                        </Button>
                      )}
                      {refund.status === 'approved' && refund.payout?.state === 'submitted' && (
                        <Button size="small" onClick={() => openAction('completeRefund')} data-testid="complete-refund">
                          {t('detail.refundComplete')}
                        </Button>
                      )}
                      {refund.status === 'approved' && refund.payout?.state === 'submitted' && (
                        <Button size="small" danger onClick={() => openAction('failRefund')}>
                          {t('detail.refundFail')}
                        </Button>
                      )}
                      {refund.status === 'approved' && refund.payout?.state === 'wait_user_confirm' && (
                        <Button size="small" danger onClick={() => openAction('cancelRefund')}>
                          {t('detail.refundCancel')}
                        </Button>
                      )}
                    </Space>
                  )
                }
              >
                <Descriptions
                  column={1}
                  size="small"
                  items={[
                    {
                      key: 'status',
                      label: t('withdrawals.status'),
                      children: <Tag data-testid="deposit-refund-status">{t(`withdrawalStatus.${refund.status}`)}</Tag>,
                    },
                    { key: 'amount', label: t('detail.depositAmountRefunded'), children: `${fenToYuan(refund.amount_fen)} ${t('common.yuan')}` },
                    {
                      key: 'channel',
                      label: t('withdrawals.channel'),
                      children: refund.channel === 'manual' ? t('detail.refundOutside') : t(`channel.${refund.channel}`),
                    },
                    {
                      key: 'payout',
                      label: t('withdrawals.payoutState'),
                      children: refund.payout ? (
                        <Tag data-testid="deposit-refund-payout">
                          {t(`payoutState.${refund.payout.state}` as 'payoutState.created')}
                          {refund.payout.fail_reason ? ` · ${refund.payout.fail_reason}` : ''}
                        </Tag>
                      ) : (
                        t('detail.refundAwaitingApproval')
                      ),
                    },
                    ...(refund.payout ? [{ key: 'outNo', label: t('withdrawals.outNo'), children: refund.payout.out_no }] : []),
                    ...(refund.reference ? [{ key: 'ref', label: t('withdrawals.reference'), children: refund.reference }] : []),
                    ...(refund.status_reason ? [{ key: 'why', label: t('withdrawals.statusReason'), children: refund.status_reason }] : []),
                    { key: 'reason', label: t('common.reason'), children: refund.reason },
                    { key: 'at', label: t('detail.refundAskedAt'), children: formatTime(refund.created_at, lang) },
                  ]}
                />
              </Card>
            )}
          </Card>
          {review && (
            <Card title={t('detail.review')} style={{ marginTop: 16 }}>
              <ReviewView review={review} />
            </Card>
          )}
        </Col>
        <Col xs={24} xl={12}>
          <Card title={t('detail.upline')}>
            {upline.length === 0 ? (
              <Typography.Text type="secondary">{t('detail.uplineEmpty')}</Typography.Text>
            ) : (
              <List
                size="small"
                dataSource={upline}
                renderItem={(u) => (
                  <List.Item>
                    <Typography.Text type="secondary">{t('detail.uplineLevel', { level: u.level })}</Typography.Text>
                    <Link to={`/distributors/${encodeURIComponent(u.id)}`}>{u.name}</Link>
                  </List.Item>
                )}
              />
            )}
          </Card>
        </Col>
      </Row>

      <Card title={t('detail.team')}>
        <Row gutter={[24, 24]}>
          <Col xs={24} lg={10}>
            <Space size="large" wrap style={{ marginBottom: 16 }}>
              <Statistic title={t('detail.level1')} value={profile.team.direct} />
              <Statistic title={t('detail.level2')} value={profile.team.level2} />
              <Statistic title={t('detail.level3')} value={profile.team.level3} />
              <Statistic title={t('detail.total')} value={profile.team.total} />
            </Space>
            {chartOption && (
              <Chart
                option={chartOption}
                testId="team-chart"
                label={t('detail.teamChartAria', {
                  direct: profile.team.direct,
                  level2: profile.team.level2,
                  level3: profile.team.level3,
                  total: profile.team.total,
                })}
              />
            )}
          </Col>
          <Col xs={24} lg={14}>
            <Typography.Title level={2} style={{ fontSize: 16 }}>
              {t('detail.teamTree')}
            </Typography.Title>
            <TeamTree rootId={d.id} />
          </Col>
        </Row>
      </Card>

      <DistributorMoney id={d.id} />

      <DistributorFunnel id={d.id} />

      <PersonalData distributor={d} onErased={() => void load()} />

      <Card title={t('detail.documents')}>
        <Table<DocumentView>
          rowKey="id"
          dataSource={documents}
          pagination={false}
          size="small"
          data-testid="documents-table"
          locale={{ emptyText: t('detail.documentsEmpty') }}
          columns={[
            { title: t('detail.docKind'), dataIndex: 'kind' },
            { title: t('detail.docName'), dataIndex: 'filename' },
            { title: t('detail.docSize'), dataIndex: 'size_bytes', render: (n: number) => formatBytes(n) },
            { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
            {
              title: t('common.actions'),
              key: 'actions',
              render: (_: unknown, doc) =>
                // Documents are personal data: open to those who review applications (each read audited).
                !writable ? (
                  '—'
                ) : (
                  <Space>
                    <Button size="small" onClick={() => void openDocument(doc, false)}>
                      {t('common.view')}
                    </Button>
                    <Button size="small" onClick={() => void openDocument(doc, true)} data-testid={`download-${doc.id}`}>
                      {t('common.download')}
                    </Button>
                    <Popconfirm
                      title={t('detail.docDeleteAsk')}
                      okText={t('common.confirm')}
                      cancelText={t('common.cancel')}
                      onConfirm={() => void deleteDocument(doc)}
                    >
                      <Button size="small" danger data-testid={`delete-${doc.id}`}>
                        {t('detail.docDelete')}
                      </Button>
                    </Popconfirm>
                  </Space>
                ),
            },
          ]}
        />
      </Card>

      <Modal
        open={action !== null}
        title={action ? actionTitles[action] : ''}
        onCancel={() => setAction(null)}
        onOk={() => void submitAction()}
        confirmLoading={busy}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
      >
        <Form form={form} layout="vertical">
          {action && actionBody[action]}
        </Form>
      </Modal>
    </Space>
  );
}
