import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { createApiClient, type ApiClient } from '../../shared/api.ts';
import type { PortalSession } from '../../shared/types.ts';

/**
 * A distributor's session, kept in localStorage so a phone stays signed in for the session's
 * life (12 hours) across visits; a 401 or the expiry signs out. The tenant comes from the link
 * the merchant or a referrer shared (?tenant=…) and is remembered for the login page.
 */
const SESSION_KEY = 'fenxiao.portal.session';
const TENANT_KEY = 'fenxiao.portal.tenant';
const FLASH_KEY = 'fenxiao.portal.flash';

interface SessionValue {
  session: PortalSession | null;
  api: ApiClient;
  signIn(s: PortalSession): void;
  signOut(expired?: boolean): void;
}

const Context = createContext<SessionValue | null>(null);

function readSession(): PortalSession | null {
  try {
    const raw = window.localStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as PortalSession;
    return new Date(s.expires_at).getTime() > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function rememberTenant(tenantId: string | null): string | null {
  // A tenant id (tnt_…) or the merchant's short name (slug), as links carry them.
  if (tenantId && /^[A-Za-z0-9_-]{1,64}$/.test(tenantId)) {
    window.localStorage.setItem(TENANT_KEY, tenantId);
    return tenantId;
  }
  return window.localStorage.getItem(TENANT_KEY);
}

/**
 * The tenant id for the API: a link or the login form may name the merchant by its short name
 * (slug), which the server turns into the id (GET /v1/merchants/{ref}); an id is used as it is.
 */
export async function tenantIdOf(api: ApiClient, ref: string): Promise<string> {
  const text = ref.trim();
  if (/^tnt_[0-9A-Z]{26}$/.test(text)) return text;
  const m = await api.get<{ id: string }>(`/v1/merchants/${encodeURIComponent(text)}`);
  window.localStorage.setItem(TENANT_KEY, m.id);
  return m.id;
}

export function takeExpired(): boolean {
  const f = window.sessionStorage.getItem(FLASH_KEY);
  window.sessionStorage.removeItem(FLASH_KEY);
  return f === 'expired';
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<PortalSession | null>(readSession);

  const signOut = useCallback((expired = false) => {
    window.localStorage.removeItem(SESSION_KEY);
    if (expired) window.sessionStorage.setItem(FLASH_KEY, 'expired');
    setSession(null);
  }, []);

  const api = useMemo(() => createApiClient({ token: () => readSession()?.token ?? null, onUnauthorized: () => signOut(true) }), [signOut]);

  const signIn = useCallback((s: PortalSession) => {
    window.localStorage.setItem(
      SESSION_KEY,
      JSON.stringify({ token: s.token, expires_at: s.expires_at, tenant_id: s.tenant_id, distributor_id: s.distributor_id }),
    );
    rememberTenant(s.tenant_id);
    setSession(s);
  }, []);

  useEffect(() => {
    if (!session) return;
    const ms = new Date(session.expires_at).getTime() - Date.now();
    const timer = window.setTimeout(() => signOut(true), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => window.clearTimeout(timer);
  }, [session, signOut]);

  const value = useMemo(() => ({ session, api, signIn, signOut }), [session, api, signIn, signOut]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(Context);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
