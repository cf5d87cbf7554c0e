import { useEffect, useRef, useState, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { ConfigProvider, DotLoading, ErrorBlock, NavBar, SafeArea, TabBar } from 'antd-mobile';
import { TeamOutline, UserOutline } from 'antd-mobile-icons';
import zhCN from 'antd-mobile/es/locales/zh-CN';
import enUS from 'antd-mobile/es/locales/en-US';
import type { PortalSession } from '../../shared/types.ts';
import { LangSwitch } from './components/LangSwitch.tsx';
import { messageOf } from './errors.ts';
import { I18nProvider, useI18n } from './i18n.ts';
import { rememberTenant, SessionProvider, useSession } from './session.tsx';
import { ApplyPage } from './pages/Apply.tsx';
import { HomePage } from './pages/Home.tsx';
import { LoginPage } from './pages/Login.tsx';
import { TeamPage } from './pages/Team.tsx';

/** The signed-in frame: a title bar and the tab bar. Earnings and withdrawals join the tabs when they work. */
function Shell({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useI18n();
  const { api, signOut } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => { document.title = `${title} · ${t('app.title')}`; }, [title, t]);
  async function logout() {
    try { await api.post('/v1/auth/logout'); } catch { /* signed out here either way */ }
    signOut();
    navigate('/login', { replace: true });
  }
  return (
    <div style={{ minHeight: '100vh', display: 'flex', flexDirection: 'column' }}>
      <header>
        <NavBar backIcon={false} left={<LangSwitch />} right={<button type="button" onClick={() => void logout()} style={{ border: 0, background: 'none', color: 'var(--adm-color-primary)', fontSize: 14 }}>{t('common.logout')}</button>}>
          <h1 style={{ fontSize: 17, margin: 0 }}>{title}</h1>
        </NavBar>
      </header>
      <main style={{ flex: 1, paddingBottom: 64 }}>{children}</main>
      <nav aria-label={t('app.title')} style={{ position: 'fixed', bottom: 0, left: 0, right: 0, background: '#fff', borderTop: '1px solid #eee' }}>
        <TabBar activeKey={location.pathname.startsWith('/team') ? '/team' : '/'} onChange={(key) => navigate(key)}>
          <TabBar.Item key="/" icon={<UserOutline />} title={t('nav.home')} />
          <TabBar.Item key="/team" icon={<TeamOutline />} title={t('nav.team')} />
        </TabBar>
        <SafeArea position="bottom" />
      </nav>
    </div>
  );
}

/**
 * The portal's front door: `?token=…&tenant=…` (from the merchant's backend) signs in at once;
 * `?invite_code=…` (from an invite link) goes to the application page; otherwise home or login.
 */
function Entry() {
  const { t } = useI18n();
  const { session, api, signIn } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  const tenant = rememberTenant(params.get('tenant'));
  const [tokenError, setTokenError] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    // The token is single-use: take it out of the address bar and history at once.
    window.history.replaceState(null, '', `${window.location.pathname}${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`);
    if (!tenant) { setTokenError(t('login.noTenant')); return; }
    api.post<PortalSession>('/v1/portal/token-login', { tenant_id: tenant, token })
      .then((s) => { signIn(s); navigate('/', { replace: true }); }, (err: unknown) => setTokenError(messageOf(err)));
  }, [token, tenant, api, signIn, navigate, t]);

  if (token || tokenError) {
    return tokenError
      ? <ErrorBlock status="default" title={t('login.tokenFailed', { message: tokenError })} description={<a href="/portal/login">{t('login.title')}</a>} />
      : <div style={{ padding: 48, textAlign: 'center' }} role="status">{t('login.tokenWorking')}<DotLoading /></div>;
  }
  if (session) return <Shell title={t('nav.home')}><HomePage /></Shell>;
  if (params.get('invite_code')) return <Navigate to={`/apply${location.search}`} replace />;
  return <Navigate to="/login" replace />;
}

function RequireSession({ children }: { children: ReactNode }) {
  const { session } = useSession();
  if (!session) return <Navigate to="/login" replace />;
  return <>{children}</>;
}

function Localized({ children }: { children: ReactNode }) {
  const { lang } = useI18n();
  return <ConfigProvider locale={lang === 'en' ? enUS : zhCN}>{children}</ConfigProvider>;
}

function TeamRoute() {
  const { t } = useI18n();
  return <RequireSession><Shell title={t('team.title')}><TeamPage /></Shell></RequireSession>;
}

export function App() {
  return (
    <I18nProvider>
      <Localized>
        <SessionProvider>
          <BrowserRouter basename="/portal">
            <Routes>
              <Route path="/" element={<Entry />} />
              <Route path="/login" element={<LoginPage />} />
              <Route path="/apply" element={<ApplyPage />} />
              <Route path="/team" element={<TeamRoute />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Routes>
          </BrowserRouter>
        </SessionProvider>
      </Localized>
    </I18nProvider>
  );
}
