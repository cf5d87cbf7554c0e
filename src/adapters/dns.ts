import { Resolver } from 'node:dns/promises';

/**
 * TXT lookups through the system's DNS servers, bounded: a domain verification answers within
 * a few seconds even when the name's servers do not (2 s per try, 2 tries).
 */
export async function systemResolveTxt(name: string): Promise<string[][]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  return resolver.resolveTxt(name);
}
