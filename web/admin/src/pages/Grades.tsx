import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Card, Divider, Form, Input, InputNumber, Modal, Select, Space, Switch, Table, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { bpToPercent, formatBp, formatYuan } from '../../../shared/format.ts';
import type { Grade, GradeBody, Tier, UpgradeRule } from '../../../shared/types.ts';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { messageOf } from '../components/errors.ts';
import { useWord } from '../components/CommissionExplanation.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';
import { forgetGradeNames } from '../components/GradeName.tsx';

interface TierForm extends FixedForm {
  min: number | null;
  sales_bp: number | null;
  l1: number | null;
  l2: number | null;
  l3: number | null;
}
/** Fixed amounts in fen beside the percentages (null: the percentage applies at that level). */
export interface FixedForm {
  f0: number | null;
  f1: number | null;
  f2: number | null;
  f3: number | null;
}
type FixedPer = 'unit' | 'order';
interface FixedRates {
  sales_fixed_fen?: number | null | undefined;
  override_fixed_fen?: (number | null)[] | undefined;
  fixed_per?: FixedPer | undefined;
}
interface GradeForm {
  code: string;
  name: string;
  rank: number;
  sales_bp: number;
  l1: number | null;
  l2: number | null;
  l3: number | null;
  tiers: TierForm[];
  upgrade_on: boolean;
  upgrade_metric: UpgradeRule['metric'];
  upgrade_min_fen: number | null;
  f0: number | null;
  f1: number | null;
  f2: number | null;
  f3: number | null;
  fixed_per: FixedPer;
}

/** Level rates of a form row as the API's array: trailing empty levels left out. */
function levelRates(values: (number | null | undefined)[]): (number | null)[] {
  const levels = values.map((v) => (v === undefined ? null : v));
  while (levels.length && levels.at(-1) === null) levels.pop();
  return levels;
}

/** Fixed amounts as a form's fields. */
export function fixedToForm(r: FixedRates): FixedForm {
  return {
    f0: r.sales_fixed_fen ?? null,
    f1: r.override_fixed_fen?.[0] ?? null,
    f2: r.override_fixed_fen?.[1] ?? null,
    f3: r.override_fixed_fen?.[2] ?? null,
  };
}

/** A form's fixed amounts as the API takes them: a level left empty is null (it keeps its percentage). */
export function formToFixed(f: Partial<FixedForm>): { sales_fixed_fen: number | null; override_fixed_fen: (number | null)[] } {
  return { sales_fixed_fen: f.f0 ?? null, override_fixed_fen: levelRates([f.f1, f.f2, f.f3]) };
}

function tierToForm(tier: Tier): TierForm {
  return {
    ...fixedToForm(tier),
    min: tier.min_monthly_sales_fen,
    sales_bp: tier.sales_bp ?? null,
    l1: tier.override_bp?.[0] ?? null,
    l2: tier.override_bp?.[1] ?? null,
    l3: tier.override_bp?.[2] ?? null,
  };
}

/** A tier row as the API takes it; null when a level is empty before a filled one (a tier's rates have no gaps). */
function formToTier(f: TierForm, per: FixedPer): Tier | null {
  const levels = levelRates([f.l1, f.l2, f.l3]);
  if (levels.some((v) => v === null)) return null;
  const fixed = formToFixed(f);
  const hasFixed = fixed.sales_fixed_fen !== null || fixed.override_fixed_fen.length > 0;
  return {
    min_monthly_sales_fen: f.min ?? 0,
    // A tier's fixed amounts are counted as its grade's are (per unit or per order).
    ...(hasFixed
      ? { ...(fixed.sales_fixed_fen !== null ? { sales_fixed_fen: fixed.sales_fixed_fen } : {}), override_fixed_fen: fixed.override_fixed_fen, fixed_per: per }
      : {}),
    ...(f.sales_bp !== null && f.sales_bp !== undefined ? { sales_bp: f.sales_bp } : {}),
    ...(levels.length ? { override_bp: levels as number[] } : {}),
  };
}

export function tierSummary(tier: Tier): string {
  const parts = [`≥ ${formatYuan(tier.min_monthly_sales_fen)}`];
  if (tier.sales_bp !== undefined) parts.push(`L0 ${formatBp(tier.sales_bp)}`);
  (tier.override_bp ?? []).forEach((bp, i) => parts.push(`L${i + 1} ${formatBp(bp)}`));
  parts.push(...fixedParts(tier));
  return parts.join(' · ');
}

/** Fixed amounts by level: "L0 ¥2.00", … (the way they are counted is shown beside them). */
export function fixedParts(r: FixedRates): string[] {
  const parts: string[] = [];
  if (r.sales_fixed_fen !== undefined && r.sales_fixed_fen !== null) parts.push(`L0 ${formatYuan(r.sales_fixed_fen)}`);
  (r.override_fixed_fen ?? []).forEach((fen, i) => {
    if (fen !== null) parts.push(`L${i + 1} ${formatYuan(fen)}`);
  });
  return parts;
}

export default function GradesPage() {
  const { t } = useI18n();
  const word = useWord();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [grades, setGrades] = useState<Grade[] | null>(null);
  const [editing, setEditing] = useState<Grade | 'new' | null>(null);
  const [saving, setSaving] = useState(false);
  const [form] = Form.useForm<GradeForm>();
  const writable = can('program:write');

  const load = useCallback(() => {
    api.get<{ items: Grade[] }>('/v1/grades').then(
      (r) => setGrades(r.items),
      (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })),
    );
  }, [api, message, t]);
  useEffect(load, [load]);

  function open(g: Grade | 'new') {
    setEditing(g);
    form.resetFields();
    form.setFieldsValue(
      g === 'new'
        ? {
            code: '',
            name: '',
            rank: (grades?.at(-1)?.rank ?? 0) + 10,
            sales_bp: 0,
            l1: 0,
            l2: 0,
            l3: 0,
            tiers: [],
            upgrade_on: false,
            upgrade_metric: 'sales_fen',
            upgrade_min_fen: null,
            f0: null,
            f1: null,
            f2: null,
            f3: null,
            fixed_per: 'unit',
          }
        : {
            ...fixedToForm(g),
            fixed_per: g.fixed_per ?? 'unit',
            code: g.code,
            name: g.name,
            rank: g.rank,
            sales_bp: g.sales_bp,
            l1: g.override_bp[0] ?? null,
            l2: g.override_bp[1] ?? null,
            l3: g.override_bp[2] ?? null,
            tiers: (g.tiers ?? []).map(tierToForm),
            upgrade_on: !!g.upgrade,
            upgrade_metric: g.upgrade?.metric ?? 'sales_fen',
            upgrade_min_fen: g.upgrade?.min_fen ?? null,
          },
    );
  }

  async function save() {
    let v: GradeForm;
    try {
      v = await form.validateFields();
    } catch {
      return;
    } // the form shows what is missing
    // Trailing empty levels are left out; a gap in the middle is a 0 rate.
    const levels = levelRates([v.l1, v.l2, v.l3]);
    const tiers = (v.tiers ?? []).map((tier) => formToTier(tier, v.fixed_per));
    const gap = tiers.findIndex((tier) => tier === null);
    if (gap >= 0) {
      form.setFields([{ name: ['tiers', gap, 'l1'], errors: [t('grades.tierGap')] }]);
      return;
    }
    const body: GradeBody = {
      name: v.name,
      rank: v.rank,
      sales_bp: v.sales_bp,
      override_bp: levels.map((x) => x ?? 0),
      tiers: tiers as Tier[],
      upgrade: v.upgrade_on && v.upgrade_min_fen ? { metric: v.upgrade_metric, min_fen: v.upgrade_min_fen } : null,
      ...formToFixed(v),
      fixed_per: v.fixed_per,
    };
    setSaving(true);
    try {
      await api.put<Grade>(`/v1/grades/${encodeURIComponent(v.code.trim())}`, body);
      forgetGradeNames(api);
      setEditing(null);
      void message.success(t('common.saved'));
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setSaving(false);
    }
  }

  const pct = (bp: number | undefined) => (bp === undefined ? '—' : `${bpToPercent(bp)}%`);
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('grades.title')}
        </Typography.Title>
        {writable && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => open('new')} data-testid="grade-create">
            {t('grades.create')}
          </Button>
        )}
      </Space>
      <Alert type="info" showIcon title={t('grades.note')} />
      <Table<Grade>
        rowKey="code"
        loading={grades === null}
        dataSource={grades ?? []}
        pagination={false}
        data-testid="grades-table"
        columns={[
          { title: t('grades.code'), dataIndex: 'code' },
          { title: t('grades.name'), dataIndex: 'name' },
          { title: t('grades.rank'), dataIndex: 'rank' },
          { title: t('grades.salesBp'), dataIndex: 'sales_bp', render: (v: number) => pct(v) },
          ...[1, 2, 3].map((level) => ({
            title: t('grades.overrideBp', { level }),
            key: `l${level}`,
            render: (_: unknown, g: Grade) => pct(g.override_bp[level - 1]),
          })),
          {
            title: t('grades.fixed'),
            key: 'fixed',
            render: (_: unknown, g: Grade) => {
              const parts = fixedParts(g);
              return parts.length ? `${parts.join(' · ')} ${t(`grades.fixedPer.${g.fixed_per ?? 'unit'}`)}` : '—';
            },
          },
          {
            title: t('grades.tiers'),
            key: 'tiers',
            render: (_: unknown, g: Grade) => (g.tiers?.length ? g.tiers.map((tier, i) => <div key={i}>{tierSummary(tier)}</div>) : '—'),
          },
          {
            title: t('grades.upgrade'),
            key: 'upgrade',
            render: (_: unknown, g: Grade) =>
              g.upgrade ? t('grades.upgradeText', { metric: word('grades.metric', g.upgrade.metric), min: formatYuan(g.upgrade.min_fen) }) : '—',
          },
          ...(writable
            ? [
                {
                  title: t('common.actions'),
                  key: 'actions',
                  render: (_: unknown, g: Grade) => (
                    <Button size="small" onClick={() => open(g)}>
                      {t('common.edit')}
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Modal
        open={editing !== null}
        title={editing === 'new' ? t('grades.create') : t('grades.edit', { code: editing?.code ?? '' })}
        onCancel={() => setEditing(null)}
        onOk={() => void save()}
        confirmLoading={saving}
        okText={t('common.save')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
        width={760}
      >
        <Form form={form} layout="vertical">
          <Form.Item
            name="code"
            label={t('grades.code')}
            extra={t('grades.codeHint')}
            rules={[{ required: true, pattern: /^[A-Za-z0-9_-]{1,32}$/, message: t('grades.codeHint') }]}
          >
            <Input disabled={editing !== 'new'} />
          </Form.Item>
          <Form.Item name="name" label={t('grades.name')} rules={[{ required: true, whitespace: true, max: 64 }]}>
            <Input />
          </Form.Item>
          <Form.Item name="rank" label={t('grades.rank')} rules={[{ required: true }]}>
            <InputNumber min={0} max={1000} precision={0} />
          </Form.Item>
          <Form.Item name="sales_bp" label={t('grades.salesBp')} rules={[{ required: true }]}>
            <HundredthsInput suffix="%" max={10000} />
          </Form.Item>
          {[1, 2, 3].map((level) => (
            <Form.Item key={level} name={`l${level}`} label={t('grades.overrideBp', { level })}>
              <HundredthsInput suffix="%" max={10000} />
            </Form.Item>
          ))}

          <Divider titlePlacement="start">{t('grades.fixed')}</Divider>
          <Typography.Paragraph type="secondary">{t('grades.fixedHint')}</Typography.Paragraph>
          <Form.Item name="fixed_per" label={t('grades.fixedPer')}>
            <Select
              style={{ width: 200 }}
              data-testid="grade-fixed-per"
              options={(['unit', 'order'] as const).map((m) => ({ value: m, label: t(`grades.fixedPer.${m}`) }))}
            />
          </Form.Item>
          <Space wrap>
            <Form.Item name="f0" label={t('grades.fixedSales')}>
              <HundredthsInput suffix={t('common.yuan')} aria-label={t('grades.fixedSales')} />
            </Form.Item>
            {[1, 2, 3].map((level) => (
              <Form.Item key={level} name={`f${level}`} label={t('grades.fixedOverride', { level })}>
                <HundredthsInput suffix={t('common.yuan')} aria-label={t('grades.fixedOverride', { level })} />
              </Form.Item>
            ))}
          </Space>

          <Divider titlePlacement="start">{t('grades.tiers')}</Divider>
          <Typography.Paragraph type="secondary">{t('grades.tiersHint')}</Typography.Paragraph>
          <Form.List name="tiers">
            {(fields, { add, remove }) => (
              <Space direction="vertical" style={{ width: '100%' }}>
                {fields.map((field, i) => (
                  <Card
                    key={field.key}
                    size="small"
                    title={t('grades.tierN', { n: i + 1 })}
                    data-testid={`tier-${i}`}
                    extra={
                      <Button
                        size="small"
                        type="text"
                        danger
                        icon={<DeleteOutlined />}
                        aria-label={t('grades.tierRemove', { n: i + 1 })}
                        onClick={() => remove(field.name)}
                      />
                    }
                  >
                    <Form.Item name={[field.name, 'min']} label={t('grades.tierMin')} rules={[{ required: true, message: t('grades.tierMin') }]}>
                      <HundredthsInput suffix={t('common.yuan')} aria-label={`${t('grades.tierN', { n: i + 1 })} ${t('grades.tierMin')}`} />
                    </Form.Item>
                    <Space wrap>
                      <Form.Item name={[field.name, 'sales_bp']} label={t('grades.salesBp')}>
                        <HundredthsInput suffix="%" max={10000} aria-label={`${t('grades.tierN', { n: i + 1 })} ${t('grades.salesBp')}`} />
                      </Form.Item>
                      {[1, 2, 3].map((level) => (
                        <Form.Item key={level} name={[field.name, `l${level}`]} label={t('grades.overrideBp', { level })}>
                          <HundredthsInput suffix="%" max={10000} aria-label={`${t('grades.tierN', { n: i + 1 })} ${t('grades.overrideBp', { level })}`} />
                        </Form.Item>
                      ))}
                    </Space>
                    <Space wrap>
                      <Form.Item name={[field.name, 'f0']} label={t('grades.fixedSales')}>
                        <HundredthsInput suffix={t('common.yuan')} aria-label={`${t('grades.tierN', { n: i + 1 })} ${t('grades.fixedSales')}`} />
                      </Form.Item>
                      {[1, 2, 3].map((level) => (
                        <Form.Item key={level} name={[field.name, `f${level}`]} label={t('grades.fixedOverride', { level })}>
                          <HundredthsInput
                            suffix={t('common.yuan')}
                            aria-label={`${t('grades.tierN', { n: i + 1 })} ${t('grades.fixedOverride', { level })}`}
                          />
                        </Form.Item>
                      ))}
                    </Space>
                  </Card>
                ))}
                <Button
                  icon={<PlusOutlined />}
                  onClick={() => add({ min: null, sales_bp: null, l1: null, l2: null, l3: null, f0: null, f1: null, f2: null, f3: null })}
                  data-testid="tier-add"
                >
                  {t('grades.tierAdd')}
                </Button>
              </Space>
            )}
          </Form.List>

          <Divider titlePlacement="start">{t('grades.upgrade')}</Divider>
          <Typography.Paragraph type="secondary">{t('grades.upgradeHint')}</Typography.Paragraph>
          <Form.Item name="upgrade_on" label={t('grades.upgradeOn')} valuePropName="checked">
            <Switch />
          </Form.Item>
          <Form.Item noStyle shouldUpdate={(a: GradeForm, b: GradeForm) => a.upgrade_on !== b.upgrade_on}>
            {() =>
              form.getFieldValue('upgrade_on') && (
                <Space wrap>
                  <Form.Item name="upgrade_metric" label={t('grades.upgradeMetric')}>
                    <Select
                      style={{ width: 260 }}
                      options={(['sales_fen', 'settled_sales_fen'] as const).map((m) => ({ value: m, label: t(`grades.metric.${m}`) }))}
                    />
                  </Form.Item>
                  <Form.Item name="upgrade_min_fen" label={t('grades.upgradeMin')} rules={[{ required: true, message: t('grades.upgradeMin') }]}>
                    <HundredthsInput suffix={t('common.yuan')} />
                  </Form.Item>
                </Space>
              )
            }
          </Form.Item>
        </Form>
      </Modal>
    </Space>
  );
}
