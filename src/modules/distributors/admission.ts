import type { ProgramSettings } from '../program/schema.ts';
import type { DistributorRow } from './repo.ts';

/**
 * What of the program's admission conditions a distributor has not met yet, each as a line
 * (`purchases: 300 of 1000 fen`): empty when every one is met. `purchases` is its own customer
 * row's purchases_fen. One rule for the conditions page, approval, and the admissions that
 * happen by themselves under open admission (a deposit or training recorded, an order paid).
 */
export function unmetConditions(
  c: ProgramSettings['admission_conditions'],
  d: Pick<DistributorRow, 'deposit_paid_fen' | 'deposit_refunded_fen' | 'deposit_refunding_fen' | 'training_completed_at'>,
  purchases: number,
): string[] {
  // A deposit on its way back (a refund under way) is no longer held.
  const depositHeld = d.deposit_paid_fen - d.deposit_refunded_fen - d.deposit_refunding_fen;
  const unmet: string[] = [];
  if (c.deposit_fen > 0 && depositHeld < c.deposit_fen) unmet.push(`deposit: ${depositHeld} of ${c.deposit_fen} fen paid`);
  if (c.training_required && d.training_completed_at === null) unmet.push('training: not completed');
  if (c.min_purchases_fen > 0 && purchases < c.min_purchases_fen) unmet.push(`purchases: ${purchases} of ${c.min_purchases_fen} fen`);
  return unmet;
}
