import { useEffect, useState } from 'react';
import { Link, Navigate } from 'react-router-dom';
import { Button, Form, Input, NavBar, NoticeBar } from 'antd-mobile';
import type { PortalSession } from '../../../shared/types.ts';
import { LangSwitch } from '../components/LangSwitch.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { rememberTenant, takeExpired, tenantIdOf, useSession } from '../session.tsx';
import { autoTried, inWechat, startWechatAuth } from '../wechat.ts';
import { ApiError } from '../../../shared/api.ts';

export const PHONE = /^\+?[0-9][0-9 -]{3,18}[0-9]$/;

export function LoginPage() {
  const { t } = useI18n();
  const { session, api, signIn } = useSession();
  const [tenant] = useState(() => rememberTenant(new URLSearchParams(window.location.search).get('tenant')));
  const [expired] = useState(takeExpired);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [notLinked] = useState(() => new URLSearchParams(window.location.search).get('wx') === 'not_linked');
  /** Whether the merchant set WeChat sign-in up (asked on arrival). */
  const [wechat, setWechat] = useState(false);
  const [wxBusy, setWxBusy] = useState(false);

  useEffect(() => {
    document.title = `${t('login.title')} · ${t('app.title')}`;
  }, [t]);

  /** The merchant's tenant id (the link may name it by its short name), once WeChat is known to be offered. */
  const [wechatTenant, setWechatTenant] = useState<string | null>(null);

  async function wechatLogin(tenantId: string, auto: boolean) {
    setWxBusy(true);
    try {
      await startWechatAuth(api, 'login', tenantId, { scope: 'snsapi_base', auto });
    } catch (err) {
      setWxBusy(false);
      if (err instanceof ApiError && err.status === 409) setWechat(false);
      else if (!auto) setError(t('wx.failed', { message: messageOf(err) }));
    }
  }

  // Opened in WeChat: straight to WeChat's silent authorisation, once per tab (not after it said "not linked").
  useEffect(() => {
    if (session || !tenant) return;
    void (async () => {
      try {
        const tenantId = await tenantIdOf(api, tenant);
        const r = await api.get<{ enabled: boolean }>('/v1/portal/wechat', { tenant_id: tenantId });
        setWechatTenant(tenantId);
        setWechat(r.enabled);
        if (r.enabled && inWechat() && !notLinked && !expired && !autoTried()) void wechatLogin(tenantId, true);
      } catch {
        setWechat(false);
      }
    })();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, on arrival
  }, []);

  if (session) return <Navigate to="/" replace />;

  async function submit(v: { tenant_id?: string; phone: string; password: string }) {
    setBusy(true);
    setError(null);
    try {
      const tenantId = await tenantIdOf(api, tenant ?? v.tenant_id ?? '');
      signIn(await api.post<PortalSession>('/v1/portal/login', { tenant_id: tenantId, phone: v.phone.trim(), password: v.password }));
    } catch (err) {
      setError(t('login.failed', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div>
      <header>
        <NavBar backIcon={false} right={<LangSwitch />}>
          <h1 style={{ fontSize: 17, margin: 0 }}>{t('login.title')}</h1>
        </NavBar>
      </header>
      <main>
        {expired && <NoticeBar color="alert" content={t('login.expired')} />}
        {error && <NoticeBar color="error" content={error} data-testid="login-error" />}
        {notLinked && <NoticeBar color="alert" wrap content={t('wx.notLinked')} data-testid="wx-not-linked" />}
        <Form
          layout="vertical"
          onFinish={(v) => void submit(v as { tenant_id?: string; phone: string; password: string })}
          mode="card"
          footer={
            <Button block type="submit" color="primary" size="large" loading={busy}>
              {t('login.submit')}
            </Button>
          }
        >
          <Form.Header>{t('login.byPassword')}</Form.Header>
          {!tenant && (
            <Form.Item name="tenant_id" label={t('login.tenant')} rules={[{ required: true, message: t('form.required', { field: t('login.tenant') }) }]}>
              <Input autoComplete="off" />
            </Form.Item>
          )}
          <Form.Item
            name="phone"
            label={t('login.phone')}
            rules={[
              { required: true, message: t('form.required', { field: t('login.phone') }) },
              { pattern: PHONE, message: t('form.phoneInvalid') },
            ]}
          >
            <Input type="tel" inputMode="tel" autoComplete="tel" />
          </Form.Item>
          <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('form.required', { field: t('login.password') }) }]}>
            <Input type="password" autoComplete="current-password" />
          </Form.Item>
        </Form>
        {wechatTenant && wechat && (
          <div style={{ padding: '0 12px' }}>
            <Button
              block
              size="large"
              loading={wxBusy}
              onClick={() => void wechatLogin(wechatTenant, false)}
              data-testid="wx-login"
              style={{ color: '#07c160', borderColor: '#07c160' }}
            >
              {t('wx.login')}
            </Button>
          </div>
        )}
        <p style={{ textAlign: 'center', color: '#666' }}>
          {t('login.noAccount')} <Link to={`/apply${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`}>{t('login.apply')}</Link>
        </p>
      </main>
    </div>
  );
}
