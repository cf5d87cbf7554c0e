import type { ReactNode } from 'react';
import {
  ApartmentOutlined, AuditOutlined, CrownOutlined, MobileOutlined, SafetyOutlined, SettingOutlined, SolutionOutlined, TeamOutlined,
} from '@ant-design/icons';
import type { Permission } from '../../../src/app/principal.ts';
import type { MessageKey } from './messages.ts';

export interface NavEntry {
  path: string;
  label: MessageKey;
  icon: ReactNode;
  /** Shown only to roles with any of these permissions (the server enforces them anyway). */
  anyOf: Permission[];
}

/**
 * The console's menu. The money pages (dashboard, orders, commissions, statements,
 * withdrawals) join this list with their issues, each when its page works — no entry before.
 */
export const NAV: NavEntry[] = [
  { path: '/distributors', label: 'nav.distributors', icon: <TeamOutlined />, anyOf: ['read'] },
  { path: '/applications', label: 'nav.applications', icon: <SolutionOutlined />, anyOf: ['distributors:write'] },
  { path: '/program', label: 'nav.program', icon: <SettingOutlined />, anyOf: ['read'] },
  { path: '/grades', label: 'nav.grades', icon: <CrownOutlined />, anyOf: ['read'] },
  { path: '/risk-events', label: 'nav.risk', icon: <SafetyOutlined />, anyOf: ['read'] },
  { path: '/audit-log', label: 'nav.audit', icon: <AuditOutlined />, anyOf: ['read'] },
  { path: '/admin-users', label: 'nav.users', icon: <ApartmentOutlined />, anyOf: ['read'] },
  { path: '/portal', label: 'nav.portal', icon: <MobileOutlined />, anyOf: ['keys:write', 'program:write'] },
];
