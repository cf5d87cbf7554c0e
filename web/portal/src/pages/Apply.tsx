import { useEffect, useState } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import { Button, Checkbox, Form, Input, NavBar, NoticeBar, Toast } from 'antd-mobile';
import type { PortalSession } from '../../../shared/types.ts';
import { LangSwitch } from '../components/LangSwitch.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { rememberTenant, useSession } from '../session.tsx';
import { PHONE } from './Login.tsx';

const MIN_PASSWORD = 8;

interface ApplyForm { tenant_id?: string; name: string; phone: string; password: string; wechat?: string; referrer_code?: string; consent?: boolean }

/** The application page an invite link lands on: /portal/apply?invite_code=…&tenant=… */
export function ApplyPage() {
  const { t } = useI18n();
  const { session, api, signIn } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const params = new URLSearchParams(location.search);
  const inviteCode = params.get('invite_code');
  const [tenant] = useState(() => rememberTenant(params.get('tenant')));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => { document.title = `${t('apply.title')} · ${t('app.title')}`; }, [t]);
  if (session) return <Navigate to="/" replace />;

  async function submit(v: ApplyForm) {
    setBusy(true);
    setError(null);
    try {
      const referrer = (inviteCode ?? v.referrer_code ?? '').trim();
      const s = await api.post<PortalSession & { status: string }>('/v1/portal/apply', {
        tenant_id: (tenant ?? v.tenant_id ?? '').trim(),
        name: v.name.trim(),
        phone: v.phone.trim(),
        password: v.password,
        ...(referrer ? { referrer_code: referrer } : {}),
        ...(v.wechat?.trim() ? { profile: { wechat: v.wechat.trim() } } : {}),
        consent: true,
      });
      signIn(s);
      Toast.show({ icon: 'success', content: t('apply.done') });
      navigate('/', { replace: true });
    } catch (err) {
      setError(t('apply.failed', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div>
      <header><NavBar backIcon={false} right={<LangSwitch />}><h1 style={{ fontSize: 17, margin: 0 }}>{t('apply.title')}</h1></NavBar></header>
      <main>
        {inviteCode && <NoticeBar color="info" content={t('apply.invitedBy', { code: inviteCode })} data-testid="invited-by" />}
        {error && <NoticeBar color="error" content={error} data-testid="apply-error" wrap />}
        <Form layout="vertical" mode="card" onFinish={(v) => void submit(v as ApplyForm)}
          footer={<Button block type="submit" color="primary" size="large" loading={busy}>{t('apply.submit')}</Button>}>
          {!tenant && (
            <Form.Item name="tenant_id" label={t('login.tenant')} rules={[{ required: true, message: t('form.required', { field: t('login.tenant') }) }]}>
              <Input />
            </Form.Item>
          )}
          <Form.Item name="name" label={t('apply.name')} rules={[{ required: true, whitespace: true, message: t('form.required', { field: t('apply.name') }) }]}>
            <Input maxLength={128} autoComplete="name" />
          </Form.Item>
          <Form.Item name="phone" label={t('apply.phone')} rules={[{ required: true, message: t('form.required', { field: t('apply.phone') }) }, { pattern: PHONE, message: t('form.phoneInvalid') }]}>
            <Input type="tel" inputMode="tel" autoComplete="tel" />
          </Form.Item>
          <Form.Item name="password" label={t('apply.password')} rules={[{ required: true, message: t('form.required', { field: t('apply.password') }) }, { min: MIN_PASSWORD, message: t('form.passwordMin', { min: MIN_PASSWORD }) }]}>
            <Input type="password" autoComplete="new-password" />
          </Form.Item>
          <Form.Item name="wechat" label={t('apply.wechat')}>
            <Input maxLength={64} />
          </Form.Item>
          {!inviteCode && (
            <Form.Item name="referrer_code" label={t('apply.referrer')}>
              <Input maxLength={32} />
            </Form.Item>
          )}
          <Form.Item name="consent" valuePropName="checked" rules={[{ validator: (_r, v) => (v ? Promise.resolve() : Promise.reject(new Error(t('apply.consentRequired')))) }]}>
            <Checkbox data-testid="consent">{t('apply.consent')}</Checkbox>
          </Form.Item>
        </Form>
        <p style={{ textAlign: 'center' }}><Link to="/login">{t('apply.haveAccount')}</Link></p>
      </main>
    </div>
  );
}
