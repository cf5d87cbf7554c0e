import { lazy, Suspense, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { App as AntApp, ConfigProvider, Spin } from 'antd';
import zhCN from 'antd/locale/zh_CN';
import enUS from 'antd/locale/en_US';
import { I18nProvider, useI18n } from './i18n.ts';
import { SessionProvider, useSession } from './session.tsx';
import { ConsoleLayout } from './Layout.tsx';
import { LoginPage } from './pages/Login.tsx';
import { NotFound } from './pages/NotFound.tsx';

const ProgramPage = lazy(() => import('./pages/Program.tsx'));
const GradesPage = lazy(() => import('./pages/Grades.tsx'));
const DistributorsPage = lazy(() => import('./pages/Distributors.tsx'));
const DistributorDetailPage = lazy(() => import('./pages/DistributorDetail.tsx'));
const ApplicationsPage = lazy(() => import('./pages/Applications.tsx'));
const AuditLogPage = lazy(() => import('./pages/AuditLog.tsx'));
const AdminUsersPage = lazy(() => import('./pages/AdminUsers.tsx'));
const RiskEventsPage = lazy(() => import('./pages/RiskEvents.tsx'));
const PortalSettingsPage = lazy(() => import('./pages/PortalSettings.tsx'));
const ApiKeysPage = lazy(() => import('./pages/ApiKeys.tsx'));
const OrdersPage = lazy(() => import('./pages/Orders.tsx'));
const OrderDetailPage = lazy(() => import('./pages/OrderDetail.tsx'));
const RulesPage = lazy(() => import('./pages/Rules.tsx'));
const ReleasesPage = lazy(() => import('./pages/Releases.tsx'));
const SettlementPage = lazy(() => import('./pages/Settlement.tsx'));
const WithdrawalsPage = lazy(() => import('./pages/Withdrawals.tsx'));
const LedgerPage = lazy(() => import('./pages/Ledger.tsx'));
const ReconciliationPage = lazy(() => import('./pages/Reconciliation.tsx'));
const DashboardPage = lazy(() => import('./pages/Dashboard.tsx'));
const RiskRulesPage = lazy(() => import('./pages/RiskRules.tsx'));
const CustomersPage = lazy(() => import('./pages/Customers.tsx'));
const CompliancePage = lazy(() => import('./pages/Compliance.tsx'));
const PlatformPage = lazy(() => import('./pages/Platform.tsx'));
const AgentsPage = lazy(() => import('./pages/Agents.tsx'));

function RequireSession({ children }: { children: ReactNode }) {
  const { session } = useSession();
  const location = useLocation();
  if (!session) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

/** antd's defaults, darkened where their grey and red text falls short of WCAG AA contrast. */
const THEME = {
  token: { colorPrimary: '#c2300a', colorError: '#cf1322', colorTextDescription: 'rgba(0, 0, 0, 0.62)', colorTextTertiary: 'rgba(0, 0, 0, 0.62)' },
};

function Localized({ children }: { children: ReactNode }) {
  const { lang } = useI18n();
  return (
    <ConfigProvider locale={lang === 'en' ? enUS : zhCN} button={{ autoInsertSpace: false }} theme={THEME}>
      <AntApp>{children}</AntApp>
    </ConfigProvider>
  );
}

const loading = (
  <div style={{ padding: 48, textAlign: 'center' }}>
    <Spin />
  </div>
);

export function App() {
  return (
    <I18nProvider>
      <Localized>
        <SessionProvider>
          <BrowserRouter basename="/admin">
            <Suspense fallback={loading}>
              <Routes>
                <Route path="/login" element={<LoginPage />} />
                <Route path="/platform" element={<PlatformPage />} />
                <Route
                  element={
                    <RequireSession>
                      <ConsoleLayout />
                    </RequireSession>
                  }
                >
                  <Route index element={<Navigate to="/dashboard" replace />} />
                  <Route path="/dashboard" element={<DashboardPage />} />
                  <Route path="/distributors" element={<DistributorsPage />} />
                  <Route path="/distributors/:id" element={<DistributorDetailPage />} />
                  <Route path="/applications" element={<ApplicationsPage />} />
                  <Route path="/orders" element={<OrdersPage />} />
                  <Route path="/orders/:externalId" element={<OrderDetailPage />} />
                  <Route path="/agents" element={<AgentsPage />} />
                  <Route path="/settlement" element={<SettlementPage />} />
                  <Route path="/withdrawals" element={<WithdrawalsPage />} />
                  <Route path="/rules" element={<RulesPage />} />
                  <Route path="/releases" element={<ReleasesPage />} />
                  <Route path="/ledger" element={<LedgerPage />} />
                  <Route path="/reconciliation" element={<ReconciliationPage />} />
                  <Route path="/program" element={<ProgramPage />} />
                  <Route path="/grades" element={<GradesPage />} />
                  <Route path="/risk-events" element={<RiskEventsPage />} />
                  <Route path="/risk-rules" element={<RiskRulesPage />} />
                  <Route path="/customers" element={<CustomersPage />} />
                  <Route path="/compliance" element={<CompliancePage />} />
                  <Route path="/audit-log" element={<AuditLogPage />} />
                  <Route path="/admin-users" element={<AdminUsersPage />} />
                  <Route path="/portal" element={<PortalSettingsPage />} />
                  <Route path="/api-keys" element={<ApiKeysPage />} />
                  <Route path="*" element={<NotFound />} />
                </Route>
              </Routes>
            </Suspense>
          </BrowserRouter>
        </SessionProvider>
      </Localized>
    </I18nProvider>
  );
}
