import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Form, InputNumber, Radio, Space, Spin, Switch, Typography } from 'antd';
import type { ProgramSettings } from '../../../shared/types.ts';
import { HundredthsInput } from '../components/HundredthsInput.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

type Risk = ProgramSettings['risk'];
const EFFECTS = ['flag', 'hold', 'block'] as const;

/**
 * The program's risk rules (program.risk): each rule's threshold and what it does when it fires.
 * Saved through PUT /v1/program with only the `risk` part, so nothing else of the program moves.
 */
export default function RiskRulesPage() {
  const { t } = useI18n();
  const { api, can } = useAuthed();
  const { message } = App.useApp();
  const [form] = Form.useForm<Risk>();
  const [loaded, setLoaded] = useState<Risk | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const writable = can('program:write');

  useEffect(() => {
    api.get<ProgramSettings>('/v1/program').then(
      (p) => setLoaded(p.risk),
      (err: unknown) => setError(messageOf(err)),
    );
  }, [api]);

  async function save(values: Risk) {
    setSaving(true);
    try {
      const saved = await api.put<ProgramSettings>('/v1/program', { risk: values });
      form.setFieldsValue(saved.risk);
      setLoaded(saved.risk);
      void message.success(t('common.saved'));
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    } finally {
      setSaving(false);
    }
  }

  if (error) return <Alert type="error" showIcon title={t('common.error', { message: error })} />;
  if (!loaded) return <Spin />;

  const effect = (name: (string | number)[], label: string) => (
    <Form.Item name={name} label={`${label} · ${t('riskRules.effect')}`}>
      <Radio.Group disabled={!writable} options={EFFECTS.map((e) => ({ value: e, label: t(`risk.severity.${e}`) }))} />
    </Form.Item>
  );
  const integer = (name: (string | number)[], label: string, min: number, max: number) => (
    <Form.Item name={name} label={label} rules={[{ required: true }]}>
      <InputNumber disabled={!writable} min={min} max={max} precision={0} style={{ width: 220 }} />
    </Form.Item>
  );
  const limitCard = (key: 'order_ip' | 'order_device', title: string) => (
    <Card title={title} size="small">
      <Space wrap size="large" align="start">
        {integer([key, 'limit'], t('riskRules.limit'), 0, 1_000_000)}
        {integer([key, 'window_seconds'], t('riskRules.window'), 1, 30 * 86400)}
      </Space>
      {effect([key, 'effect'], title)}
    </Card>
  );

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
        {t('riskRules.title')}
      </Typography.Title>
      <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
        {t('riskRules.intro')}
      </Typography.Paragraph>
      {!writable && <Alert type="info" showIcon title={t('common.readOnly')} />}
      <Form<Risk> form={form} name="risk-rules" layout="vertical" initialValues={loaded} onFinish={(v) => void save(v)}>
        <Space direction="vertical" size="middle" style={{ width: '100%' }}>
          {limitCard('order_ip', t('riskRules.orderIp'))}
          {limitCard('order_device', t('riskRules.orderDevice'))}
          <Card title={t('riskRules.surge')} size="small">
            <Space wrap size="large" align="start">
              {integer(['surge', 'multiplier'], t('riskRules.surgeMultiplier'), 0, 1000)}
              <Form.Item name={['surge', 'min_fen']} label={t('riskRules.surgeMin')}>
                <HundredthsInput suffix={t('common.yuan')} disabled={!writable} />
              </Form.Item>
            </Space>
            {effect(['surge', 'effect'], t('riskRules.surge'))}
          </Card>
          <Card title={t('riskRules.refundRate')} size="small">
            <Space wrap size="large" align="start">
              <Form.Item name={['refund_rate', 'threshold_bp']} label={t('riskRules.refundThreshold')}>
                <HundredthsInput suffix={t('common.percent')} max={10000} disabled={!writable} />
              </Form.Item>
              {integer(['refund_rate', 'min_orders'], t('riskRules.refundMinOrders'), 1, 100_000)}
              {integer(['refund_rate', 'window_days'], t('riskRules.refundWindowDays'), 1, 365)}
            </Space>
            {effect(['refund_rate', 'effect'], t('riskRules.refundRate'))}
          </Card>
          <Card title={t('riskRules.selfPurchaseLoop')} size="small">
            <Form.Item name={['self_purchase_loop', 'enabled']} label={t('riskRules.enabled')} valuePropName="checked">
              <Switch disabled={!writable} />
            </Form.Item>
            {effect(['self_purchase_loop', 'effect'], t('riskRules.selfPurchaseLoop'))}
          </Card>
          <Card title={t('riskRules.sharedIdentity')} size="small">
            <Form.Item name={['shared_identity', 'enabled']} label={t('riskRules.enabled')} valuePropName="checked">
              <Switch disabled={!writable} />
            </Form.Item>
            {effect(['shared_identity', 'effect'], t('riskRules.sharedIdentity'))}
          </Card>
          <Card title={t('riskRules.capsHit')} size="small">
            <Form.Item name={['caps_hit', 'enabled']} label={t('riskRules.enabled')} valuePropName="checked">
              <Switch disabled={!writable} />
            </Form.Item>
          </Card>
          {writable && (
            <Button type="primary" htmlType="submit" loading={saving}>
              {t('common.save')}
            </Button>
          )}
        </Space>
      </Form>
    </Space>
  );
}
