import type { PayoutChannel, QueryResult } from './types.ts';

/**
 * The in-process default beside the real providers: a person pays by whatever means and records
 * the result in the console. Nothing leaves the process, so every payout stays `processing`
 * until that person acts.
 */
export function createManualChannel(): PayoutChannel {
  return {
    name: 'manual',
    online: false,
    async submit() {
      return { outcome: 'processing', raw: { channel: 'manual', awaiting: 'manual_result' } };
    },
    async query(): Promise<QueryResult> {
      return { found: true, outcome: 'processing', raw: { channel: 'manual', awaiting: 'manual_result' } };
    },
  };
}
