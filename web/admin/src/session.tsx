import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { roleHas, type Permission } from '../../../src/core/principal.ts';
import { createApiClient, type ApiClient } from '../../shared/api.ts';
import type { AdminUser, LoginResponse } from '../../shared/types.ts';

/**
 * The console session: the bearer token lives in sessionStorage (gone with the tab), a 401 or
 * the session's expiry sends the operator back to login. What a role may do comes from the
 * server's own permission table (src/core/principal.ts), so the menu hides exactly what the
 * server would refuse.
 */
const STORAGE_KEY = 'fenxiao.admin.session';
const FLASH_KEY = 'fenxiao.admin.flash';

export interface AdminSession {
  token: string;
  expires_at: string;
  tenant_id: string;
  user: AdminUser;
}

export type Flash = 'expired' | 'logged_out';

interface SessionValue {
  session: AdminSession | null;
  api: ApiClient;
  can(permission: Permission): boolean;
  signIn(res: LoginResponse): void;
  signOut(flash?: Flash): void;
}

const Context = createContext<SessionValue | null>(null);

function readSession(): AdminSession | null {
  try {
    const raw = window.sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as AdminSession;
    return new Date(s.expires_at).getTime() > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function takeFlash(): Flash | null {
  const f = window.sessionStorage.getItem(FLASH_KEY);
  window.sessionStorage.removeItem(FLASH_KEY);
  return f === 'expired' || f === 'logged_out' ? f : null;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<AdminSession | null>(readSession);

  const signOut = useCallback((flash?: Flash) => {
    window.sessionStorage.removeItem(STORAGE_KEY);
    if (flash) window.sessionStorage.setItem(FLASH_KEY, flash);
    setSession(null);
  }, []);

  const api = useMemo(
    () =>
      createApiClient({
        token: () => readSession()?.token ?? null,
        onUnauthorized: () => signOut('expired'),
      }),
    [signOut],
  );

  const signIn = useCallback((res: LoginResponse) => {
    const s: AdminSession = { token: res.token, expires_at: res.expires_at, tenant_id: res.tenant_id, user: res.user };
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    setSession(s);
  }, []);

  useEffect(() => {
    if (!session) return;
    const ms = new Date(session.expires_at).getTime() - Date.now();
    const timer = window.setTimeout(() => signOut('expired'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => window.clearTimeout(timer);
  }, [session, signOut]);

  const can = useCallback((p: Permission) => !!session && roleHas(session.user.role, p), [session]);

  const value = useMemo(() => ({ session, api, can, signIn, signOut }), [session, api, can, signIn, signOut]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(Context);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}

/** For pages: the API client and the signed-in session, which RequireSession guarantees. */
export function useAuthed() {
  const v = useSession();
  if (!v.session) throw new Error('no session');
  return { ...v, session: v.session };
}
