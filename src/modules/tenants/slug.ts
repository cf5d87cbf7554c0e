import { randomBytes } from 'node:crypto';

/**
 * A tenant's short name (slug): what a person types or reads in a URL instead of the tenant's
 * 30-character id. Lower-case ASCII letters, digits and inner hyphens, 3 to 32 characters (the
 * database checks the same pattern).
 */
export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$';
const SLUG = new RegExp(SLUG_PATTERN);

/** A tenant id is `tnt_` and a ulid; anything else given where a merchant is named is a slug. */
export const isTenantId = (text: string) => /^tnt_[0-9A-Z]{26}$/.test(text);

/** The slug as typed (any case, spaces around), or null when it cannot be one. */
export function normalizeSlug(text: string): string | null {
  const s = text.trim().toLowerCase();
  return SLUG.test(s) ? s : null;
}

/**
 * A slug proposed from a tenant's name: its ASCII words, lower-case, joined by hyphens ("Acme
 * 商城" → "acme"); null when the name has too little ASCII to make one (a Chinese name).
 */
export function slugFromName(name: string): string | null {
  const words = name
    .normalize('NFKD')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let s = '';
  for (const w of words) {
    const next = s ? `${s}-${w}` : w;
    if (next.length > 32) break;
    s = next;
  }
  return normalizeSlug(s);
}

/** A random slug for a name that gives none: `shop-` and six letters or digits. */
export function randomSlug(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(6);
  let s = 'shop-';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}
