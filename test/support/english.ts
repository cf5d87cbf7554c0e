/**
 * The English left in a Chinese message: every word of two or more Latin letters that is not
 * one the message may name as it is (a field path's segments, a field named in quotes, the codes
 * an enumeration allows, the names of standards such as ISO 8601). A Chinese answer to a validation error has none; the
 * language tests (test/e2e/error-language.test.ts, src/core/validation-text.test.ts) use it.
 */
export const NAMES_KEPT = ['ISO', 'IANA', 'Asia', 'Shanghai', 'UUID', 'IPv4', 'IPv6', 'API', 'SKU', 'Webhook', 'JSON'];

export function englishWords(message: string, allowed: readonly string[] = []): string[] {
  const ok = new Set([...NAMES_KEPT, ...allowed.flatMap((a) => a.split(/[^A-Za-z0-9_-]+/))]);
  return (message.replace(/"[^"]*"/g, ' ').match(/[A-Za-z][A-Za-z0-9_-]*/g) ?? []).filter((w) => /[A-Za-z]{2}/.test(w) && !ok.has(w));
}
