import type { ProgramSettings } from '../program/schema.ts';

/**
 * The compliance guard: what separates a distribution program from a pyramid scheme under PRC
 * rules on 传销 — rewards only from real sales, no pay for recruiting or for heads in a team,
 * at most three levels, deposits refundable. Pure: the program and its grades in, findings out.
 */
export const MAX_LEVELS = 3;
/**
 * Under the WeChat-safe profile: levels above the seller that may be paid (1: the seller and its
 * direct referrer, "two levels", as WeChat's rule against 多级分销 is commonly applied; docs/wechat.md).
 */
export const WECHAT_SAFE_MAX_LEVELS = 1;

/** Words a WeChat-safe program keeps out of what distributors and their customers see (portal, posters). */
export const WECHAT_FORBIDDEN_WORDS = [
  '下线',
  '下级',
  '上线',
  '拉人头',
  '发展会员',
  '发展下线',
  '团队',
  '多级',
  '层级',
  '三级',
  '二级',
  '躺赚',
  '入门费',
] as const;

/** The forbidden words found in a text (none: it may be shown under the WeChat-safe profile). */
export function forbiddenWordsIn(text: string): string[] {
  return WECHAT_FORBIDDEN_WORDS.filter((w) => text.includes(w));
}

export type ComplianceRuleId =
  | 'max_levels'
  | 'no_recruitment_rewards'
  | 'upgrades_on_sales_only'
  | 'refundable_deposits'
  | 'rewards_from_real_sales'
  | 'commission_caps'
  /** The program's profile: under wechat_safe, at most two levels (WeChat forbids 多级分销). */
  | 'wechat_profile'
  /** Agent mode (src/modules/agents): stock bought back for at least 30 days, no purchase to join, no extra levels. */
  | 'agent_stock_buyback';

export interface Finding {
  rule: ComplianceRuleId;
  status: 'compliant' | 'violation' | 'advisory';
  title: { zh: string; en: string };
  setting: unknown;
  detail: string;
}

export interface GradeForCompliance {
  code: string;
  upgrade?: { metric: string; min_fen: number } | null | undefined;
}

const HEAD_COUNT_METRICS = new Set(['team_size', 'direct_recruits']);

export function complianceFindings(settings: ProgramSettings, grades: GradeForCompliance[]): Finding[] {
  const headCountGrades = grades.filter((g) => g.upgrade && HEAD_COUNT_METRICS.has(g.upgrade.metric));
  const recruitPay = settings.rewards.signup_fen > 0 || settings.rewards.per_head_fen > 0;
  const caps = settings.caps.per_order_fen > 0 || settings.caps.per_day_fen > 0;
  return [
    {
      rule: 'max_levels',
      status: settings.levels > MAX_LEVELS ? 'violation' : 'compliant',
      title: { zh: '分润层级不超过三级', en: 'Commission reaches at most three levels' },
      setting: { levels: settings.levels },
      detail:
        settings.levels > MAX_LEVELS
          ? `levels ${settings.levels} exceeds ${MAX_LEVELS}: commission may reach at most three levels above the seller`
          : `override commission reaches ${settings.levels} level(s) above the seller (at most ${MAX_LEVELS})`,
    },
    {
      rule: 'no_recruitment_rewards',
      status: recruitPay ? 'violation' : 'compliant',
      title: { zh: '不得按发展人员计酬（拉人头）', en: 'No pay for recruiting or per head' },
      setting: settings.rewards,
      detail: recruitPay
        ? 'a reward per sign-up or per head in a team pays for recruiting, not for sales'
        : 'no reward is paid for sign-ups or for the size of a team; registrations earn nothing by themselves',
    },
    {
      rule: 'upgrades_on_sales_only',
      status: headCountGrades.length > 0 ? 'violation' : 'compliant',
      title: { zh: '等级晋升只看销售业绩，不看人头', en: 'Grade upgrades on sales only, never on head count' },
      setting: grades.filter((g) => g.upgrade).map((g) => ({ grade: g.code, upgrade: g.upgrade })),
      detail:
        headCountGrades.length > 0
          ? `grade(s) ${headCountGrades.map((g) => g.code).join(', ')} upgrade on head count (${headCountGrades.map((g) => g.upgrade?.metric ?? '').join(', ')})`
          : "every automatic upgrade is on the distributor's own sales",
    },
    {
      rule: 'refundable_deposits',
      status: settings.admission_conditions.deposit_refundable ? 'compliant' : 'violation',
      title: { zh: '保证金可退还，不收取入门费', en: 'Deposits are refundable; no entry fee' },
      setting: { deposit_fen: settings.admission_conditions.deposit_fen, deposit_refundable: settings.admission_conditions.deposit_refundable },
      detail: settings.admission_conditions.deposit_refundable
        ? settings.admission_conditions.deposit_fen > 0
          ? `a deposit of ${settings.admission_conditions.deposit_fen} fen is required and refundable; no commission is ever paid on it`
          : 'no deposit is required'
        : 'a non-refundable deposit is an entry fee',
    },
    {
      rule: 'rewards_from_real_sales',
      status: 'compliant',
      title: { zh: '佣金只来自真实销售', en: 'Rewards come only from real sales' },
      setting: { commission_base: 'paid price of each order line, without shipping and tax, less refunds' },
      detail: 'commission is computed only on orders actually paid, on what each line paid; refunds take it back before or after settlement (clawback)',
    },
    wechatProfile(settings),
    {
      rule: 'commission_caps',
      status: caps ? 'compliant' : 'advisory',
      title: { zh: '单笔及单日佣金上限', en: 'Per-order and per-day commission caps' },
      setting: settings.caps,
      detail: caps ? 'caps limit what one beneficiary earns per order and per day' : 'no cap is set: consider per-order and per-day caps to limit abuse',
    },
  ];
}

/**
 * The WeChat rule the wechat_profile finding rests on, cited as WeChat's own violation notices cite
 * it (docs/wechat.md has the sources, and what of the rule's wording could not be confirmed).
 */
export const WECHAT_RULE_CITATION =
  '《微信小程序平台运营规范》5.行为规范-5.9多级分销经营行为 (WeChat Mini Program Platform Operation Rules, 5.9 multi-level distribution, https://developers.weixin.qq.com/miniprogram/product/); official accounts: 《微信公众平台运营规范》, 多级分销';

function wechatProfile(settings: ProgramSettings): Finding {
  const safe = settings.profile === 'wechat_safe';
  const over = safe && settings.levels > WECHAT_SAFE_MAX_LEVELS;
  return {
    rule: 'wechat_profile',
    status: over ? 'violation' : 'compliant',
    title: { zh: '微信内经营：不做多级分销（至多两级）', en: 'Inside WeChat: no multi-level distribution (at most two levels)' },
    setting: { profile: settings.profile, levels: settings.levels },
    detail: !safe
      ? `profile standard: not restricted for WeChat; a program run inside a WeChat mini-program or official account should use profile wechat_safe (${WECHAT_RULE_CITATION})`
      : over
        ? `profile wechat_safe allows at most ${WECHAT_SAFE_MAX_LEVELS} level above the seller (two levels in all); levels is ${settings.levels} (${WECHAT_RULE_CITATION})`
        : `profile wechat_safe: commission reaches at most ${settings.levels} level(s) above the seller (two levels in all at most), and the portal and posters avoid ${WECHAT_FORBIDDEN_WORDS.slice(0, 4).join(', ')} … (${WECHAT_RULE_CITATION})`,
  };
}

/** The violations only, as one sentence each (the program and grade writes refuse on these). */
export function violations(settings: ProgramSettings, grades: GradeForCompliance[]): string[] {
  return complianceFindings(settings, grades)
    .filter((f) => f.status === 'violation')
    .map((f) => f.detail);
}
