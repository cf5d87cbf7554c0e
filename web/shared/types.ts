import type { Static } from '@sinclair/typebox';
import type * as DistributorSchemas from '../../src/modules/distributors/schema.ts';
import type * as ProgramSchemas from '../../src/modules/program/schema.ts';
import type * as PortalSchemas from '../../src/modules/portal/schema.ts';
import type { AdminRole } from '../../src/db/schema.ts';

/**
 * The API's shapes, taken from the server's TypeBox schemas (type-only imports: nothing of the
 * server is bundled). A change of a route schema shows up here at `npm run typecheck:web`.
 */
export type Distributor = Static<typeof DistributorSchemas.Distributor>;
export type DistributorStatus = Distributor['status'];
export type TeamMember = Static<typeof DistributorSchemas.TeamMember>;
export type TeamCounts = Static<typeof DistributorSchemas.TeamCounts>;
export type Conditions = Static<typeof DistributorSchemas.Conditions>;
export type DocumentView = Static<typeof DistributorSchemas.DocumentView>;
export type ProgramSettings = Static<typeof ProgramSchemas.ProgramSettings>;
export type Grade = Static<typeof ProgramSchemas.Grade>;
export type Me = Static<typeof PortalSchemas.Me>;
export type PortalTeamMember = Static<typeof PortalSchemas.PortalTeamMember>;
export type Invite = Static<typeof PortalSchemas.Invite>;
export type PortalSession = Static<typeof PortalSchemas.PortalSession>;
export type PortalSettingsView = Static<typeof PortalSchemas.PortalSettingsView>;
export type { AdminRole };

export interface Page<T> { items: T[]; next_cursor: string | null }

// Shapes declared inline in their routes (src/modules/admin/routes.ts, referral/routes.ts,
// distributors/routes.ts); kept in step by hand.
export interface AdminUser { id: string; email: string; name: string; role: AdminRole; disabled: boolean; created_at: string }
export interface LoginResponse { token: string; expires_at: string; tenant_id: string; user: AdminUser }
export interface AuditEntry {
  id: string; actor_type: string; actor_id: string | null; action: string; target_type: string; target_id: string | null;
  before: unknown; after: unknown; reason: string | null; request_id: string | null; at: string;
}
export interface RiskEvent {
  id: string; kind: string; severity: string; subject_type: string; subject_id: string | null;
  details: Record<string, unknown>; status: string; created_at: string;
}
export interface UplineMember { level: number; id: string; external_id: string; name: string; status: string; grade: string; invite_code: string; joined_at: string }
export interface Profile { distributor: Distributor; team: TeamCounts; conditions: Conditions; visits: { visits: number; unique_visitors: number } }
