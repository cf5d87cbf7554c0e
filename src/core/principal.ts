import { MESSAGES } from './error-text.ts';
import { AppError, forbidden } from './errors.ts';

/** The console's roles; what each may do is ROLE_PERMISSIONS. */
export type AdminRole = 'owner' | 'operator' | 'finance' | 'auditor';

/** Who is calling. Every service call takes one first; nothing crosses tenants. */
export type Principal =
  | { kind: 'root' }
  /** `scope` absent (a principal built in code, never from a request): full. */
  | { kind: 'api_key'; tenantId: string; keyId: string; scope?: ApiKeyScope | undefined }
  | { kind: 'admin'; tenantId: string; userId: string; role: AdminRole; sessionId: string }
  | { kind: 'distributor'; tenantId: string; distributorId: string; sessionId: string }
  | { kind: 'system'; tenantId: string; job: string };

export type TenantPrincipal = Exclude<Principal, { kind: 'root' }>;

/**
 * What a caller may do. Roles are data, checked on every route; the merchant's API key acts for
 * the merchant itself within its scope (a full key may do everything an owner may).
 */
export type Permission =
  | 'read'
  | 'program:write'
  | 'program:money'
  | 'distributors:write'
  | 'orders:write'
  | 'finance:read'
  | 'finance:write'
  | 'finance:approve'
  | 'risk:write'
  | 'users:write'
  | 'pii:read'
  | 'pii:erase'
  | 'keys:write';

export const ROLE_PERMISSIONS: Record<AdminRole, readonly Permission[]> = {
  // pii:erase (anonymise a distributor, PIPL) is the owner's alone: it cannot be undone.
  owner: [
    'read',
    'program:write',
    'program:money',
    'distributors:write',
    'orders:write',
    'finance:read',
    'finance:write',
    'finance:approve',
    'risk:write',
    'users:write',
    'pii:read',
    'pii:erase',
    'keys:write',
  ],
  // program:money (the program's money controls: freeze days, review threshold, settlement
  // cycle, withdrawal limits) is finance's and the owner's: an operator's change to one waits
  // for them to confirm it (issue 14).
  operator: ['read', 'program:write', 'distributors:write', 'orders:write', 'risk:write'],
  finance: ['read', 'program:money', 'finance:read', 'finance:write', 'finance:approve', 'pii:read'],
  // Reconciliation and the money exports (statements, withdrawals, commission lines): finance
  // reads them, and so do owners and auditors; an operator does not.
  auditor: ['read', 'finance:read'],
};

export function roleHas(role: AdminRole, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/**
 * What an API key may do. A `full` key acts for the merchant itself, as an owner; the others give a
 * system only what it needs, so a leaked key costs less: `read` reads (as an auditor: personal data
 * masked, no keys or secrets), `orders` only sends orders and their events (a shop or an ERP).
 * The tenant's first key, from POST /v1/tenants, is `full`.
 */
export type ApiKeyScope = 'full' | 'read' | 'orders';
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['full', 'read', 'orders'];
export const SCOPE_PERMISSIONS: Record<ApiKeyScope, readonly Permission[]> = {
  full: ROLE_PERMISSIONS.owner,
  read: ['read', 'finance:read'],
  orders: ['orders:write'],
};

export function scopeHas(scope: ApiKeyScope, permission: Permission): boolean {
  return SCOPE_PERMISSIONS[scope].includes(permission);
}

export function can(principal: Principal, permission: Permission): boolean {
  switch (principal.kind) {
    case 'root':
      return false;
    case 'api_key':
      return scopeHas(principal.scope ?? 'full', permission);
    case 'system':
      return true;
    case 'admin':
      return roleHas(principal.role, permission);
    case 'distributor':
      return false;
    default: {
      const never: never = principal;
      return never;
    }
  }
}

export function requirePermission(principal: Principal, permission: Permission): void {
  if (!can(principal, permission)) throw forbidden(MESSAGES.callerMayNot(permission.replace(':', ' ')));
}

export function tenantOf(principal: Principal): string {
  if (principal.kind === 'root') throw new AppError('forbidden', { en: 'the root token acts on no tenant', zh: '平台根令牌不代表任何商户' });
  return principal.tenantId;
}

/** The actor as the audit log records it. */
export function actorOf(principal: Principal): { actorType: string; actorId: string | null } {
  switch (principal.kind) {
    case 'root':
      return { actorType: 'root', actorId: null };
    case 'api_key':
      return { actorType: 'api_key', actorId: principal.keyId };
    case 'admin':
      return { actorType: 'admin', actorId: principal.userId };
    case 'distributor':
      return { actorType: 'distributor', actorId: principal.distributorId };
    case 'system':
      return { actorType: 'system', actorId: principal.job };
    default: {
      const never: never = principal;
      return never;
    }
  }
}
