import { useEffect, useState } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import { Button, Checkbox, Form, Input, NavBar, NoticeBar, Toast } from 'antd-mobile';
import type { ApplyStarted, PortalSession } from '../../../shared/types.ts';
import { LangSwitch } from '../components/LangSwitch.tsx';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { rememberTenant, tenantIdOf, useSession } from '../session.tsx';
import { PHONE } from './Login.tsx';

const MIN_PASSWORD = 8;

const maskPhone = (phone: string) => {
  const digits = phone.replace(/[\s-]/g, '');
  return digits.length > 7 ? `${digits.slice(0, 3)}****${digits.slice(-4)}` : digits;
};

interface ApplyForm {
  tenant_id?: string;
  name: string;
  phone: string;
  password: string;
  wechat?: string;
  referrer_code?: string;
  consent?: boolean;
}

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
  /** After the form: the application waiting for the code texted to its phone. */
  const [pending, setPending] = useState<{ tenantId: string; phone: string; started: ApplyStarted } | null>(null);

  useEffect(() => {
    document.title = `${t(pending ? 'apply.codeTitle' : 'apply.title')} · ${t('app.title')}`;
  }, [t, pending]);
  if (session) return <Navigate to="/" replace />;

  // Step one: the form. The server texts a code to the phone and answers the same for any phone.
  async function submit(v: ApplyForm) {
    setBusy(true);
    setError(null);
    try {
      const referrer = (inviteCode ?? v.referrer_code ?? '').trim();
      const tenantId = await tenantIdOf(api, tenant ?? v.tenant_id ?? '');
      const started = await api.post<ApplyStarted>('/v1/portal/apply', {
        tenant_id: tenantId,
        name: v.name.trim(),
        phone: v.phone.trim(),
        password: v.password,
        ...(referrer ? { referrer_code: referrer } : {}),
        ...(v.wechat?.trim() ? { profile: { wechat: v.wechat.trim() } } : {}),
        consent: true,
      });
      setPending({ tenantId, phone: v.phone.trim(), started });
    } catch (err) {
      setError(t('apply.failed', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  // Step two: the code. The distributor is made and signed in.
  async function verify(v: { code: string }) {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      const s = await api.post<PortalSession & { status: string }>('/v1/portal/apply/verify', {
        tenant_id: pending.tenantId,
        verification_id: pending.started.verification_id,
        code: v.code.trim(),
      });
      signIn(s);
      Toast.show({ icon: 'success', content: t('apply.done') });
      void navigate('/', { replace: true });
    } catch (err) {
      setError(t('apply.failed', { message: messageOf(err) }));
    } finally {
      setBusy(false);
    }
  }

  if (pending) {
    return (
      <div>
        <header>
          <NavBar backIcon={false} right={<LangSwitch />}>
            <h1 style={{ fontSize: 17, margin: 0 }}>{t('apply.codeTitle')}</h1>
          </NavBar>
        </header>
        <main>
          <NoticeBar color="info" content={t('apply.codeSent', { phone: maskPhone(pending.phone) })} data-testid="code-sent" wrap />
          {error && <NoticeBar color="error" content={error} data-testid="apply-error" wrap />}
          <Form
            layout="vertical"
            mode="card"
            onFinish={(v) => void verify(v as { code: string })}
            footer={
              <Button block type="submit" color="primary" size="large" loading={busy}>
                {t('apply.verify')}
              </Button>
            }
          >
            <Form.Item name="code" label={t('apply.code')} rules={[{ required: true, pattern: /^\s*[0-9]{6}\s*$/, message: t('apply.codeInvalid') }]}>
              <Input inputMode="numeric" autoComplete="one-time-code" maxLength={6} data-testid="apply-code" />
            </Form.Item>
          </Form>
          <p style={{ textAlign: 'center' }}>
            <Button
              fill="none"
              color="primary"
              onClick={() => {
                setPending(null);
                setError(null);
              }}
            >
              {t('apply.resend')}
            </Button>
          </p>
        </main>
      </div>
    );
  }

  return (
    <div>
      <header>
        <NavBar backIcon={false} right={<LangSwitch />}>
          <h1 style={{ fontSize: 17, margin: 0 }}>{t('apply.title')}</h1>
        </NavBar>
      </header>
      <main>
        {inviteCode && <NoticeBar color="info" content={t('apply.invitedBy', { code: inviteCode })} data-testid="invited-by" />}
        {error && <NoticeBar color="error" content={error} data-testid="apply-error" wrap />}
        <Form
          layout="vertical"
          mode="card"
          onFinish={(v) => void submit(v as ApplyForm)}
          footer={
            <Button block type="submit" color="primary" size="large" loading={busy}>
              {t('apply.submit')}
            </Button>
          }
        >
          {!tenant && (
            <Form.Item name="tenant_id" label={t('login.tenant')} rules={[{ required: true, message: t('form.required', { field: t('login.tenant') }) }]}>
              <Input />
            </Form.Item>
          )}
          <Form.Item
            name="name"
            label={t('apply.name')}
            rules={[{ required: true, whitespace: true, message: t('form.required', { field: t('apply.name') }) }]}
          >
            <Input maxLength={128} autoComplete="name" />
          </Form.Item>
          <Form.Item
            name="phone"
            label={t('apply.phone')}
            rules={[
              { required: true, message: t('form.required', { field: t('apply.phone') }) },
              { pattern: PHONE, message: t('form.phoneInvalid') },
            ]}
          >
            <Input type="tel" inputMode="tel" autoComplete="tel" />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('apply.password')}
            rules={[
              { required: true, message: t('form.required', { field: t('apply.password') }) },
              { min: MIN_PASSWORD, message: t('form.passwordMin', { min: MIN_PASSWORD }) },
            ]}
          >
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
          <Form.Item
            name="consent"
            valuePropName="checked"
            rules={[{ validator: (_r, v) => (v ? Promise.resolve() : Promise.reject(new Error(t('apply.consentRequired')))) }]}
          >
            <Checkbox data-testid="consent">{t('apply.consent')}</Checkbox>
          </Form.Item>
        </Form>
        <p style={{ textAlign: 'center' }}>
          <Link to="/login">{t('apply.haveAccount')}</Link>
        </p>
      </main>
    </div>
  );
}
