import type { Migration } from 'kysely';
import * as foundation from './2026_11_25_0001_foundation.ts';
import * as portal from './2026_11_25_0100_portal.ts';
import * as money from './2026_11_25_0200_money.ts';
import * as settlement from './2026_11_25_0300_settlement.ts';
import * as pii from './2026_11_25_0500_pii.ts';
import * as analytics from './2026_11_25_0400_analytics.ts';
import * as riskAudit from './2026_11_25_0600_risk_audit.ts';
import * as ingest from './2026_11_25_0700_ingest.ts';
import * as clawbackIndex from './2026_11_25_0800_clawback_index.ts';
import * as balanceLimits from './2026_12_06_0100_balance_limits.ts';
import * as payoutAccountConfirmation from './2026_12_06_0500_payout_account_confirmation.ts';
import * as programProposals from './2026_12_06_0600_program_proposals.ts';
import * as programTimeZones from './2026_12_06_0710_program_time_zones.ts';
import * as apiKeyScopes from './2026_12_06_0900_api_key_scopes.ts';
import * as portalApplyVerification from './2026_12_06_0910_portal_apply_verification.ts';
import * as documentEncryption from './2026_12_06_0720_document_encryption.ts';
import * as landingDomains from './2026_12_06_0730_landing_domains.ts';
import * as stripBidiControls from './2026_12_06_0740_strip_bidi_controls.ts';
import * as jobs from './2026_12_06_1000_jobs.ts';
import * as ledgerCheckpoints from './2026_12_06_1100_ledger_checkpoints.ts';
import * as agents from './2026_12_07_0100_agents.ts';
import * as settlementRunsResumable from './2026_12_07_0400_settlement_runs_resumable.ts';
import * as tenantSlugs from './2026_12_07_0600_tenant_slugs.ts';
import * as wechat from './2026_12_07_0800_wechat.ts';
import * as outboundWebhooks from './2026_12_07_0300_outbound_webhooks.ts';
import * as logistics from './2026_12_07_0310_logistics.ts';
import * as orderPathKeys from './2026_12_08_0001_order_path_keys.ts';
import * as bindingPolicies from './2026_12_09_0200_binding_policies.ts';
import * as agentApplications from './2026_12_08_0400_agent_applications.ts';
import * as applicationReview from './2026_12_09_0100_application_review.ts';
import * as analyticsBreakdowns from './2026_12_08_0300_analytics_breakdowns.ts';
import * as unpaidOrders from './2026_12_09_0300_unpaid_orders.ts';
import * as statementLineKey from './2026_12_09_0400_statement_line_key.ts';
import * as tierTrueUp from './2026_12_09_0700_tier_true_up.ts';
import * as depositRefunds from './2026_12_10_0110_deposit_refunds.ts';
import * as erasureRequests from './2026_12_07_0700_erasure_requests.ts';
import * as ruleReleases from './2026_12_07_0200_rule_releases.ts';

/**
 * Every migration, in order. A static list rather than a directory scan: it works the same
 * under tsx, in a bundle and in tests. Names are timestamped; never edit one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_25_0001_foundation': foundation,
  '2026_11_25_0100_portal': portal,
  '2026_11_25_0200_money': money,
  '2026_11_25_0300_settlement': settlement,
  '2026_11_25_0500_pii': pii,
  '2026_11_25_0400_analytics': analytics,
  '2026_11_25_0600_risk_audit': riskAudit,
  '2026_11_25_0700_ingest': ingest,
  '2026_11_25_0800_clawback_index': clawbackIndex,
  '2026_12_06_0100_balance_limits': balanceLimits,
  '2026_12_06_0500_payout_account_confirmation': payoutAccountConfirmation,
  '2026_12_06_0600_program_proposals': programProposals,
  '2026_12_06_0710_program_time_zones': programTimeZones,
  '2026_12_06_0900_api_key_scopes': apiKeyScopes,
  '2026_12_06_0910_portal_apply_verification': portalApplyVerification,
  '2026_12_06_0720_document_encryption': documentEncryption,
  '2026_12_06_0730_landing_domains': landingDomains,
  '2026_12_06_0740_strip_bidi_controls': stripBidiControls,
  '2026_12_06_1000_jobs': jobs,
  '2026_12_06_1100_ledger_checkpoints': ledgerCheckpoints,
  '2026_12_07_0100_agents': agents,
  '2026_12_07_0400_settlement_runs_resumable': settlementRunsResumable,
  '2026_12_07_0600_tenant_slugs': tenantSlugs,
  '2026_12_07_0800_wechat': wechat,
  '2026_12_07_0700_erasure_requests': erasureRequests,
  '2026_12_07_0200_rule_releases': ruleReleases,
  '2026_12_07_0300_outbound_webhooks': outboundWebhooks,
  '2026_12_07_0310_logistics': logistics,
  '2026_12_08_0001_order_path_keys': orderPathKeys,
  '2026_12_08_0300_analytics_breakdowns': analyticsBreakdowns,
  '2026_12_08_0400_agent_applications': agentApplications,
  '2026_12_09_0100_application_review': applicationReview,
  '2026_12_09_0200_binding_policies': bindingPolicies,
  '2026_12_09_0300_unpaid_orders': unpaidOrders,
  '2026_12_09_0400_statement_line_key': statementLineKey,
  '2026_12_09_0700_tier_true_up': tierTrueUp,
  '2026_12_10_0110_deposit_refunds': depositRefunds,
};
