import { isDeepStrictEqual } from 'node:util';

/**
 * The program fields a change sets, by dotted path, as the rules timeline records them: nested
 * objects merge field by field (as mergeSettings), anything else (a scalar, an array, an object
 * replacing a null) is one leaf. Pure.
 */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The leaves a partial update sets, with the values the merge gave them. */
export function programLeaves(before: unknown, patch: unknown, after: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (!isPlainObject(patch)) return out;
  for (const [k, p] of Object.entries(patch)) {
    if (p === undefined) continue;
    const b = isPlainObject(before) ? before[k] : undefined;
    const a = isPlainObject(after) ? after[k] : undefined;
    if (isPlainObject(p) && isPlainObject(b)) programLeaves(b, p, a, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = structuredClone(a);
  }
  return out;
}

/** The leaves whose value differs between two settings, with their values in `b`. */
export function programDiffLeaves(a: unknown, b: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) programDiffLeaves(a[k], b[k], `${prefix}${k}.`, out);
    return out;
  }
  if (!isDeepStrictEqual(a, b)) out[prefix.slice(0, -1)] = structuredClone(b);
  return out;
}
