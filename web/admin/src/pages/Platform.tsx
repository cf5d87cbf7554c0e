import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, App, Button, Card, Form, Input, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { createApiClient } from '../../../shared/api.ts';
import { formatTime } from '../../../shared/format.ts';
import type { Page, PlatformTenant } from '../../../shared/types.ts';
import { LangSwitch } from '../components/LangSwitch.tsx';
import { messageOf } from '../components/errors.ts';
import { ReasonDialog } from '../components/money.tsx';
import { useI18n } from '../i18n.ts';

/** The root token lives in sessionStorage, gone with the tab, apart from any merchant's session. */
const TOKEN_KEY = 'fenxiao.platform.token';

function readToken(): string | null {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/**
 * The platform operator's page (FENXIAO_ROOT_TOKEN): every tenant with its status, a new tenant
 * (its first API key shown once), suspension with a reason and reactivation. Outside the
 * merchant console's session: the root token is no merchant's.
 */
export default function PlatformPage() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const [token, setToken] = useState<string | null>(readToken);
  const [tenants, setTenants] = useState<PlatformTenant[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; id: string; api_key: string } | null>(null);
  const [suspending, setSuspending] = useState<PlatformTenant | null>(null);
  const [createForm] = Form.useForm<{ name: string }>();

  const leave = useCallback(() => {
    window.sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setTenants(null);
    setCreated(null);
  }, []);

  const api = useMemo(() => createApiClient({ token: () => token, onUnauthorized: leave }), [token, leave]);

  const load = useCallback(() => {
    if (!token) return;
    api.get<Page<PlatformTenant>>('/v1/tenants').then(
      (p) => {
        setTenants(p.items);
        setError(null);
      },
      (err: unknown) => setError(t('common.error', { message: messageOf(err) })),
    );
  }, [api, token, t]);

  useEffect(() => {
    document.title = `${t('platform.title')} · ${t('app.brand')}`;
  }, [t]);
  useEffect(load, [load]);

  function enter(values: { token: string }) {
    const v = values.token.trim();
    window.sessionStorage.setItem(TOKEN_KEY, v);
    setToken(v);
  }

  async function create(values: { name: string }) {
    try {
      const r = await api.post<{ id: string; name: string; api_key: string }>('/v1/tenants', { name: values.name.trim() });
      setCreated(r);
      createForm.resetFields();
      void message.success(t('platform.created', { name: r.name }));
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  async function reactivate(id: string) {
    try {
      await api.post(`/v1/tenants/${encodeURIComponent(id)}/reactivate`);
      void message.success(t('platform.reactivated'));
      load();
    } catch (err) {
      void message.error(t('common.error', { message: messageOf(err) }));
    }
  }

  return (
    <main style={{ minHeight: '100vh', background: '#f5f5f5', padding: 24 }}>
      <Space direction="vertical" size="large" style={{ width: '100%', maxWidth: 1100, margin: '0 auto', display: 'flex' }}>
        <Space style={{ justifyContent: 'space-between', width: '100%' }}>
          <Typography.Title level={1} style={{ fontSize: 24, margin: 0 }}>
            {t('platform.title')}
          </Typography.Title>
          <Space>
            <LangSwitch />
            {token && <Button onClick={leave}>{t('platform.leave')}</Button>}
          </Space>
        </Space>
        <Typography.Paragraph type="secondary" style={{ margin: 0 }}>
          {t('platform.intro')}
        </Typography.Paragraph>
        {!token && (
          <Card style={{ maxWidth: 480 }}>
            <Form layout="vertical" name="platform-token" onFinish={enter} requiredMark={false}>
              <Form.Item
                name="token"
                label={t('platform.token')}
                rules={[{ required: true, whitespace: true, message: t('login.required', { field: t('platform.token') }) }]}
              >
                <Input.Password autoComplete="off" />
              </Form.Item>
              <Button type="primary" htmlType="submit">
                {t('platform.enter')}
              </Button>
            </Form>
          </Card>
        )}
        {error && <Alert type="error" showIcon title={error} />}
        {token && (
          <>
            <Card title={t('platform.create')} size="small">
              <Form form={createForm} layout="inline" name="platform-create" onFinish={(v) => void create(v)}>
                <Form.Item
                  name="name"
                  label={t('platform.name')}
                  rules={[{ required: true, whitespace: true, message: t('login.required', { field: t('platform.name') }) }]}
                >
                  <Input maxLength={128} style={{ width: 280 }} />
                </Form.Item>
                <Button type="primary" htmlType="submit">
                  {t('common.create')}
                </Button>
              </Form>
              {created && (
                <Alert
                  style={{ marginTop: 16 }}
                  type="success"
                  showIcon
                  data-testid="platform-created"
                  title={`${t('platform.created', { name: created.name })} · ${created.id}`}
                  description={
                    <Space direction="vertical">
                      <span>{t('platform.apiKey')}</span>
                      <Typography.Text code copyable data-testid="platform-api-key">
                        {created.api_key}
                      </Typography.Text>
                    </Space>
                  }
                />
              )}
            </Card>
            <Table<PlatformTenant>
              rowKey="id"
              loading={tenants === null && !error}
              dataSource={tenants ?? []}
              pagination={false}
              data-testid="platform-tenants"
              locale={{ emptyText: t('platform.empty') }}
              scroll={{ x: 'max-content' }}
              columns={[
                { title: t('platform.name'), dataIndex: 'name' },
                {
                  title: t('platform.id'),
                  dataIndex: 'id',
                  render: (v: string) => (
                    <Typography.Text code copyable>
                      {v}
                    </Typography.Text>
                  ),
                },
                {
                  title: t('platform.status'),
                  dataIndex: 'status',
                  render: (v: string) => (
                    <Tag color={v === 'active' ? 'green' : 'red'}>{v === 'active' || v === 'suspended' ? t(`platform.status.${v}`) : v}</Tag>
                  ),
                },
                { title: t('common.createdAt'), dataIndex: 'created_at', render: (v: string) => formatTime(v, lang) },
                {
                  title: t('common.actions'),
                  key: 'actions',
                  render: (_: unknown, r) =>
                    r.status === 'active' ? (
                      <Button size="small" danger onClick={() => setSuspending(r)}>
                        {t('platform.suspend')}
                      </Button>
                    ) : (
                      <Popconfirm
                        title={t('platform.reactivate')}
                        onConfirm={() => void reactivate(r.id)}
                        okText={t('common.confirm')}
                        cancelText={t('common.cancel')}
                      >
                        <Button size="small">{t('platform.reactivate')}</Button>
                      </Popconfirm>
                    ),
                },
              ]}
            />
          </>
        )}
      </Space>
      <ReasonDialog
        open={suspending !== null}
        title={`${t('platform.suspendTitle')}${suspending ? ` — ${suspending.name}` : ''}`}
        fields={[{ name: 'reason', label: t('common.reason') }]}
        danger
        okText={t('platform.suspend')}
        onClose={() => setSuspending(null)}
        onSubmit={async (v) => {
          if (!suspending) return;
          await api.post(`/v1/tenants/${encodeURIComponent(suspending.id)}/suspend`, { reason: v.reason });
          void message.success(t('platform.suspended'));
          load();
        }}
      />
    </main>
  );
}
