import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Card, Checkbox, Form, Input, InputNumber, Radio, Select, Space, Spin, Switch, Tag, Typography } from 'antd';
import { ApiError } from '../../../shared/api.ts';
import type { ProgramSettings } from '../../../shared/types.ts';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { LandingDomains } from '../components/LandingDomains.tsx';
import { ProgramProposals, type ProgramProposal } from '../components/ProgramProposals.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

type Window = { limit: number; window_seconds: number } | null;

/** An anti-cheat limit: off (null), or at most `limit` events in `window_seconds`. */
function WindowField({ value, onChange, label, disabled }: { value?: Window; onChange?: (v: Window) => void; label: string; disabled: boolean }) {
  const { t } = useI18n();
  const on = value !== null && value !== undefined;
  return (
    <Space wrap>
      <Checkbox checked={on} disabled={disabled} onChange={(e) => onChange?.(e.target.checked ? { limit: 10, window_seconds: 3600 } : null)}>
        {label}
      </Checkbox>
      <InputNumber
        aria-label={`${label} ${t('program.antiCheat.limit')}`}
        disabled={disabled || !on}
        min={1}
        precision={0}
        value={value?.limit ?? null}
        onChange={(v) => value && onChange?.({ ...value, limit: v ?? 1 })}
        addonBefore={t('program.antiCheat.limit')}
      />
      <InputNumber
        aria-label={`${label} ${t('program.antiCheat.window')}`}
        disabled={disabled || !on}
        min={1}
        precision={0}
        style={{ width: 220 }}
        value={value?.window_seconds ?? null}
        onChange={(v) => value && onChange?.({ ...value, window_seconds: v ?? 1 })}
        addonBefore={t('program.antiCheat.window')}
      />
    </Space>
  );
}

type ProgramAnswer = ProgramSettings & { pending_proposal?: ProgramProposal };

export default function ProgramPage() {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [form] = Form.useForm<ProgramSettings>();
  const [loaded, setLoaded] = useState<ProgramSettings | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [proposals, setProposals] = useState(0);
  const writable = can('program:write');
  // The money controls (issue 14): finance and the owner set them; an operator's change to one
  // becomes a proposal that a second person confirms. Finance edits only those.
  const moneyDirect = can('program:money');
  const moneyEditable = writable || moneyDirect;
  const moneyTag =
    writable && !moneyDirect ? (
      <Tag color="orange" style={{ marginInlineStart: 8 }}>
        {t('program.money.tag')}
      </Tag>
    ) : null;
  const money = (label: string) => (
    <span>
      {label}
      {moneyTag}
    </span>
  );

  useEffect(() => {
    api.get<ProgramSettings>('/v1/program').then(setLoaded, (err: unknown) => setLoadError(messageOf(err)));
  }, [api]);

  // A proposal confirmed here changed what is in force: show it.
  const reload = useCallback(() => {
    api.get<ProgramSettings>('/v1/program').then(
      (p) => {
        form.setFieldsValue(p);
        setLoaded(p);
      },
      (err: unknown) => void message.error(t('common.error', { message: messageOf(err) })),
    );
  }, [api, form, message, t]);

  async function save(values: ProgramSettings) {
    setSaving(true);
    try {
      let answer: ProgramAnswer;
      if (writable) {
        // Default override rates: empty levels at the end are left out, one in the middle stays null.
        const overrides = [0, 1, 2].map((i) => values.default_rates?.override_bp?.[i] ?? null);
        while (overrides.length && overrides.at(-1) === null) overrides.pop();
        const fixedOverrides = [0, 1, 2].map((i) => values.default_rates?.override_fixed_fen?.[i] ?? null);
        while (fixedOverrides.length && fixedOverrides.at(-1) === null) fixedOverrides.pop();
        const body = {
          ...values,
          landing_url: values.landing_url ? values.landing_url : null,
          ...(values.default_rates
            ? {
                default_rates: {
                  sales_bp: values.default_rates.sales_bp ?? null,
                  override_bp: overrides,
                  sales_fixed_fen: values.default_rates.sales_fixed_fen ?? null,
                  override_fixed_fen: fixedOverrides,
                  fixed_per: values.default_rates.fixed_per ?? 'unit',
                },
              }
            : {}),
        };
        answer = await api.put<ProgramAnswer>('/v1/program', body);
      } else {
        const { freeze_days, review_threshold_fen, withdrawal, settlement } = values;
        answer = await api.put<ProgramAnswer>('/v1/program/money-controls', { freeze_days, review_threshold_fen, withdrawal, settlement });
      }
      const { pending_proposal: proposal, ...saved } = answer;
      // What is in force: a proposed money change goes back to its current value until confirmed.
      form.setFieldsValue(saved);
      setLoaded(saved);
      if (proposal) {
        void message.info(t('program.proposal.submitted'));
        setProposals((v) => v + 1);
      } else {
        void message.success(t('common.saved'));
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'compliance_violation') {
        form.setFields([{ name: 'levels', errors: [t('program.compliance', { message: err.message })] }]);
        form.scrollToField('levels');
      } else {
        void message.error(t('common.error', { message: messageOf(err) }));
      }
    } finally {
      setSaving(false);
    }
  }

  if (loadError) return <Alert type="error" showIcon title={t('common.error', { message: loadError })} />;
  if (!loaded) return <Spin />;

  const yuan = t('common.yuan');
  const pct = t('common.percent');
  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t('program.title')}
      </Typography.Title>
      {!moneyEditable && <Alert type="info" showIcon title={t('common.readOnly')} />}
      {writable && !moneyDirect && <Alert type="warning" showIcon title={t('program.money.hint')} data-testid="money-hint" />}
      {!writable && moneyDirect && <Alert type="info" showIcon title={t('program.money.financeHint')} />}
      <ProgramProposals version={proposals} onDecided={reload} />
      <Form form={form} layout="vertical" initialValues={loaded} disabled={!writable} onFinish={(v) => void save(v)} data-testid="program-form">
        <Card title={t('program.section.basic')} style={{ marginBottom: 16 }}>
          <Form.Item
            name="levels"
            label={t('program.levels')}
            extra={<span data-testid="levels-note">{t('program.levelsNote')}</span>}
            rules={[{ required: true }]}
          >
            <InputNumber min={0} max={99} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="profile" label={t('program.profile')} extra={<span data-testid="profile-note">{t('program.profileNote')}</span>}>
            <Radio.Group
              data-testid="profile"
              options={[
                { value: 'standard', label: t('program.profile.standard') },
                { value: 'wechat_safe', label: t('program.profile.wechat_safe') },
              ]}
            />
          </Form.Item>
          <Form.Item name="self_purchase" label={t('program.selfPurchase')} valuePropName="checked">
            <Switch />
          </Form.Item>
          <Form.Item name="freeze_days" label={money(t('program.freezeDays'))} rules={[{ required: true }]}>
            <InputNumber min={0} max={3650} precision={0} style={{ width: 120 }} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name="review_threshold_fen" label={money(t('program.reviewThreshold'))} rules={[{ required: true }]}>
            <HundredthsInput suffix={yuan} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name="admission" label={t('program.admission')}>
            <Radio.Group
              options={[
                { value: 'open', label: t('program.admission.open') },
                { value: 'review', label: t('program.admission.review') },
              ]}
            />
          </Form.Item>
          <Form.Item
            name="landing_url"
            label={t('program.landingUrl')}
            extra={t('program.landingUrlHint')}
            rules={[{ pattern: /^https?:\/\//, message: 'http(s)://…' }]}
          >
            <Input type="url" placeholder="https://" />
          </Form.Item>
        </Card>
        <Card title={money(t('program.section.withdrawal'))} style={{ marginBottom: 16 }}>
          <Form.Item name={['withdrawal', 'min_fen']} label={t('program.withdrawal.min')}>
            <HundredthsInput suffix={yuan} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['withdrawal', 'fee_bp']} label={t('program.withdrawal.feeBp')}>
            <HundredthsInput suffix={pct} max={10000} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['withdrawal', 'fixed_fee_fen']} label={t('program.withdrawal.fixedFee')}>
            <HundredthsInput suffix={yuan} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['withdrawal', 'auto_approve_max_fen']} label={t('program.withdrawal.autoApproveMax')}>
            <HundredthsInput suffix={yuan} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['withdrawal', 'daily_count_limit']} label={t('program.withdrawal.dailyCount')}>
            <InputNumber min={0} max={1000} precision={0} style={{ width: 120 }} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['withdrawal', 'daily_amount_limit_fen']} label={t('program.withdrawal.dailyAmount')}>
            <HundredthsInput suffix={yuan} disabled={!moneyEditable} />
          </Form.Item>
        </Card>
        <Card title={t('program.section.rates')} style={{ marginBottom: 16 }}>
          <Typography.Paragraph type="secondary">{t('program.rates.hint')}</Typography.Paragraph>
          <Form.Item name={['default_rates', 'sales_bp']} label={t('program.rates.sales')}>
            <HundredthsInput suffix={pct} max={10000} />
          </Form.Item>
          {[0, 1, 2].map((i) => (
            <Form.Item key={i} name={['default_rates', 'override_bp', i]} label={t('program.rates.override', { level: i + 1 })}>
              <HundredthsInput suffix={pct} max={10000} />
            </Form.Item>
          ))}
          <Typography.Paragraph type="secondary">{t('program.rates.fixedHint')}</Typography.Paragraph>
          <Form.Item name={['default_rates', 'fixed_per']} label={t('grades.fixedPer')} initialValue="unit">
            <Select
              style={{ width: 200 }}
              data-testid="program-fixed-per"
              options={(['unit', 'order'] as const).map((m) => ({ value: m, label: t(`grades.fixedPer.${m}`) }))}
            />
          </Form.Item>
          <Form.Item name={['default_rates', 'sales_fixed_fen']} label={t('program.rates.fixedSales')}>
            <HundredthsInput suffix={yuan} aria-label={t('program.rates.fixedSales')} />
          </Form.Item>
          {[0, 1, 2].map((i) => (
            <Form.Item key={i} name={['default_rates', 'override_fixed_fen', i]} label={t('program.rates.fixedOverride', { level: i + 1 })}>
              <HundredthsInput suffix={yuan} aria-label={t('program.rates.fixedOverride', { level: i + 1 })} />
            </Form.Item>
          ))}
          <Form.Item name={['caps', 'per_order_fen']} label={t('program.caps.perOrder')} extra={t('program.caps.zero')}>
            <HundredthsInput suffix={yuan} />
          </Form.Item>
          <Form.Item name={['caps', 'per_day_fen']} label={t('program.caps.perDay')} extra={t('program.caps.zero')}>
            <HundredthsInput suffix={yuan} />
          </Form.Item>
        </Card>
        <Card title={money(t('program.section.settlement'))} style={{ marginBottom: 16 }}>
          <Form.Item name={['settlement', 'cycle']} label={t('program.settlement.cycle')} extra={t('program.settlement.cycleHint')}>
            <Select
              style={{ width: 220 }}
              disabled={!moneyEditable}
              options={(['manual', 'daily', 'weekly', 'monthly', 'threshold'] as const).map((v) => ({ value: v, label: t(`program.settlement.cycle.${v}`) }))}
            />
          </Form.Item>
          <Form.Item name={['settlement', 'weekday']} label={t('program.settlement.weekday')}>
            <InputNumber min={1} max={7} precision={0} style={{ width: 120 }} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['settlement', 'day_of_month']} label={t('program.settlement.dayOfMonth')}>
            <InputNumber min={1} max={28} precision={0} style={{ width: 120 }} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['settlement', 'hour']} label={t('program.settlement.hour')}>
            <InputNumber min={0} max={23} precision={0} style={{ width: 120 }} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name={['settlement', 'threshold_fen']} label={t('program.settlement.threshold')}>
            <HundredthsInput suffix={yuan} disabled={!moneyEditable} />
          </Form.Item>
          <Form.Item name="auto_receive_days" label={t('program.autoReceiveDays')}>
            <InputNumber min={1} max={365} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name="tier_true_up" label={t('program.tierTrueUp')} valuePropName="checked" extra={t('program.tierTrueUp.help')}>
            <Switch data-testid="tier-true-up" />
          </Form.Item>
          <Form.Item name="timezone" label={t('program.timezone')} rules={[{ pattern: /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, message: 'Asia/Shanghai' }]}>
            <Input style={{ width: 220 }} />
          </Form.Item>
        </Card>
        <Card title={t('program.section.binding')} style={{ marginBottom: 16 }}>
          <Form.Item name={['binding', 'mode']} label={t('program.binding.mode')}>
            <Select
              data-testid="binding-mode"
              style={{ width: 220 }}
              popupMatchSelectWidth={480}
              options={(['permanent', 'rebindable', 'override'] as const).map((v) => ({
                value: v,
                label: t(`program.binding.mode.${v}`),
                title: t(`program.binding.mode.${v}`),
                help: t(`program.binding.help.${v}`),
              }))}
              // Each mode explained where it is chosen, not only once chosen (the alert below).
              optionRender={(o) => (
                <div data-testid={`binding-mode-option-${String(o.value)}`} style={{ whiteSpace: 'normal', padding: '2px 0' }}>
                  <div>{o.label}</div>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {String(o.data.help)}
                  </Typography.Text>
                </div>
              )}
            />
          </Form.Item>
          <Form.Item noStyle shouldUpdate={(a, b) => a.binding?.mode !== b.binding?.mode}>
            {({ getFieldValue }) => {
              const mode = (getFieldValue(['binding', 'mode']) ?? 'permanent') as 'permanent' | 'rebindable' | 'override';
              return <Alert data-testid="binding-mode-help" type="info" showIcon style={{ marginBottom: 16 }} title={t(`program.binding.help.${mode}`)} />;
            }}
          </Form.Item>
          <Form.Item name={['binding', 'rebind_after_days']} label={t('program.binding.rebindAfter')}>
            <InputNumber min={1} max={3650} precision={0} style={{ width: 120 }} />
          </Form.Item>
          <Form.Item name={['binding', 'protection_days']} label={t('program.binding.protection')} extra={t('program.binding.protection.help')}>
            <InputNumber
              aria-label={t('program.binding.protection')}
              min={0}
              max={3650}
              precision={0}
              style={{ width: 120 }}
              addonAfter={t('program.binding.days')}
            />
          </Form.Item>
          <Form.Item name={['binding', 'validity_days']} label={t('program.binding.validity')} extra={t('program.binding.validity.help')}>
            <InputNumber
              aria-label={t('program.binding.validity')}
              min={0}
              max={3650}
              precision={0}
              style={{ width: 120 }}
              addonAfter={t('program.binding.days')}
            />
          </Form.Item>
          <Form.Item name={['binding', 'validity_from']} label={t('program.binding.validityFrom')}>
            <Radio.Group
              options={(['bound', 'last_order'] as const).map((v) => ({ value: v, label: t(`program.binding.validityFrom.${v}`) }))}
              optionType="button"
            />
          </Form.Item>
          <Form.Item name={['binding', 'bind_on']} label={t('program.binding.bindOn')}>
            <Select
              style={{ width: 220 }}
              options={(['registration', 'first_order'] as const).map((v) => ({ value: v, label: t(`program.binding.bindOn.${v}`) }))}
            />
          </Form.Item>
        </Card>
        <Card title={t('program.section.admission')} style={{ marginBottom: 16 }}>
          <Form.Item name={['admission_conditions', 'deposit_fen']} label={t('program.admission.deposit')}>
            <HundredthsInput suffix={yuan} />
          </Form.Item>
          <Form.Item name={['admission_conditions', 'training_required']} label={t('program.admission.training')} valuePropName="checked">
            <Switch />
          </Form.Item>
          <Form.Item name={['admission_conditions', 'min_purchases_fen']} label={t('program.admission.minPurchases')}>
            <HundredthsInput suffix={yuan} />
          </Form.Item>
        </Card>
        <Card title={t('program.section.review')} style={{ marginBottom: 16 }} data-testid="application-review">
          <Typography.Paragraph type="secondary">{t('program.review.note')}</Typography.Paragraph>
          <Form.Item name={['application_review', 'enabled']} label={t('program.review.enabled')} valuePropName="checked">
            <Switch data-testid="review-enabled" />
          </Form.Item>
          {(['phone_verified', 'uscc_for_companies', 'id_number', 'no_shared_identity'] as const).map((check) => (
            <Form.Item key={check} name={['application_review', check]} valuePropName="checked" style={{ marginBottom: 8 }}>
              <Checkbox data-testid={`review-${check}`}>{t(`program.review.${check}`)}</Checkbox>
            </Form.Item>
          ))}
          <Form.Item name={['application_review', 'on_failure']} label={t('program.review.onFailure')}>
            <Radio.Group
              options={(['refer', 'reject'] as const).map((v) => ({
                value: v,
                label: <span data-testid={`review-on-failure-${v}`}>{t(`program.review.onFailure.${v}`)}</span>,
              }))}
            />
          </Form.Item>
        </Card>
        <Card title={t('program.section.antiCheat')} style={{ marginBottom: 16 }}>
          {(['registration', 'binding'] as const).map((scope) => (
            <Form.Item key={scope} label={t(`program.antiCheat.${scope}`)} style={{ marginBottom: 8 }}>
              <Space direction="vertical">
                <Form.Item name={['anti_cheat', scope, 'per_ip']} noStyle>
                  <WindowField label={t('program.antiCheat.perIp')} disabled={!writable} />
                </Form.Item>
                <Form.Item name={['anti_cheat', scope, 'per_device']} noStyle>
                  <WindowField label={t('program.antiCheat.perDevice')} disabled={!writable} />
                </Form.Item>
              </Space>
            </Form.Item>
          ))}
        </Card>
        {moneyEditable && (
          <Button type="primary" htmlType="submit" loading={saving} disabled={false}>
            {t('common.save')}
          </Button>
        )}
      </Form>
      <LandingDomains />
    </Space>
  );
}
