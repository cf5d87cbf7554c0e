import { randomInt } from 'node:crypto';

/**
 * Invite codes: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), so a code
 * read aloud or copied from a poster comes out right. 31^8 ≈ 8.5e11 codes; the unique index
 * catches the rare collision and the caller draws again. Case-insensitive: stored upper case.
 */
export const INVITE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const INVITE_LENGTH = 8;

export function generateInviteCode(): string {
  let code = '';
  for (let i = 0; i < INVITE_LENGTH; i++) code += INVITE_ALPHABET[randomInt(INVITE_ALPHABET.length)];
  return code;
}

/** Canonical form of a code as a person typed it, or null if it cannot be one. */
export function normalizeInviteCode(input: string): string | null {
  const code = input.trim().toUpperCase();
  if (code.length < 4 || code.length > 16) return null;
  for (const ch of code) if (!INVITE_ALPHABET.includes(ch)) return null;
  return code;
}
