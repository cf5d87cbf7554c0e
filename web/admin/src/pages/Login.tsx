import { useEffect, useState } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import type { LoginResponse } from '../../../shared/types.ts';
import { LangSwitch } from '../components/LangSwitch.tsx';
import { messageOf } from '../components/errors.ts';
import { useI18n } from '../i18n.ts';
import { takeFlash, useSession, type Flash } from '../session.tsx';

const TENANT_KEY = 'fenxiao.admin.tenant';

export function LoginPage() {
  const { t } = useI18n();
  const { session, api, signIn } = useSession();
  const location = useLocation();
  const [flash] = useState<Flash | null>(takeFlash);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The merchant from the address (/admin/login?merchant=acme, as `fenxiao tenant create` and
  // `fenxiao demo` print it), else the one this browser last signed in to; shown in the address.
  const [merchant] = useState(() => {
    const fromUrl = new URLSearchParams(window.location.search).get('merchant')?.trim();
    const known = fromUrl && /^[A-Za-z0-9_-]{1,64}$/.test(fromUrl) ? fromUrl : window.localStorage.getItem(TENANT_KEY);
    return known || null;
  });
  useEffect(() => {
    document.title = `${t('login.title')} · ${t('app.brand')}`;
  }, [t]);
  useEffect(() => {
    if (!merchant || session) return;
    const url = new URL(window.location.href);
    if (url.searchParams.get('merchant') === merchant) return;
    url.searchParams.set('merchant', merchant);
    window.history.replaceState(window.history.state, '', url.toString());
  }, [merchant, session]);

  if (session) {
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from && from !== '/login' ? from : '/'} replace />;
  }

  async function submit(values: { tenant?: string; email: string; password: string }) {
    setBusy(true);
    setError(null);
    try {
      const tenant = values.tenant?.trim();
      const res = await api.post<LoginResponse>('/v1/auth/login', {
        ...(tenant ? { tenant } : {}),
        email: values.email.trim(),
        password: values.password,
      });
      window.localStorage.setItem(TENANT_KEY, res.tenant_slug ?? res.tenant_id);
      signIn(res);
    } catch (err) {
      setError(t('login.failed', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: '#f5f5f5', padding: 16 }}>
      <Card
        style={{ width: '100%', maxWidth: 420 }}
        extra={<LangSwitch />}
        title={
          <Typography.Title level={1} style={{ fontSize: 20, margin: 0 }}>
            {t('login.title')}
          </Typography.Title>
        }
      >
        {flash === 'expired' && <Alert type="warning" showIcon title={t('login.expired')} style={{ marginBottom: 16 }} data-testid="login-expired" />}
        {flash === 'logged_out' && <Alert type="info" showIcon title={t('login.loggedOut')} style={{ marginBottom: 16 }} />}
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} data-testid="login-error" />}
        <Form layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ tenant: merchant ?? '' }} requiredMark={false}>
          <Form.Item name="tenant" label={t('login.tenant')} extra={t('login.tenantHint')}>
            <Input autoComplete="organization" />
          </Form.Item>
          <Form.Item
            name="email"
            label={t('login.email')}
            rules={[{ required: true, whitespace: true, message: t('login.required', { field: t('login.email') }) }]}
          >
            <Input type="email" autoComplete="username" />
          </Form.Item>
          <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('login.required', { field: t('login.password') }) }]}>
            <Input.Password autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t('login.submit')}
          </Button>
        </Form>
      </Card>
    </main>
  );
}
