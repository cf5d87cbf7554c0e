import { describe, expect, it } from 'vitest';
import { isTenantId, normalizeSlug, randomSlug, slugFromName } from './slug.ts';

describe('tenant slugs', () => {
  it.each([
    ['acme', 'acme'],
    ['  Acme-Shop ', 'acme-shop'],
    ['ab', null],
    ['-acme', null],
    ['acme-', null],
    ['a'.repeat(32), 'a'.repeat(32)],
    ['a'.repeat(33), null],
    ['阿克米', null],
    ['acme_shop', null],
  ])('normalizeSlug(%j) → %j', (input, out) => {
    expect(normalizeSlug(input)).toBe(out);
  });

  it.each([
    ['Acme 商城', 'acme'],
    ['Demo Shop 演示商城', 'demo-shop'],
    ['示例商城', null],
    ['Ü-Store 2026', 'u-store-2026'],
    ['x', null],
  ])('slugFromName(%j) → %j', (name, out) => {
    expect(slugFromName(name)).toBe(out);
  });

  it('makes random slugs that are slugs', () => {
    for (let i = 0; i < 50; i++) expect(normalizeSlug(randomSlug())).toMatch(/^shop-[a-z0-9]{6}$/);
  });

  it('tells an id from a slug', () => {
    expect(isTenantId('tnt_01JEXAMPLE0000000000000000')).toBe(true);
    expect(isTenantId('acme')).toBe(false);
  });
});
