import { useCallback, useEffect, useState } from 'react';
import { Alert, App, Button, Checkbox, Drawer, Form, Input, Modal, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { formatTime } from '../../../shared/format.ts';
import { WEBHOOK_EVENT_TYPES } from '../../../../src/modules/webhooks/events.ts';
import { messageOf } from '../components/errors.ts';
import { SecretOnce } from '../components/SecretOnce.tsx';
import { InboundSecrets } from '../components/InboundSecrets.tsx';
import { useI18n } from '../i18n.ts';
import { useAuthed } from '../session.tsx';

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  secret_hint: string;
  created_at: string;
}
interface Attempt {
  id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  http_status: number | null;
  error: string | null;
  delivery_status: 'pending' | 'delivered' | 'dead';
  created_at: string;
}

/** Outbound webhook endpoints: create, enable/disable, rotate the secret, test send, deliveries with replay (issue 12). */
export default function WebhooksPage() {
  const { t, lang } = useI18n();
  const { api, can } = useAuthed();
  const { message, modal } = App.useApp();
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<Endpoint | null>(null);
  const [attempts, setAttempts] = useState<Attempt[] | null>(null);
  const [form] = Form.useForm<{ url: string; events: string[] }>();
  const writer = can('keys:write');
  const fail = useCallback((err: unknown) => void message.error(t('common.error', { message: messageOf(err) })), [message, t]);

  const load = useCallback(() => {
    api.get<{ items: Endpoint[] }>('/v1/webhook-endpoints').then((r) => setEndpoints(r.items), fail);
  }, [api, fail]);
  useEffect(load, [load]);

  const loadAttempts = useCallback(
    (ep: Endpoint) => {
      api.get<{ items: Attempt[] }>(`/v1/webhook-endpoints/${encodeURIComponent(ep.id)}/deliveries?limit=100`).then((r) => setAttempts(r.items), fail);
    },
    [api, fail],
  );

  async function create() {
    let v: { url: string; events: string[] };
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setBusy(true);
    try {
      const ep = await api.post<Endpoint & { secret: string }>('/v1/webhook-endpoints', { url: v.url.trim(), events: v.events });
      setCreating(false);
      setSecret(ep.secret);
      load();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  }

  async function post(path: string, body?: unknown) {
    try {
      return await api.post<Record<string, unknown>>(path, body);
    } catch (err) {
      fail(err);
      return null;
    }
  }

  function rotate(ep: Endpoint) {
    modal.confirm({
      title: t('webhooks.rotate'),
      content: t('webhooks.rotateConfirm'),
      okText: t('common.confirm'),
      cancelText: t('common.cancel'),
      onOk: async () => {
        const r = await post(`/v1/webhook-endpoints/${encodeURIComponent(ep.id)}/rotate-secret`, {});
        if (r && typeof r.secret === 'string') setSecret(r.secret);
        load();
      },
    });
  }

  async function toggle(ep: Endpoint) {
    try {
      await api.patch(`/v1/webhook-endpoints/${encodeURIComponent(ep.id)}`, { enabled: !ep.enabled });
    } catch (err) {
      fail(err);
    }
    load();
  }

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <Space style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
          {t('webhooks.title')}
        </Typography.Title>
        {writer && (
          <Button
            type="primary"
            icon={<PlusOutlined />}
            data-testid="webhook-create"
            onClick={() => {
              form.resetFields();
              form.setFieldsValue({ events: ['order.credited'] });
              setCreating(true);
            }}
          >
            {t('webhooks.create')}
          </Button>
        )}
      </Space>
      <Alert type="info" showIcon title={t('webhooks.help')} />
      {(endpoints ?? [])
        .filter((e) => !e.enabled && e.disabled_reason && e.disabled_reason !== 'disabled by a person')
        .map((e) => (
          <Alert
            key={e.id}
            type="error"
            showIcon
            data-testid="webhook-disabled-notice"
            title={`${e.url} — ${t('webhooks.disabledBecause', { reason: e.disabled_reason ?? '' })}`}
          />
        ))}
      <Table<Endpoint>
        rowKey="id"
        loading={endpoints === null}
        dataSource={endpoints ?? []}
        pagination={false}
        data-testid="webhooks-table"
        columns={[
          { title: t('webhooks.url'), dataIndex: 'url', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          { title: t('webhooks.events'), dataIndex: 'events', render: (v: string[]) => v.map((x) => <Tag key={x}>{x}</Tag>) },
          {
            title: t('webhooks.status'),
            key: 'status',
            render: (_v, e) => (
              <Space direction="vertical" size={0}>
                {e.enabled ? <Tag color="success">{t('webhooks.enabled')}</Tag> : <Tag>{t('webhooks.disabled')}</Tag>}
                {e.failing_since && <Typography.Text type="danger">{t('webhooks.failingSince', { time: formatTime(e.failing_since, lang) })}</Typography.Text>}
              </Space>
            ),
          },
          { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
          {
            title: t('common.actions'),
            key: 'actions',
            render: (_v, e) => (
              <Space wrap>
                <Button
                  size="small"
                  onClick={() => {
                    setOpen(e);
                    setAttempts(null);
                    loadAttempts(e);
                  }}
                >
                  {t('webhooks.deliveries')}
                </Button>
                {writer && (
                  <>
                    <Button
                      size="small"
                      onClick={() =>
                        void post(`/v1/webhook-endpoints/${encodeURIComponent(e.id)}/test`).then((r) => {
                          if (r) void message.success(t('webhooks.testSent'));
                        })
                      }
                    >
                      {t('webhooks.test')}
                    </Button>
                    <Button size="small" onClick={() => rotate(e)}>
                      {t('webhooks.rotate')}
                    </Button>
                    <Button size="small" onClick={() => void toggle(e)}>
                      {e.enabled ? t('webhooks.disable') : t('webhooks.enable')}
                    </Button>
                  </>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={creating}
        title={t('webhooks.create')}
        onOk={() => void create()}
        onCancel={() => setCreating(false)}
        confirmLoading={busy}
        okText={t('common.create')}
        cancelText={t('common.cancel')}
        destroyOnHidden
        forceRender
      >
        <Form form={form} layout="vertical">
          <Form.Item name="url" label={t('webhooks.url')} rules={[{ required: true, whitespace: true, type: 'url', max: 2048 }]}>
            <Input autoComplete="off" placeholder="https://shop.example.com/fenxiao/webhooks" />
          </Form.Item>
          <Form.Item name="events" label={t('webhooks.events')} rules={[{ required: true, type: 'array', min: 1 }]}>
            <Checkbox.Group options={WEBHOOK_EVENT_TYPES.map((x) => ({ value: x, label: x }))} />
          </Form.Item>
        </Form>
      </Modal>
      <InboundSecrets writer={writer} />
      <SecretOnce secret={secret} title={t('webhooks.secretShown')} testId="webhook-secret" onClose={() => setSecret(null)} />
      <Drawer open={open !== null} onClose={() => setOpen(null)} title={`${t('webhooks.deliveries')} · ${open?.url ?? ''}`} size="large">
        <Space direction="vertical" style={{ width: '100%' }}>
          <Button size="small" onClick={() => open && loadAttempts(open)}>
            ↻
          </Button>
          <Table<Attempt>
            rowKey="id"
            size="small"
            loading={attempts === null}
            dataSource={attempts ?? []}
            pagination={false}
            locale={{ emptyText: t('webhooks.none') }}
            data-testid="webhook-attempts"
            columns={[
              { title: t('webhooks.attempt.type'), dataIndex: 'event_type' },
              { title: t('webhooks.attempt.event'), dataIndex: 'event_id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
              { title: t('webhooks.attempt.no'), dataIndex: 'attempt' },
              {
                title: t('webhooks.attempt.result'),
                dataIndex: 'status',
                render: (v: Attempt['status'], a) => (
                  <Tag color={v === 'succeeded' ? 'success' : 'error'} title={a.error ?? undefined}>
                    {t(`webhooks.attempt.${v}`)}
                  </Tag>
                ),
              },
              { title: t('webhooks.attempt.http'), dataIndex: 'http_status', render: (v: number | null) => v ?? '—' },
              { title: t('webhooks.attempt.delivery'), dataIndex: 'delivery_status', render: (v: Attempt['delivery_status']) => t(`webhooks.delivery.${v}`) },
              { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
              ...(writer
                ? [
                    {
                      title: t('common.actions'),
                      key: 'replay',
                      render: (_v: unknown, a: Attempt) => (
                        <Button
                          size="small"
                          onClick={() =>
                            open &&
                            void post(`/v1/webhook-endpoints/${encodeURIComponent(open.id)}/events/${encodeURIComponent(a.event_id)}/replay`).then((r) => {
                              if (r) void message.success(t('webhooks.replayed'));
                            })
                          }
                        >
                          {t('webhooks.replay')}
                        </Button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        </Space>
      </Drawer>
    </Space>
  );
}
