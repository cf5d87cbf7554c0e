import { lazy, Suspense, useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation, useNavigate } from 'react-router-dom';
import { Button, ConfigProvider, DotLoading, ErrorBlock, NavBar, SafeArea, Space, TabBar } from 'antd-mobile';
import { BankcardOutline, PayCircleOutline, TeamOutline, UserOutline } from 'antd-mobile-icons';
import zhCN from 'antd-mobile/es/locales/zh-CN';
import enUS from 'antd-mobile/es/locales/en-US';
import type { Me, PortalSession } from '../../shared/types.ts';
import { LangSwitch } from './components/LangSwitch.tsx';
import { messageOf } from './errors.ts';
import { I18nProvider, useI18n, useWording, WordingProvider } from './i18n.ts';
import type { MessageKey } from './messages.ts';

/*
 * Each page is a chunk of its own, loaded when first shown (issue 16 item 14): a distributor
 * opening an invite or sign-in link on a phone downloads React, the router, the shell and the one
 * page it lands on, not every page and the antd-mobile components only they use.
 * test/e2e/web-first-load.test.ts bounds what the first load of /portal/ and /portal/login fetches.
 */
const ApplyPage = lazy(() => import('./pages/Apply.tsx').then((m) => ({ default: m.ApplyPage })));
const HomePage = lazy(() => import('./pages/Home.tsx').then((m) => ({ default: m.HomePage })));
const LoginPage = lazy(() => import('./pages/Login.tsx').then((m) => ({ default: m.LoginPage })));
const TeamPage = lazy(() => import('./pages/Team.tsx').then((m) => ({ default: m.TeamPage })));
const AgentPage = lazy(() => import('./pages/Agent.tsx').then((m) => ({ default: m.AgentPage })));
const EarningsPage = lazy(() => import('./pages/Earnings.tsx').then((m) => ({ default: m.EarningsPage })));
const CommissionPage = lazy(() => import('./pages/Commission.tsx').then((m) => ({ default: m.CommissionPage })));
const StatementPage = lazy(() => import('./pages/Commission.tsx').then((m) => ({ default: m.StatementPage })));
const WithdrawPage = lazy(() => import('./pages/Withdraw.tsx').then((m) => ({ default: m.WithdrawPage })));
const WithdrawalHistoryPage = lazy(() => import('./pages/Withdraw.tsx').then((m) => ({ default: m.WithdrawalHistoryPage })));
const WithdrawalPage = lazy(() => import('./pages/Withdraw.tsx').then((m) => ({ default: m.WithdrawalPage })));
const InsightsPage = lazy(() => import('./pages/Insights.tsx').then((m) => ({ default: m.InsightsPage })));
const PrivacyPage = lazy(() => import('./pages/Privacy.tsx').then((m) => ({ default: m.PrivacyPage })));
const WechatCallbackPage = lazy(() => import('./pages/WechatCallback.tsx').then((m) => ({ default: m.WechatCallbackPage })));

function Loading() {
  return (
    <div style={{ padding: 48, textAlign: 'center' }} role="status">
      <DotLoading />
    </div>
  );
}
import { rememberTenant, SessionProvider, tenantIdOf, useSession } from './session.tsx';

const TABS = ['/earnings', '/withdraw', '/team'] as const;

/** The signed-in frame: a title bar (with a way back on inner pages) and the tab bar. */
function Shell({ title, back, children }: { title: string; back?: string; children: ReactNode }) {
  const { t } = useI18n();
  const { api, signOut } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const { setSafe } = useWording();
  useEffect(() => {
    document.title = `${title} · ${t('app.title')}`;
  }, [title, t]);
  // The program's profile decides the wording (WeChat-safe: no team, levels or uplines).
  useEffect(() => {
    api.get<Me>('/v1/me').then(
      (me) => setSafe(me.program_profile === 'wechat_safe'),
      () => undefined,
    );
  }, [api, setSafe]);
  async function logout() {
    try {
      await api.post('/v1/auth/logout');
    } catch {
      /* signed out here either way */
    }
    signOut();
    void navigate('/login', { replace: true });
  }
  return (
    <div style={{ minHeight: '100vh', display: 'flex', flexDirection: 'column' }}>
      <header>
        <NavBar
          backIcon={!!back}
          onBack={back ? () => navigate(back) : undefined}
          back={back ? t('common.back') : null}
          left={back ? undefined : <LangSwitch />}
          right={
            <button type="button" onClick={() => void logout()} style={{ border: 0, background: 'none', color: 'var(--adm-color-primary)', fontSize: 14 }}>
              {t('common.logout')}
            </button>
          }
        >
          <h1 style={{ fontSize: 17, margin: 0 }}>{title}</h1>
        </NavBar>
      </header>
      <main style={{ flex: 1, paddingBottom: 64 }}>
        <Suspense fallback={<Loading />}>{children}</Suspense>
      </main>
      <nav aria-label={t('app.title')} style={{ position: 'fixed', bottom: 0, left: 0, right: 0, background: '#fff', borderTop: '1px solid #eee' }}>
        <TabBar activeKey={TABS.find((p) => location.pathname.startsWith(p)) ?? '/'} onChange={(key) => navigate(key)}>
          <TabBar.Item key="/" icon={<UserOutline />} title={t('nav.home')} />
          <TabBar.Item key="/earnings" icon={<PayCircleOutline />} title={t('nav.earnings')} />
          <TabBar.Item key="/withdraw" icon={<BankcardOutline />} title={t('nav.withdraw')} />
          <TabBar.Item key="/team" icon={<TeamOutline />} title={t('nav.team')} />
        </TabBar>
        <SafeArea position="bottom" />
      </nav>
    </div>
  );
}

/** The `sub` a login token names, read without checking it: only to tell whether it is the session's own. */
function tokenSubject(token: string): string | null {
  try {
    const part = token.split('.')[1] ?? '';
    const bytes = Uint8Array.from(window.atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown };
    return typeof json.sub === 'string' ? json.sub : null;
  } catch {
    return null;
  }
}

/**
 * The portal's front door: `?token=…&tenant=…` (from the merchant's backend) signs in; when
 * another distributor is signed in on this device, it asks before replacing that session (a link
 * someone else sent must not silently swap accounts); `?invite_code=…` (from an invite link) goes
 * to the application page; otherwise home or login.
 */
function Entry() {
  const { t } = useI18n();
  const { session, api, signIn, signOut } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const params = new URLSearchParams(location.search);
  const [token, setToken] = useState(() => params.get('token'));
  const tenant = rememberTenant(params.get('tenant'));
  const [tokenError, setTokenError] = useState<string | null>(null);
  /** The signed-in distributor a link would replace, while the question is open. */
  const [asking, setAsking] = useState<Me | null>(null);
  const started = useRef(false);

  const redeem = useCallback(
    async (link: string, replacing: boolean) => {
      if (!tenant) {
        setTokenError(t('login.noTenant'));
        return;
      }
      if (replacing) {
        try {
          await api.post('/v1/auth/logout');
        } catch {
          /* signed out here either way */
        }
        signOut();
      }
      try {
        const s = await api.post<PortalSession>('/v1/portal/token-login', { tenant_id: await tenantIdOf(api, tenant), token: link });
        signIn(s);
        setToken(null);
        void navigate('/', { replace: true });
      } catch (err) {
        setTokenError(messageOf(err));
      }
    },
    [tenant, api, signIn, signOut, navigate, t],
  );

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    // The token is single-use: take it out of the address bar and history at once.
    window.history.replaceState(null, '', `${window.location.pathname}${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`);
    if (!session) {
      void redeem(token, false);
      return;
    }
    // Someone is signed in here already: the same distributor keeps its session; another one is asked about.
    api.get<Me>('/v1/me').then(
      (me) => {
        if (session.tenant_id === tenant && me.external_id === tokenSubject(token)) {
          setToken(null);
          void navigate('/', { replace: true });
        } else {
          setAsking(me);
        }
      },
      () => {
        void redeem(token, false);
      },
    );
  }, [token, tenant, session, api, redeem, navigate]);

  if (asking && token) {
    return (
      <div style={{ padding: 24 }} data-testid="link-switch">
        <h1 style={{ fontSize: 20 }}>{t('link.title')}</h1>
        <p data-testid="link-current">{t('link.signedInAs', { name: asking.name })}</p>
        <p>{t('link.question')}</p>
        <Space direction="vertical" block>
          <Button
            block
            color="primary"
            size="large"
            data-testid="link-switch-confirm"
            onClick={() => {
              setAsking(null);
              void redeem(token, true);
            }}
          >
            {t('link.switch')}
          </Button>
          <Button
            block
            size="large"
            data-testid="link-switch-stay"
            onClick={() => {
              setAsking(null);
              setToken(null);
              void navigate('/', { replace: true });
            }}
          >
            {t('link.stay')}
          </Button>
        </Space>
      </div>
    );
  }
  if (token || tokenError) {
    return tokenError ? (
      <ErrorBlock status="default" title={t('login.tokenFailed', { message: tokenError })} description={<a href="/portal/login">{t('login.title')}</a>} />
    ) : (
      <div style={{ padding: 48, textAlign: 'center' }} role="status">
        {t('login.tokenWorking')}
        <DotLoading />
      </div>
    );
  }
  if (session)
    return (
      <Shell title={t('nav.home')}>
        <HomePage />
      </Shell>
    );
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

function Page({ title, back, children }: { title: MessageKey; back?: string; children: ReactNode }) {
  const { t } = useI18n();
  return (
    <RequireSession>
      <Shell title={t(title)} {...(back ? { back } : {})}>
        {children}
      </Shell>
    </RequireSession>
  );
}

export function App() {
  return (
    <I18nProvider>
      <WordingProvider>
        <Localized>
          <SessionProvider>
            <BrowserRouter basename="/portal">
              <Suspense fallback={<Loading />}>
                <Routes>
                  <Route path="/" element={<Entry />} />
                  <Route path="/login" element={<LoginPage />} />
                  <Route path="/apply" element={<ApplyPage />} />
                  <Route path="/wechat/callback" element={<WechatCallbackPage />} />
                  <Route
                    path="/agent"
                    element={
                      <Page title="agent.title" back="/">
                        <AgentPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/team"
                    element={
                      <Page title="team.title">
                        <TeamPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/earnings"
                    element={
                      <Page title="earnings.title">
                        <EarningsPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/earnings/commissions/:id"
                    element={
                      <Page title="explain.title" back="/earnings">
                        <CommissionPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/earnings/statements/:id"
                    element={
                      <Page title="statement.title" back="/earnings">
                        <StatementPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/withdraw"
                    element={
                      <Page title="withdraw.title">
                        <WithdrawPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/withdraw/history"
                    element={
                      <Page title="withdraw.historyTitle" back="/withdraw">
                        <WithdrawalHistoryPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/withdraw/:id"
                    element={
                      <Page title="withdraw.detailTitle" back="/withdraw/history">
                        <WithdrawalPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/insights"
                    element={
                      <Page title="insights.title" back="/">
                        <InsightsPage />
                      </Page>
                    }
                  />
                  <Route
                    path="/privacy"
                    element={
                      <Page title="privacy.title" back="/">
                        <PrivacyPage />
                      </Page>
                    }
                  />
                  <Route path="*" element={<Navigate to="/" replace />} />
                </Routes>
              </Suspense>
            </BrowserRouter>
          </SessionProvider>
        </Localized>
      </WordingProvider>
    </I18nProvider>
  );
}
