import type { Db } from '../db/database.ts';
import type { Clock } from './context.ts';
import type { KeyRing } from '../lib/crypto.ts';
import type { RateLimiter } from '../adapters/ratelimit/types.ts';
import type { FileStorage } from '../adapters/storage/types.ts';
import type { Principal } from './principal.ts';
import { safeEqual } from '../lib/crypto.ts';
import { createAuditService } from '../modules/audit/service.ts';
import { createTenantsService } from '../modules/tenants/service.ts';
import { createAdminService } from '../modules/admin/service.ts';
import { createProgramService } from '../modules/program/service.ts';
import { createRiskService } from '../modules/risk/service.ts';
import { createCustomersService } from '../modules/customers/service.ts';
import { createDistributorsService } from '../modules/distributors/service.ts';
import { createReferralService } from '../modules/referral/service.ts';
import { createPortalService } from '../modules/portal/service.ts';

export interface ServiceDeps {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  limiter: RateLimiter;
  storage: FileStorage;
  publicUrl: string;
  rootToken: string | undefined;
}

/** The composition root: every service, built once with exactly what it uses. */
export function createServices(deps: ServiceDeps) {
  const { db, clock } = deps;
  const audit = createAuditService();
  const program = createProgramService({ db, clock, audit });
  const tenants = createTenantsService({ db, clock, audit, setup: [program] });
  const admin = createAdminService({ db, clock, audit });
  const risk = createRiskService({ db, clock, limiter: deps.limiter });
  const customers = createCustomersService({ clock });
  const distributors = createDistributorsService({ db, clock, audit, keyring: deps.keyring, risk, customers, program, storage: deps.storage, publicUrl: deps.publicUrl });
  const referral = createReferralService({ db, clock, audit, risk, customers, distributors, program, publicUrl: deps.publicUrl });
  const portal = createPortalService({ db, clock, keyring: deps.keyring, storage: deps.storage, audit, admin, tenants, distributors, referral, publicUrl: deps.publicUrl });

  async function authenticate(token: string): Promise<Principal | null> {
    if (deps.rootToken && safeEqual(token, deps.rootToken)) return { kind: 'root' };
    if (token.startsWith('fxk_')) return tenants.authenticateKey(token);
    return admin.authenticateSession(token);
  }

  return { db, clock, audit, program, tenants, admin, risk, customers, distributors, referral, portal, authenticate };
}

export type Services = ReturnType<typeof createServices>;
