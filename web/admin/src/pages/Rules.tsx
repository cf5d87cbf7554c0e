import { useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { Alert, App, Button, Card, Collapse, Descriptions, Form, Input, Modal, Popconfirm, Select, Space, Table, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { formatBp, formatTime, formatYuan } from '../../../shared/format.ts';
import type { LevelKey, RateSpec, RulesSnapshot, RuleVersion, SkuRates, SkuRule, Tier } from '../../../shared/types.ts';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { messageOf } from '../components/errors.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { RuleSimulator } from '../components/RuleSimulator.tsx';

const LEVELS: LevelKey[] = ['0', '1', '2', '3'];

export function rateSpecText(r: RateSpec | undefined, perUnit: string): string {
  if (!r) return '—';
  return r.kind === 'percent' ? formatBp(r.bp) : `${formatYuan(r.fen)} ${perUnit}`;
}

type LevelForm = { kind: 'none' | 'percent' | 'fixed'; value: number | null };
type SkuForm = { sku: string } & Record<`l${LevelKey}`, LevelForm>;

function LevelRateField({ value, onChange, label }: { value?: LevelForm; onChange?: (v: LevelForm) => void; label: string }) {
  const { t } = useI18n();
  const v = value ?? { kind: 'none', value: null };
  return (
    <Space wrap>
      <Select
        aria-label={`${label} ${t('rules.rateKind')}`}
        style={{ width: 160 }}
        value={v.kind}
        onChange={(kind) => onChange?.({ kind, value: kind === 'none' ? null : (v.value ?? 0) })}
        options={[
          { value: 'none', label: t('rules.kind.none') },
          { value: 'percent', label: t('rules.kind.percent') },
          { value: 'fixed', label: t('rules.kind.fixed') },
        ]}
      />
      {v.kind !== 'none' && (
        <HundredthsInput
          aria-label={`${label} ${v.kind === 'percent' ? t('rules.kind.percent') : t('rules.kind.fixed')}`}
          value={v.value}
          onChange={(n) => onChange?.({ ...v, value: n })}
          suffix={v.kind === 'percent' ? '%' : t('rules.perUnit')}
          {...(v.kind === 'percent' ? { max: 10000 } : {})}
        />
      )}
    </Space>
  );
}

function levelLabel(t: ReturnType<typeof useI18n>['t'], level: LevelKey) {
  return level === '0' ? t('rules.level0') : t('rules.levelK', { level });
}

function SkuRules({ onChanged }: { onChanged: () => void }) {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [rules, setRules] = useState<SkuRule[] | null>(null);
  const [editing, setEditing] = useState<SkuRule | 'new' | null>(null);
  const [saving, setSaving] = useState(false);
  const [form] = Form.useForm<SkuForm>();
  const writable = can('program:write');

  const load = useCallback(() => {
    api.get<{ items: SkuRule[] }>('/v1/sku-rules').then(
      (r) => setRules(r.items),
      (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })),
    );
  }, [api, message, t]);
  useEffect(load, [load]);

  function open(rule: SkuRule | 'new') {
    setEditing(rule);
    form.resetFields();
    const rates: SkuRates = rule === 'new' ? {} : rule.rates;
    const level = (k: LevelKey): LevelForm => {
      const r = rates[k];
      return !r ? { kind: 'none', value: null } : r.kind === 'percent' ? { kind: 'percent', value: r.bp } : { kind: 'fixed', value: r.fen };
    };
    form.setFieldsValue({ sku: rule === 'new' ? '' : rule.sku, l0: level('0'), l1: level('1'), l2: level('2'), l3: level('3') });
  }

  async function save() {
    let v: SkuForm;
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    const rates: SkuRates = {};
    for (const k of LEVELS) {
      const f = v[`l${k}`];
      if (!f || f.kind === 'none') continue;
      rates[k] = f.kind === 'percent' ? { kind: 'percent', bp: f.value ?? 0 } : { kind: 'fixed', fen: f.value ?? 0 };
    }
    if (Object.keys(rates).length === 0) {
      void message.error(t('rules.needOne'));
      return;
    }
    setSaving(true);
    try {
      const res = await api.put<{ rule_version: number }>(`/v1/sku-rules/${encodeURIComponent(v.sku.trim())}`, { rates });
      void message.success(t('rules.savedVersion', { version: res.rule_version }));
      setEditing(null);
      load();
      onChanged();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setSaving(false);
    }
  }

  async function remove(sku: string) {
    try {
      await api.del(`/v1/sku-rules/${encodeURIComponent(sku)}`);
      void message.success(t('rules.deleted'));
      load();
      onChanged();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  return (
    <Card
      title={t('rules.sku')}
      extra={
        writable && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => open('new')} data-testid="sku-create">
            {t('rules.skuCreate')}
          </Button>
        )
      }
    >
      <Typography.Paragraph type="secondary">{t('rules.skuHint')}</Typography.Paragraph>
      <Table<SkuRule>
        rowKey="sku"
        size="small"
        loading={rules === null}
        dataSource={rules ?? []}
        pagination={false}
        data-testid="sku-table"
        locale={{ emptyText: t('rules.skuEmpty') }}
        columns={[
          { title: t('order.sku'), dataIndex: 'sku' },
          ...LEVELS.map((k) => ({ title: levelLabel(t, k), key: `l${k}`, render: (_: unknown, r: SkuRule) => rateSpecText(r.rates[k], t('rules.perUnit')) })),
          { title: t('rules.updatedAt'), dataIndex: 'updated_at', render: (v: string) => formatTime(v, lang) },
          ...(writable
            ? [
                {
                  title: t('common.actions'),
                  key: 'actions',
                  render: (_: unknown, r: SkuRule) => (
                    <Space>
                      <Button size="small" onClick={() => open(r)}>
                        {t('common.edit')}
                      </Button>
                      <Popconfirm
                        title={t('rules.deleteConfirm', { sku: r.sku })}
                        okText={t('common.confirm')}
                        cancelText={t('common.cancel')}
                        onConfirm={() => void remove(r.sku)}
                      >
                        <Button size="small" danger>
                          {t('rules.delete')}
                        </Button>
                      </Popconfirm>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Modal
        open={editing !== null}
        title={editing === 'new' ? t('rules.skuCreate') : t('rules.skuEdit', { sku: editing?.sku ?? '' })}
        onCancel={() => setEditing(null)}
        onOk={() => void save()}
        confirmLoading={saving}
        okText={t('common.save')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
        width={600}
      >
        <Form form={form} layout="vertical">
          <Form.Item
            name="sku"
            label={t('order.sku')}
            // eslint-disable-next-line no-control-regex -- a SKU may not hold control characters: this is the check
            rules={[{ required: true, whitespace: true, pattern: /^[^\u0000-\u001f\u007f/]{1,128}$/, message: t('rules.skuInvalid') }]}
          >
            <Input disabled={editing !== 'new'} />
          </Form.Item>
          {LEVELS.map((k) => (
            <Form.Item key={k} name={`l${k}`} label={levelLabel(t, k)}>
              <LevelRateField label={levelLabel(t, k)} />
            </Form.Item>
          ))}
          <Alert type="info" showIcon title={t('rules.fixedHint')} />
        </Form>
      </Modal>
    </Card>
  );
}

function tierText(tier: Tier): string {
  const parts = [`≥ ${formatYuan(tier.min_monthly_sales_fen)}`];
  if (tier.sales_bp !== undefined) parts.push(`L0 ${formatBp(tier.sales_bp)}`);
  (tier.override_bp ?? []).forEach((bp, i) => parts.push(`L${i + 1} ${formatBp(bp)}`));
  return parts.join(' · ');
}

/** A rule version's snapshot laid out: program-wide settings, grades with tiers, SKU overrides. */
export function SnapshotView({ snapshot }: { snapshot: RulesSnapshot }) {
  const { t } = useI18n();
  const word = useWord();
  const pct = (bp: number | null | undefined) => (bp === null || bp === undefined ? '—' : formatBp(bp));
  const grades = Object.entries(snapshot.grades)
    .map(([code, g]) => ({ code, ...g }))
    .sort((a, b) => a.rank - b.rank);
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="snapshot-view">
      <Descriptions
        size="small"
        bordered
        column={2}
        items={[
          { key: 'levels', label: t('program.levels'), children: snapshot.levels },
          { key: 'self', label: t('program.selfPurchase'), children: snapshot.self_purchase ? t('common.yes') : t('common.no') },
          { key: 'dsales', label: t('rules.defaultSales'), children: pct(snapshot.default_rates.sales_bp) },
          {
            key: 'doverride',
            label: t('rules.defaultOverride'),
            children: snapshot.default_rates.override_bp.length ? snapshot.default_rates.override_bp.map(pct).join(' / ') : '—',
          },
          {
            key: 'capOrder',
            label: t('program.caps.perOrder'),
            children: snapshot.caps.per_order_fen ? formatYuan(snapshot.caps.per_order_fen) : t('rules.noCap'),
          },
          { key: 'capDay', label: t('program.caps.perDay'), children: snapshot.caps.per_day_fen ? formatYuan(snapshot.caps.per_day_fen) : t('rules.noCap') },
        ]}
      />
      <Table
        size="small"
        rowKey="code"
        pagination={false}
        dataSource={grades}
        columns={[
          { title: t('grades.code'), dataIndex: 'code' },
          { title: t('grades.rank'), dataIndex: 'rank' },
          { title: t('grades.salesBp'), dataIndex: 'sales_bp', render: (v: number) => pct(v) },
          { title: t('rules.overrides'), dataIndex: 'override_bp', render: (v: number[]) => v.map((bp) => pct(bp)).join(' / ') || '—' },
          { title: t('grades.tiers'), dataIndex: 'tiers', render: (v: Tier[]) => (v.length ? v.map((tier, i) => <div key={i}>{tierText(tier)}</div>) : '—') },
          {
            title: t('grades.upgrade'),
            dataIndex: 'upgrade',
            render: (u: RulesSnapshot['grades'][string]['upgrade']) =>
              u ? t('grades.upgradeText', { metric: word('grades.metric', u.metric), min: formatYuan(u.min_fen) }) : '—',
          },
        ]}
      />
      <Table
        size="small"
        rowKey="sku"
        pagination={false}
        dataSource={Object.entries(snapshot.sku).map(([sku, rates]) => ({ sku, rates }))}
        locale={{ emptyText: t('rules.skuEmpty') }}
        columns={[
          { title: t('order.sku'), dataIndex: 'sku' },
          ...LEVELS.map((k) => ({
            title: levelLabel(t, k),
            key: `l${k}`,
            render: (_: unknown, r: { rates: SkuRates }) => rateSpecText(r.rates[k], t('rules.perUnit')),
          })),
        ]}
      />
      <Collapse
        size="small"
        items={[
          {
            key: 'raw',
            label: t('rules.raw'),
            children: <pre style={{ margin: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{JSON.stringify(snapshot, null, 2)}</pre>,
          },
        ]}
      />
    </Space>
  );
}

function RuleVersions({ changes }: { changes: number }) {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const [params, setParams] = useSearchParams();
  const [versions, setVersions] = useState<RuleVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const shown = params.get('version');
  const open = versions?.find((v) => String(v.version) === shown) ?? null;

  useEffect(() => {
    api.get<{ items: RuleVersion[] }>('/v1/rule-versions', { limit: 200 }).then(
      (r) => setVersions(r.items),
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api, changes]);

  return (
    <Card title={t('rules.versions')}>
      <Typography.Paragraph type="secondary">{t('rules.versionsHint')}</Typography.Paragraph>
      {error && <Alert type="error" showIcon title={t('common.error', { message: error })} />}
      <Table<RuleVersion>
        rowKey="version"
        size="small"
        loading={versions === null && !error}
        dataSource={versions ?? []}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        data-testid="versions-table"
        columns={[
          { title: t('rules.version'), dataIndex: 'version' },
          { title: t('rules.effectiveFrom'), dataIndex: 'effective_from', render: (v: string) => formatTime(v, lang) },
          { title: t('rules.reason'), dataIndex: 'reason', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          {
            title: t('common.actions'),
            key: 'view',
            render: (_: unknown, v) => (
              <Button size="small" onClick={() => setParams({ version: String(v.version) })} data-testid={`version-${v.version}`}>
                {t('rules.viewSnapshot')}
              </Button>
            ),
          },
        ]}
      />
      <Modal
        open={open !== null}
        width={960}
        footer={null}
        onCancel={() => setParams({})}
        title={open ? t('rules.snapshotTitle', { version: open.version, at: formatTime(open.effective_from, lang) }) : ''}
      >
        {open && <SnapshotView snapshot={open.snapshot as RulesSnapshot} />}
      </Modal>
    </Card>
  );
}

export default function RulesPage() {
  const { t } = useI18n();
  const [changes, setChanges] = useState(0);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('rules.title')}
      </Typography.Title>
      <Alert type="info" showIcon title={t('rules.order')} />
      <SkuRules onChanged={() => setChanges((n) => n + 1)} />
      <RuleSimulator />
      <RuleVersions changes={changes} />
    </Space>
  );
}
