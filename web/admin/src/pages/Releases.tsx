import { useCallback, useEffect, useMemo, useState } from 'react';
import { App, Button, Card, Descriptions, Form, Input, InputNumber, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { formatBp, formatTime, formatYuan } from '../../../shared/format.ts';
import type { Grade, RulesSnapshot } from '../../../shared/types.ts';
import { Chart } from '../components/Chart.tsx';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { fixedParts, formToFixed } from './Grades.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

interface RuleChange {
  id: string;
  kind: string;
  target: string | null;
  patch: { program?: Record<string, unknown>; grades?: Record<string, { sales_bp: number; override_bp: number[] }>; sku?: Record<string, unknown> };
  effective_from: string;
  reason: string | null;
  timing: 'scheduled' | 'in_force' | 'cancelled';
}
interface Version {
  version: number;
  effective_from: string;
  reason: string;
  snapshot: RulesSnapshot;
}
interface Pilot {
  id: string;
  name: string;
  status: 'running' | 'promoted' | 'stopped';
  cohort: { distributor_ids?: string[]; grades?: string[]; region_codes?: string[]; percent?: number };
  started_at: string;
  ended_at: string | null;
}
interface Group {
  orders: number;
  sales_fen: number;
  commission_fen: number;
  commission_rate_bp: number;
  sales_per_active_distributor_fen: number;
  new_bindings: number;
  refund_rate_bp: number;
}
interface Report {
  pilot: Group;
  control: Group;
  comparison: { commission_rate_bp: { difference: number; interval: { low: number; high: number } | null } };
  daily: { day: string; pilot_sales_fen: number; pilot_commission_fen: number; control_sales_fen: number; control_commission_fen: number }[];
}

type T = ReturnType<typeof useI18n>['t'];

/** What a version changed from the one before it, in words. */
export function diffInWords(t: T, before: RulesSnapshot | undefined, after: RulesSnapshot): string[] {
  if (!before) return [t('rel.firstVersion')];
  const out: string[] = [];
  if (before.levels !== after.levels) out.push(t('rel.diff.levels', { from: before.levels, to: after.levels }));
  if (JSON.stringify(before.default_rates) !== JSON.stringify(after.default_rates)) out.push(t('rel.diff.defaults'));
  if (JSON.stringify(before.caps) !== JSON.stringify(after.caps)) out.push(t('rel.diff.caps'));
  for (const [code, g] of Object.entries(after.grades)) {
    const b = before.grades[code];
    if (!b) {
      out.push(t('rel.diff.gradeNew', { code }));
      continue;
    }
    if (b.sales_bp !== g.sales_bp) out.push(t('rel.diff.sales', { code, from: formatBp(b.sales_bp), to: formatBp(g.sales_bp) }));
    const fixedFrom = fixedInWords(t, b);
    const fixedTo = fixedInWords(t, g);
    if (fixedFrom !== fixedTo) out.push(t('rel.diff.fixed', { code, from: fixedFrom, to: fixedTo }));
    for (let k = 0; k < 3; k++) {
      const from = b.override_bp[k] ?? 0;
      const to = g.override_bp[k] ?? 0;
      if (from !== to) out.push(t('rel.diff.override', { code, level: k + 1, from: formatBp(from), to: formatBp(to) }));
    }
  }
  for (const sku of new Set([...Object.keys(before.sku), ...Object.keys(after.sku)])) {
    if (JSON.stringify(before.sku[sku]) !== JSON.stringify(after.sku[sku])) out.push(t('rel.diff.sku', { sku }));
  }
  return out;
}

/** A grade's fixed amounts in words: "L0 ¥2.00, L1 ¥1.00（按件）", or "—" without any. */
function fixedInWords(t: T, g: { sales_fixed_fen?: number | null; override_fixed_fen?: (number | null)[]; fixed_per?: 'unit' | 'order' }): string {
  const parts = fixedParts(g);
  return parts.length === 0 ? '—' : `${parts.join(', ')} (${t(`grades.fixedPer.${g.fixed_per ?? 'unit'}`)})`;
}

function changeInWords(t: T, c: RuleChange): string {
  const parts: string[] = [];
  for (const [path, v] of Object.entries(c.patch.program ?? {})) parts.push(`${path} = ${JSON.stringify(v)}`);
  for (const [code, g] of Object.entries(c.patch.grades ?? {})) {
    parts.push(
      `${t('rel.grade')} ${code}: ${t('rel.sales')} ${formatBp(g.sales_bp)}, ${g.override_bp.map((bp, k) => `${t('rel.override', { level: k + 1 })} ${formatBp(bp)}`).join(', ')}`,
    );
  }
  for (const sku of Object.keys(c.patch.sku ?? {})) parts.push(t('rel.diff.sku', { sku }));
  return parts.join('; ');
}

function PilotReport({ pilot, onChanged }: { pilot: Pilot; onChanged: () => void }) {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [report, setReport] = useState<Report | null>(null);
  useEffect(() => {
    api.get<Report>(`/v1/pilots/${pilot.id}/report`).then(setReport, (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })));
  }, [api, message, pilot.id, t]);
  const act = async (what: 'promote' | 'stop') => {
    try {
      await api.post(`/v1/pilots/${pilot.id}/${what}`, {});
      void message.success(t(what === 'promote' ? 'rel.promoted' : 'rel.stopped'));
      onChanged();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  };
  const option = useMemo(
    () =>
      report && {
        tooltip: { trigger: 'axis' },
        legend: {},
        xAxis: { type: 'category', data: report.daily.map((d) => d.day) },
        yAxis: { type: 'value' },
        series: [
          { name: `${t('rel.pilotGroup')} ${t('rel.salesFen')}`, type: 'bar', data: report.daily.map((d) => d.pilot_sales_fen / 100) },
          { name: `${t('rel.control')} ${t('rel.salesFen')}`, type: 'bar', data: report.daily.map((d) => d.control_sales_fen / 100) },
          { name: `${t('rel.pilotGroup')} ${t('rel.commission')}`, type: 'line', data: report.daily.map((d) => d.pilot_commission_fen / 100) },
          { name: `${t('rel.control')} ${t('rel.commission')}`, type: 'line', data: report.daily.map((d) => d.control_commission_fen / 100) },
        ],
      },
    [report, t],
  );
  if (!report) return null;
  const rows = [
    { key: 'pilot', group: t('rel.pilotGroup'), ...report.pilot },
    { key: 'control', group: t('rel.control'), ...report.control },
  ];
  const ci = report.comparison.commission_rate_bp;
  return (
    <Space direction="vertical" style={{ width: '100%' }} data-testid={`pilot-report-${pilot.id}`}>
      <Table
        size="small"
        pagination={false}
        rowKey="key"
        dataSource={rows}
        columns={[
          { title: t('rel.group'), dataIndex: 'group' },
          { title: t('rel.orders'), dataIndex: 'orders' },
          { title: t('rel.salesFen'), dataIndex: 'sales_fen', render: (v: number) => formatYuan(v) },
          { title: t('rel.commission'), dataIndex: 'commission_fen', render: (v: number) => formatYuan(v) },
          { title: t('rel.rate'), dataIndex: 'commission_rate_bp', render: (v: number) => formatBp(v) },
          { title: t('rel.perActive'), dataIndex: 'sales_per_active_distributor_fen', render: (v: number) => formatYuan(v) },
          { title: t('rel.bindings'), dataIndex: 'new_bindings' },
          { title: t('rel.refundRate'), dataIndex: 'refund_rate_bp', render: (v: number) => formatBp(v) },
        ]}
      />
      <Typography.Text>
        {ci.interval
          ? t('rel.diff', { d: formatBp(ci.difference), low: formatBp(Math.round(ci.interval.low)), high: formatBp(Math.round(ci.interval.high)) })
          : t('rel.diffNoCi', { d: formatBp(ci.difference) })}
      </Typography.Text>
      {option && report.daily.length > 0 && (
        <Chart
          option={option}
          height={220}
          label={t('rel.chart', { points: report.daily.map((d) => `${d.day} ${formatYuan(d.pilot_sales_fen)}/${formatYuan(d.control_sales_fen)}`).join('; ') })}
        />
      )}
      {pilot.status === 'running' && can('program:write') && (
        <Space>
          <Popconfirm title={t('rel.promoteConfirm')} onConfirm={() => act('promote')} okText={t('rel.promote')}>
            <Button type="primary">{t('rel.promote')}</Button>
          </Popconfirm>
          <Popconfirm title={t('rel.stopConfirm')} onConfirm={() => act('stop')} okText={t('rel.stop')}>
            <Button danger>{t('rel.stop')}</Button>
          </Popconfirm>
        </Space>
      )}
    </Space>
  );
}

export function ReleasesPage() {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const writable = can('program:write');
  const [levels, setLevels] = useState<number | null>(null);
  const [grades, setGrades] = useState<Grade[]>([]);
  const [scheduled, setScheduled] = useState<RuleChange[]>([]);
  const [pilots, setPilots] = useState<Pilot[]>([]);
  const [versions, setVersions] = useState<Version[]>([]);
  const [scheduleForm] = Form.useForm<{ code: string; sales: number; l1: number; l2: number; l3: number; when: string; reason?: string }>();
  const [pilotForm] = Form.useForm<{
    name: string;
    ids?: string;
    percent?: number;
    code: string;
    sales: number;
    l1: number;
    l2: number;
    l3: number;
    f0?: number | null;
    f1?: number | null;
    f2?: number | null;
    f3?: number | null;
    fixed_per: 'unit' | 'order';
  }>();

  const load = useCallback(() => {
    const fail = (err: unknown) => void message.error(t('common.error', { message: messageOf(err) }));
    api.get<{ levels: number }>('/v1/program').then((p) => setLevels(p.levels), fail);
    api.get<{ items: Grade[] }>('/v1/grades').then((g) => setGrades(g.items), fail);
    api.get<{ items: RuleChange[] }>('/v1/rule-changes', { scheduled: true }).then((r) => setScheduled(r.items), fail);
    api.get<{ items: Pilot[] }>('/v1/pilots').then((r) => setPilots(r.items), fail);
    api.get<{ items: Version[] }>('/v1/rule-versions', { limit: 50 }).then((r) => setVersions(r.items), fail);
  }, [api, message, t]);
  useEffect(load, [load]);

  const percentToBp = (n: number | undefined) => Math.round((n ?? 0) * 100);

  async function schedule() {
    let v;
    try {
      v = await scheduleForm.validateFields();
    } catch {
      return;
    }
    const when = new Date(v.when);
    if (when.getTime() < Date.now() && !v.reason?.trim()) {
      void message.error(t('rel.reasonNeeded'));
      return;
    }
    const g = grades.find((x) => x.code === v.code);
    const query = new URLSearchParams({ effective_from: when.toISOString(), ...(v.reason?.trim() ? { reason: v.reason.trim() } : {}) });
    try {
      await api.put(`/v1/grades/${encodeURIComponent(v.code)}?${query.toString()}`, {
        name: g?.name ?? v.code,
        rank: g?.rank ?? 0,
        sales_bp: percentToBp(v.sales),
        override_bp: [percentToBp(v.l1), percentToBp(v.l2), percentToBp(v.l3)],
      });
      void message.success(t('rel.saved', { when: formatTime(when.toISOString(), lang) }));
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  async function cancel(id: string) {
    try {
      await api.post(`/v1/rule-changes/${id}/cancel`, {});
      void message.success(t('rel.cancelled'));
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  async function startPilot() {
    let v;
    try {
      v = await pilotForm.validateFields();
    } catch {
      return;
    }
    const ids = (v.ids ?? '')
      .split(/[,，\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    // Fixed amounts only when one is filled in: they then replace the grade's (a level left empty pays its
    // percentage); all empty, the grade keeps its own.
    const fixed = formToFixed(v);
    const withFixed = fixed.sales_fixed_fen !== null || fixed.override_fixed_fen.length > 0;
    try {
      await api.post('/v1/pilots', {
        name: v.name,
        cohort: { ...(ids.length ? { distributor_ids: ids } : {}), ...(v.percent ? { percent: v.percent } : {}) },
        grades: {
          [v.code]: {
            sales_bp: percentToBp(v.sales),
            override_bp: [percentToBp(v.l1), percentToBp(v.l2), percentToBp(v.l3)],
            ...(withFixed ? { ...fixed, fixed_per: v.fixed_per } : {}),
          },
        },
      });
      void message.success(t('rel.started'));
      pilotForm.resetFields();
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  const byNumber = new Map(versions.map((v) => [v.version, v]));
  const rateFields = (
    <>
      <Form.Item name="sales" label={t('rel.sales')} rules={[{ required: true }]}>
        <InputNumber min={0} max={100} step={0.01} addonAfter="%" />
      </Form.Item>
      {[1, 2, 3].map((k) => (
        <Form.Item key={k} name={`l${k}`} label={t('rel.override', { level: k })} initialValue={0}>
          <InputNumber min={0} max={100} step={0.01} addonAfter="%" />
        </Form.Item>
      ))}
    </>
  );

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <div>
        <Typography.Title level={2}>{t('rel.title')}</Typography.Title>
        <Typography.Paragraph type="secondary">{t('rel.intro')}</Typography.Paragraph>
      </div>

      <Card title={t('rel.current')}>
        <Typography.Paragraph data-testid="current-levels">{levels === null ? '' : t('rel.levels', { n: levels })}</Typography.Paragraph>
        <Table
          size="small"
          pagination={false}
          rowKey="code"
          dataSource={grades}
          data-testid="current-grades"
          columns={[
            { title: t('rel.grade'), render: (_: unknown, g: Grade) => `${g.name} (${g.code})` },
            { title: t('rel.sales'), dataIndex: 'sales_bp', render: (v: number) => formatBp(v) },
            ...[0, 1, 2].map((k) => ({ title: t('rel.override', { level: k + 1 }), render: (_: unknown, g: Grade) => formatBp(g.override_bp[k] ?? 0) })),
          ]}
        />
      </Card>

      {writable && (
        <Card title={t('rel.schedule')}>
          <Form form={scheduleForm} name="schedule" layout="inline" data-testid="schedule-form" onFinish={() => void schedule()}>
            <Form.Item name="code" label={t('rel.grade')} rules={[{ required: true }]}>
              <Select style={{ width: 160 }} options={grades.map((g) => ({ value: g.code, label: g.name }))} />
            </Form.Item>
            {rateFields}
            <Form.Item name="when" label={t('rel.when')} rules={[{ required: true }]}>
              <Input type="datetime-local" />
            </Form.Item>
            <Form.Item name="reason" label={t('rel.reason')}>
              <Input maxLength={500} />
            </Form.Item>
            <Button type="primary" htmlType="submit">
              {t('rel.submit')}
            </Button>
          </Form>
        </Card>
      )}

      <Card title={t('rel.scheduled')}>
        <Table
          size="small"
          pagination={false}
          rowKey="id"
          dataSource={scheduled}
          locale={{ emptyText: t('rel.none') }}
          data-testid="scheduled-changes"
          columns={[
            { title: t('rel.when'), dataIndex: 'effective_from', render: (v: string) => formatTime(v, lang) },
            { title: t('rel.what'), render: (_: unknown, c: RuleChange) => changeInWords(t, c) },
            { title: t('rel.reason'), dataIndex: 'reason' },
            ...(writable
              ? [
                  {
                    title: '',
                    render: (_: unknown, c: RuleChange) => (
                      <Popconfirm title={t('rel.cancelConfirm')} onConfirm={() => cancel(c.id)} okText={t('rel.cancel')}>
                        <Button size="small" danger>
                          {t('rel.cancel')}
                        </Button>
                      </Popconfirm>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Card>

      <Card title={t('rel.pilots')}>
        {writable && (
          <Form form={pilotForm} name="pilot" layout="inline" data-testid="pilot-form" onFinish={() => void startPilot()} style={{ marginBottom: 16 }}>
            <Form.Item name="name" label={t('rel.pilotName')} rules={[{ required: true }]}>
              <Input maxLength={100} />
            </Form.Item>
            <Form.Item name="ids" label={t('rel.cohortIds')}>
              <Input style={{ width: 280 }} />
            </Form.Item>
            <Form.Item name="percent" label={t('rel.cohortPercent')}>
              <InputNumber min={0} max={100} />
            </Form.Item>
            <Form.Item name="code" label={t('rel.pilotGrade')} rules={[{ required: true }]}>
              <Select style={{ width: 160 }} options={grades.map((g) => ({ value: g.code, label: g.name }))} />
            </Form.Item>
            {rateFields}
            <Typography.Paragraph type="secondary" style={{ width: '100%', margin: '8px 0' }}>
              {t('rel.pilotFixedHint')}
            </Typography.Paragraph>
            <Form.Item name="fixed_per" label={t('grades.fixedPer')} initialValue="unit">
              <Select
                style={{ width: 120 }}
                data-testid="pilot-fixed-per"
                options={(['unit', 'order'] as const).map((m) => ({ value: m, label: t(`grades.fixedPer.${m}`) }))}
              />
            </Form.Item>
            <Form.Item name="f0" label={t('grades.fixedSales')}>
              <HundredthsInput suffix={t('rel.yuan')} aria-label={t('grades.fixedSales')} />
            </Form.Item>
            {[1, 2, 3].map((k) => (
              <Form.Item key={k} name={`f${k}`} label={t('grades.fixedOverride', { level: k })}>
                <HundredthsInput suffix={t('rel.yuan')} aria-label={t('grades.fixedOverride', { level: k })} />
              </Form.Item>
            ))}
            <Button type="primary" htmlType="submit">
              {t('rel.start')}
            </Button>
          </Form>
        )}
        <Space direction="vertical" style={{ width: '100%' }}>
          {pilots.map((p) => (
            <Card
              key={p.id}
              size="small"
              type="inner"
              title={
                <Space>
                  {p.name}
                  <Tag color={p.status === 'running' ? 'processing' : p.status === 'promoted' ? 'success' : 'default'}>{t(`rel.status.${p.status}`)}</Tag>
                </Space>
              }
            >
              <Descriptions size="small" column={2} items={[{ key: 's', label: t('rel.effective'), children: formatTime(p.started_at, lang) }]} />
              <PilotReport pilot={p} onChanged={load} />
            </Card>
          ))}
        </Space>
      </Card>

      <Card title={t('rel.history')}>
        <Table
          size="small"
          rowKey="version"
          dataSource={versions}
          data-testid="version-history"
          columns={[
            { title: t('rel.version'), dataIndex: 'version' },
            { title: t('rel.effective'), dataIndex: 'effective_from', render: (v: string) => formatTime(v, lang) },
            {
              title: t('rel.changes'),
              render: (_: unknown, v: Version) => {
                const words = diffInWords(t, byNumber.get(v.version - 1)?.snapshot, v.snapshot);
                return words.length > 0 ? words.join('；') : t('rel.noChange', { reason: v.reason });
              },
            },
            { title: t('rel.reason'), dataIndex: 'reason' },
          ]}
        />
      </Card>
    </Space>
  );
}

export default ReleasesPage;
