import type { MessageKey } from './messages.ts';

/**
 * The portal's wording under the program's WeChat-safe profile (program.profile wechat_safe):
 * WeChat's operating rules forbid multi-level distribution (多级分销) inside mini-programs and
 * official accounts, and reviewers read the words as much as the rules. These replace every
 * message that speaks of a team, levels or uplines; none holds a word of WECHAT_FORBIDDEN_WORDS
 * (src/modules/compliance/rules.ts; test/e2e/wechat-safe.test.ts checks both).
 */
export const wechatSafeZh: Partial<Record<MessageKey, string>> = {
  'nav.team': '我的推荐',
  'home.team': '我的推荐',
  'home.teamCounts': '我推荐的好友 {direct} 人',
  'home.viewTeam': '查看推荐',
  'home.poster': '下载推荐海报',
  'team.title': '我的推荐',
  'team.level1': '我推荐的好友 ({n})',
  'team.level2': '我推荐的好友 ({n})',
  'team.level3': '我推荐的好友 ({n})',
  'earnings.levelK': '推荐奖励',
  'explain.whyK': '订单 {order} 由你推荐的 {seller} 售出，这是你的推荐奖励。',
};

export const wechatSafeEn: Partial<Record<MessageKey, string>> = {
  'nav.team': 'My referrals',
  'home.team': 'My referrals',
  'home.teamCounts': '{direct} friends referred',
  'home.viewTeam': 'View referrals',
  'home.poster': 'Download referral poster',
  'team.title': 'My referrals',
  'team.level1': 'Referred by me ({n})',
  'team.level2': 'Referred by me ({n})',
  'team.level3': 'Referred by me ({n})',
  'earnings.levelK': 'Referral reward',
  'explain.whyK': 'Order {order} was sold by {seller}, whom you referred: this is your referral reward.',
};
