import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { DotLoading, ErrorBlock, Toast } from 'antd-mobile';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { takePending, type LinkResult, type LoginResult } from '../wechat.ts';

/** A path inside the portal only (never another site). */
function safeReturn(path: string | null | undefined): string {
  return path && /^\/[A-Za-z0-9/_-]*$/.test(path) ? path : '/';
}

/**
 * Where WeChat sends the browser back: /portal/wechat/callback?code=…&state=…. The state must be
 * the one this tab started (the server checks it again, with its cookie); the code goes to the
 * server at once, and both leave the address bar.
 */
export function WechatCallbackPage() {
  const { t } = useI18n();
  const { api, session, signIn } = useSession();
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const params = new URLSearchParams(window.location.search);
    const code = params.get('code');
    const state = params.get('state');
    window.history.replaceState(null, '', window.location.pathname);
    const pending = takePending();
    if (!code) {
      setError(t('wx.denied'));
      return;
    }
    if (!pending || !state || pending.state !== state) {
      setError(t('wx.stateMismatch'));
      return;
    }
    void (async () => {
      try {
        if (pending.purpose === 'link' && session) {
          const r = await api.post<LinkResult>('/v1/me/wechat/link', { code, state });
          Toast.show({ icon: 'success', content: t('wx.linked') });
          void navigate(safeReturn(r.return_to), { replace: true });
          return;
        }
        const r = await api.post<LoginResult>('/v1/portal/wechat/login', { tenant_id: pending.tenant_id, code, state });
        if (r.result === 'signed_in') {
          signIn(r.session);
          void navigate(safeReturn(r.return_to), { replace: true });
        } else {
          void navigate(`/login?tenant=${encodeURIComponent(pending.tenant_id)}&wx=not_linked`, { replace: true });
        }
      } catch (err) {
        setError(t('wx.failed', { message: messageOf(err) }));
      }
    })();
  }, [api, session, signIn, navigate, t]);

  if (error)
    return (
      <ErrorBlock
        status="default"
        title={error}
        description={<Link to={session ? '/' : '/login'}>{session ? t('nav.home') : t('login.title')}</Link>}
        data-testid="wx-callback-error"
      />
    );
  return (
    <div style={{ padding: 48, textAlign: 'center' }} role="status">
      {t('wx.working')}
      <DotLoading />
    </div>
  );
}
