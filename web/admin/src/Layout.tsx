import { Suspense, useEffect } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router-dom';
import { Button, Layout, Menu, Space, Spin, Typography } from 'antd';
import { LogoutOutlined } from '@ant-design/icons';
import { LangSwitch } from './components/LangSwitch.tsx';
import { useI18n } from './i18n.ts';
import { NAV } from './nav.tsx';
import { useAuthed } from './session.tsx';

export function ConsoleLayout() {
  const { t } = useI18n();
  const { session, can, api, signOut } = useAuthed();
  const navigate = useNavigate();
  const location = useLocation();
  const entries = NAV.filter((e) => e.anyOf.some((p) => can(p)));
  const selected = entries.find((e) => location.pathname === e.path || location.pathname.startsWith(e.path + '/'))?.path;

  useEffect(() => {
    document.title = t('app.title');
  }, [t]);

  async function logout() {
    try {
      await api.post('/v1/auth/logout');
    } catch {
      /* the session ends here either way */
    }
    signOut('logged_out');
  }

  return (
    <Layout style={{ minHeight: '100vh' }}>
      {/* The menu keeps its width and stays in view however wide or long the page is (issue 16, item 17). */}
      <Layout.Sider
        breakpoint="lg"
        collapsedWidth={0}
        theme="light"
        width={220}
        style={{ position: 'sticky', top: 0, height: '100vh', overflowY: 'auto', flexShrink: 0 }}
      >
        <div style={{ padding: '20px 24px', fontWeight: 600, fontSize: 18 }}>{t('app.brand')}</div>
        <nav aria-label={t('app.title')}>
          <Menu
            mode="inline"
            selectedKeys={selected ? [selected] : []}
            onClick={({ key }) => navigate(key)}
            items={entries.map((e) => ({ key: e.path, icon: e.icon, label: t(e.label) }))}
          />
        </nav>
      </Layout.Sider>
      <Layout style={{ minWidth: 0 }}>
        <Layout.Header style={{ background: '#fff', paddingInline: 24, display: 'flex', justifyContent: 'flex-end', alignItems: 'center' }}>
          <Space size="middle">
            <Typography.Text data-testid="signed-in-as">
              {t('layout.signedInAs', { name: session.user.name || session.user.email, role: t(`role.${session.user.role}`) })}
            </Typography.Text>
            <LangSwitch />
            <Button icon={<LogoutOutlined />} onClick={() => void logout()}>
              {t('layout.logout')}
            </Button>
          </Space>
        </Layout.Header>
        {/* antd renders Layout.Content as the page's <main>. */}
        <Layout.Content style={{ margin: 24 }}>
          <Suspense
            fallback={
              <div style={{ padding: 48, textAlign: 'center' }}>
                <Spin />
              </div>
            }
          >
            <Outlet />
          </Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
