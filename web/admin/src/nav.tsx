import type { ReactNode } from 'react';
import {
  AccountBookOutlined,
  AlertOutlined,
  SafetyCertificateOutlined,
  UserSwitchOutlined,
  ApartmentOutlined,
  AuditOutlined,
  CrownOutlined,
  RocketOutlined,
  DashboardOutlined,
  EnvironmentOutlined,
  FileSearchOutlined,
  KeyOutlined,
  MobileOutlined,
  ProfileOutlined,
  ReconciliationOutlined,
  SafetyOutlined,
  SettingOutlined,
  ShoppingOutlined,
  SolutionOutlined,
  TeamOutlined,
  WalletOutlined,
} from '@ant-design/icons';
import type { Permission } from '../../../src/core/principal.ts';
import type { MessageKey } from './messages.ts';

export interface NavEntry {
  path: string;
  label: MessageKey;
  icon: ReactNode;
  /** Shown only to roles with any of these permissions (the server enforces them anyway). */
  anyOf: Permission[];
}

/**
 * The console's menu. A page joins it when the API behind it exists in this build — no entry
 * before.
 */
export const NAV: NavEntry[] = [
  { path: '/dashboard', label: 'nav.dashboard', icon: <DashboardOutlined />, anyOf: ['read'] },
  { path: '/distributors', label: 'nav.distributors', icon: <TeamOutlined />, anyOf: ['read'] },
  { path: '/applications', label: 'nav.applications', icon: <SolutionOutlined />, anyOf: ['distributors:write'] },
  { path: '/orders', label: 'nav.orders', icon: <ShoppingOutlined />, anyOf: ['read'] },
  { path: '/agents', label: 'nav.agents', icon: <EnvironmentOutlined />, anyOf: ['read'] },
  { path: '/settlement', label: 'nav.settlement', icon: <AccountBookOutlined />, anyOf: ['read'] },
  { path: '/withdrawals', label: 'nav.withdrawals', icon: <WalletOutlined />, anyOf: ['read'] },
  { path: '/program', label: 'nav.program', icon: <SettingOutlined />, anyOf: ['read'] },
  { path: '/grades', label: 'nav.grades', icon: <CrownOutlined />, anyOf: ['read'] },
  { path: '/rules', label: 'nav.rules', icon: <ProfileOutlined />, anyOf: ['read'] },
  { path: '/releases', label: 'nav.releases', icon: <RocketOutlined />, anyOf: ['read'] },
  { path: '/reconciliation', label: 'nav.reconciliation', icon: <FileSearchOutlined />, anyOf: ['finance:read'] },
  { path: '/ledger', label: 'nav.ledger', icon: <ReconciliationOutlined />, anyOf: ['read'] },
  { path: '/customers', label: 'nav.customers', icon: <UserSwitchOutlined />, anyOf: ['read'] },
  { path: '/risk-events', label: 'nav.risk', icon: <SafetyOutlined />, anyOf: ['read'] },
  { path: '/risk-rules', label: 'nav.riskRules', icon: <AlertOutlined />, anyOf: ['read'] },
  { path: '/compliance', label: 'nav.compliance', icon: <SafetyCertificateOutlined />, anyOf: ['read'] },
  { path: '/audit-log', label: 'nav.audit', icon: <AuditOutlined />, anyOf: ['read'] },
  { path: '/admin-users', label: 'nav.users', icon: <ApartmentOutlined />, anyOf: ['read'] },
  { path: '/api-keys', label: 'nav.keys', icon: <KeyOutlined />, anyOf: ['keys:write'] },
  { path: '/portal', label: 'nav.portal', icon: <MobileOutlined />, anyOf: ['keys:write', 'program:write'] },
];
