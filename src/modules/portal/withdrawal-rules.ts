import { MESSAGES } from '../../core/error-text.ts';
import type { Actor } from '../../core/context.ts';
import { forbidden } from '../../core/errors.ts';
import type { Executor } from '../../db/database.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { WithdrawalRules } from './schema.ts';

/**
 * GET /v1/me/withdrawal-rules: the part of the program a distributor needs to fill in the
 * withdrawal form (the console's GET /v1/program is not for distributors), so the portal can
 * preview the fee with the server's own formula (withdrawalFee in withdrawals/service.ts) and
 * offer only the channels that can pay.
 */
export async function withdrawalRules(
  actor: Actor,
  deps: { db: Executor; program: { read(ex: Executor, tenantId: string): Promise<ProgramSettings> }; channels: readonly string[] },
): Promise<WithdrawalRules> {
  const p = actor.principal;
  if (p.kind !== 'distributor') throw forbidden(MESSAGES.distributorOnly());
  const w = (await deps.program.read(deps.db, p.tenantId)).withdrawal;
  return {
    min_fen: w.min_fen,
    fee_bp: w.fee_bp,
    fixed_fee_fen: w.fixed_fee_fen,
    fee_formula: 'min(amount_fen, floor(amount_fen × fee_bp / 10000) + fixed_fee_fen)',
    daily_count_limit: w.daily_count_limit,
    daily_amount_limit_fen: w.daily_amount_limit_fen,
    channels: deps.channels.filter((c): c is WithdrawalRules['channels'][number] => c === 'manual' || c === 'alipay' || c === 'wechat' || c === 'bank'),
  };
}
