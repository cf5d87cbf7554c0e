import { ApiError } from '../../../shared/api.ts';

/** The API's message for an error (it says what was wrong), else a generic one. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
