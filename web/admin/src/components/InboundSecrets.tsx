import { useCallback, useEffect, useState } from 'react';
import { App, Button, Card, Form, Input, Modal, Space, Table, Typography } from 'antd';
import { formatTime } from '../../../shared/format.ts';
import { messageOf } from './errors.ts';
import { SecretOnce } from './SecretOnce.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

type Source = 'generic' | 'shopify' | 'woocommerce' | 'logistics';
interface Row {
  source: Source;
  configured: boolean;
  secret_hint: string | null;
  created_at: string | null;
  previous_valid_until: string | null;
  urls: string[];
}
interface OrderFormat {
  format: 'generic' | 'shopify' | 'woocommerce';
  configured: boolean;
  secret_hint: string | null;
  created_at: string | null;
  previous_valid_until: string | null;
  endpoint: string;
}
interface LogisticsSettings {
  configured: boolean;
  secret_hint: string | null;
  created_at: string | null;
  previous_valid_until: string | null;
  endpoints: { generic: string; kuaidi100: string };
}

/**
 * The secrets Fenxiao verifies what others send it with: order webhooks per format (generic,
 * Shopify, WooCommerce) and carriers' tracking pushes. Each shows its URL and whether its secret is
 * set (masked); creating or rotating one shows the new secret once, the old one verifying for 24 hours.
 */
export function InboundSecrets({ writer }: { writer: boolean }) {
  const { t, lang } = useI18n();
  const { api } = useAuthed();
  const { message } = App.useApp();
  const [rows, setRows] = useState<Row[] | null>(null);
  const [rotating, setRotating] = useState<Row | null>(null);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [form] = Form.useForm<{ secret?: string }>();
  const fail = useCallback((err: unknown) => void message.error(t('common.error', { message: messageOf(err) })), [message, t]);

  const load = useCallback(() => {
    Promise.all([api.get<{ formats: OrderFormat[] }>('/v1/webhooks/settings'), api.get<LogisticsSettings>('/v1/logistics/settings')]).then(
      ([orders, logistics]) => {
        setRows([
          ...orders.formats.map((f) => ({ ...f, source: f.format, urls: [f.endpoint] })),
          { ...logistics, source: 'logistics' as const, urls: [logistics.endpoints.generic, logistics.endpoints.kuaidi100] },
        ]);
      },
      fail,
    );
  }, [api, fail]);
  useEffect(load, [load]);

  async function rotate() {
    if (!rotating) return;
    let v: { secret?: string };
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setBusy(true);
    try {
      const own = v.secret?.trim();
      const r =
        rotating.source === 'logistics'
          ? await api.post<{ secret: string }>('/v1/logistics/secret')
          : await api.post<{ secret: string }>('/v1/webhooks/secret', { format: rotating.source, ...(own ? { secret: own } : {}) });
      setRotating(null);
      setSecret(r.secret);
      load();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('inbound.title')}>
      <Typography.Paragraph>{t('inbound.help')}</Typography.Paragraph>
      <Table<Row>
        rowKey="source"
        size="small"
        loading={rows === null}
        dataSource={rows ?? []}
        pagination={false}
        data-testid="inbound-secrets"
        columns={[
          { title: t('inbound.source'), dataIndex: 'source', render: (s: Source) => t(`inbound.source.${s}`) },
          {
            title: t('inbound.url'),
            dataIndex: 'urls',
            render: (urls: string[]) => (
              <Space direction="vertical" size={0}>
                {urls.map((u) => (
                  <Typography.Text key={u} code copyable>
                    {u}
                  </Typography.Text>
                ))}
              </Space>
            ),
          },
          {
            title: t('inbound.secret'),
            key: 'secret',
            render: (_v, r) =>
              r.configured ? (
                <Space direction="vertical" size={0}>
                  <Typography.Text code data-testid={`inbound-hint-${r.source}`}>
                    {r.secret_hint}
                  </Typography.Text>
                  {r.created_at && <Typography.Text type="secondary">{formatTime(r.created_at, lang)}</Typography.Text>}
                  {r.previous_valid_until && (
                    <Typography.Text type="secondary">{t('inbound.previousUntil', { time: formatTime(r.previous_valid_until, lang) })}</Typography.Text>
                  )}
                </Space>
              ) : (
                <Typography.Text type="secondary" data-testid={`inbound-hint-${r.source}`}>
                  {t('inbound.notSet')}
                </Typography.Text>
              ),
          },
          ...(writer
            ? [
                {
                  title: t('common.actions'),
                  key: 'actions',
                  render: (_v: unknown, r: Row) => (
                    <Button
                      size="small"
                      data-testid={`inbound-rotate-${r.source}`}
                      onClick={() => {
                        form.resetFields();
                        setRotating(r);
                      }}
                    >
                      {r.configured ? t('inbound.rotate') : t('inbound.create')}
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Modal
        open={rotating !== null}
        title={rotating ? `${rotating.configured ? t('inbound.rotate') : t('inbound.create')} · ${t(`inbound.source.${rotating.source}`)}` : ''}
        onOk={() => void rotate()}
        onCancel={() => setRotating(null)}
        confirmLoading={busy}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
      >
        {rotating?.configured && <Typography.Paragraph>{t('inbound.rotateConfirm')}</Typography.Paragraph>}
        <Form form={form} layout="vertical">
          {rotating && rotating.source !== 'logistics' && (
            <Form.Item
              name="secret"
              label={t('inbound.ownSecret')}
              extra={t('inbound.ownSecretHelp')}
              rules={[{ min: 16, max: 256 }, { pattern: /^[\x21-\x7e]*$/ }]}
            >
              <Input.Password autoComplete="off" />
            </Form.Item>
          )}
        </Form>
      </Modal>
      <SecretOnce secret={secret} title={t('inbound.secretShown')} testId="inbound-secret" onClose={() => setSecret(null)} />
    </Card>
  );
}
