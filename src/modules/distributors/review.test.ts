import { describe, expect, it } from 'vitest';
import { reviewApplication, type ApplicationFacts, type ReviewRules } from './review.ts';

const all: ReviewRules = { enabled: true, phone_verified: true, uscc_for_companies: true, id_number: true, no_shared_identity: true, on_failure: 'refer' };
const clean: ApplicationFacts = {
  phoneVerified: true,
  company: null,
  licenceNo: null,
  idNumber: '11010519491231002X',
  sharedPhone: 0,
  sharedIdNumber: 0,
  conditionsUnmet: [],
};

describe('automatic application review', () => {
  it.each<[string, ReviewRules, Partial<ApplicationFacts>, string, Record<string, string>]>([
    ['every check passes: approved', all, {}, 'approved', { phone_verified: 'passed', uscc: 'not_applicable', id_number: 'passed', shared_identity: 'passed' }],
    ['phone not verified: to a person', all, { phoneVerified: false }, 'referred', { phone_verified: 'failed' }],
    [
      'phone not verified, the program refuses on failure',
      { ...all, on_failure: 'reject' },
      { phoneVerified: false },
      'rejected',
      { phone_verified: 'failed' },
    ],
    ['a company with a valid code', all, { company: '深圳市腾讯计算机系统有限公司', licenceNo: '91440300708461136T' }, 'approved', { uscc: 'passed' }],
    ['a company with a bad check character', all, { company: '某公司', licenceNo: '91440300708461136A' }, 'referred', { uscc: 'failed' }],
    ['a company without a code', all, { company: '某公司' }, 'referred', { uscc: 'failed' }],
    ['no ID number', all, { idNumber: null }, 'referred', { id_number: 'failed' }],
    ['the phone held by another distributor', all, { sharedPhone: 1 }, 'referred', { shared_identity: 'failed' }],
    ['checks off: a missing ID number does not count', { ...all, id_number: false }, { idNumber: null }, 'approved', {}],
    [
      'checks pass, a deposit unpaid: to a person, even when failures refuse',
      { ...all, on_failure: 'reject' },
      { conditionsUnmet: ['deposit: 0 of 500 fen paid'] },
      'referred',
      { admission_conditions: 'failed' },
    ],
  ])('%s', (_label, rules, facts, outcome, outcomes) => {
    const r = reviewApplication(rules, { ...clean, ...facts });
    expect(r.outcome).toBe(outcome);
    for (const [check, o] of Object.entries(outcomes)) expect(r.checks.find((c) => c.check === check)?.outcome, check).toBe(o);
    // Every check explains itself in both languages.
    for (const c of r.checks) expect(c.reason.en.length * c.reason.zh.length).toBeGreaterThan(0);
  });

  it('lists only the configured checks, and always the admission conditions', () => {
    const r = reviewApplication({ ...all, uscc_for_companies: false, no_shared_identity: false }, clean);
    expect(r.checks.map((c) => c.check)).toEqual(['phone_verified', 'id_number', 'admission_conditions']);
  });

  it('names what is shared', () => {
    const r = reviewApplication(all, { ...clean, sharedPhone: 2, sharedIdNumber: 1 });
    expect(r.checks.find((c) => c.check === 'shared_identity')?.reason.en).toBe(
      'shared with other distributors: the phone (2 other distributor(s)), the ID number (1 other distributor(s))',
    );
  });
});
