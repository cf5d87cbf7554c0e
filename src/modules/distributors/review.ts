import type { LocalText } from '../../core/error-text.ts';
import { idNumberMessage, idNumberProblem } from '../pii/idnumber.ts';
import { normalizeUscc, usccProblem } from './uscc.ts';

/**
 * The program's automatic review of applications (ProgramSettings.application_review): each
 * configured check passes or fails with a reason in both languages; all passing approves, one
 * failing sends the application to a person (or refuses it, as configured). Unmet admission
 * conditions (a deposit not yet paid…) always leave it with a person: they can still be met.
 * Pure: the caller gathers the facts in the application's transaction.
 */

export type ReviewCheckName = 'phone_verified' | 'uscc' | 'id_number' | 'shared_identity' | 'admission_conditions';
export type ReviewOutcome = 'approved' | 'referred' | 'rejected';

export interface ReviewRules {
  enabled: boolean;
  phone_verified: boolean;
  uscc_for_companies: boolean;
  id_number: boolean;
  no_shared_identity: boolean;
  on_failure: 'refer' | 'reject';
}

export interface ReviewCheck {
  check: ReviewCheckName;
  outcome: 'passed' | 'failed' | 'not_applicable';
  reason: LocalText;
}

export interface ApplicationFacts {
  /** The applicant proved it holds the phone: the portal's code, or a verified phone_verification_id. */
  phoneVerified: boolean;
  company: string | null;
  licenceNo: string | null;
  /** Normalised. */
  idNumber: string | null;
  /** Other distributors of the tenant holding the same phone or ID number. */
  sharedPhone: number;
  sharedIdNumber: number;
  /** Admission conditions not met yet (conditionsOf). */
  conditionsUnmet: string[];
}

const passed = (check: ReviewCheckName, reason: LocalText): ReviewCheck => ({ check, outcome: 'passed', reason });
const failed = (check: ReviewCheckName, reason: LocalText): ReviewCheck => ({ check, outcome: 'failed', reason });

function phoneCheck(f: ApplicationFacts): ReviewCheck {
  return f.phoneVerified
    ? passed('phone_verified', { en: 'the applicant entered the code texted to its phone', zh: '申请人已输入发送到其手机的验证码' })
    : failed('phone_verified', { en: 'the phone was not verified by a texted code', zh: '手机号未通过短信验证码验证' });
}

function usccCheck(f: ApplicationFacts): ReviewCheck {
  const company = !!f.company?.trim() || !!f.licenceNo?.trim();
  if (!company) return { check: 'uscc', outcome: 'not_applicable', reason: { en: 'not a company applicant', zh: '非企业申请人' } };
  if (!f.licenceNo?.trim()) return failed('uscc', { en: 'a company applicant gave no unified social credit code', zh: '企业申请人未填写统一社会信用代码' });
  switch (usccProblem(normalizeUscc(f.licenceNo))) {
    case null:
      return passed('uscc', { en: 'the unified social credit code passes its GB 32100 check', zh: '统一社会信用代码通过 GB 32100 校验' });
    case 'length':
      return failed('uscc', { en: 'the unified social credit code is not 18 characters', zh: '统一社会信用代码不是 18 位' });
    case 'characters':
      return failed('uscc', {
        en: 'the unified social credit code holds characters outside its code set (no I, O, Z, S, V)',
        zh: '统一社会信用代码含有代码字符集以外的字符（不含 I、O、Z、S、V）',
      });
    case 'checksum':
      return failed('uscc', { en: 'the unified social credit code fails its check character', zh: '统一社会信用代码校验码不正确' });
  }
}

function idNumberCheck(f: ApplicationFacts): ReviewCheck {
  if (!f.idNumber) return failed('id_number', { en: 'no resident ID number given', zh: '未填写身份证号' });
  const problem = idNumberProblem(f.idNumber);
  return problem === null
    ? passed('id_number', { en: 'the resident ID number passes its check digit', zh: '身份证号通过校验' })
    : failed('id_number', idNumberMessage(problem));
}

function sharedCheck(f: ApplicationFacts): ReviewCheck {
  const shared = [
    ...(f.sharedPhone > 0 ? [{ en: `the phone (${f.sharedPhone} other distributor(s))`, zh: `手机号（另有 ${f.sharedPhone} 名分销员）` }] : []),
    ...(f.sharedIdNumber > 0 ? [{ en: `the ID number (${f.sharedIdNumber} other distributor(s))`, zh: `身份证号（另有 ${f.sharedIdNumber} 名分销员）` }] : []),
  ];
  return shared.length === 0
    ? passed('shared_identity', { en: 'no other distributor holds this phone or ID number', zh: '没有其他分销员使用此手机号或身份证号' })
    : failed('shared_identity', {
        en: `shared with other distributors: ${shared.map((s) => s.en).join(', ')}`,
        zh: `与其他分销员共用：${shared.map((s) => s.zh).join('、')}`,
      });
}

export function reviewApplication(rules: ReviewRules, facts: ApplicationFacts): { outcome: ReviewOutcome; checks: ReviewCheck[] } {
  const checks: ReviewCheck[] = [
    ...(rules.phone_verified ? [phoneCheck(facts)] : []),
    ...(rules.uscc_for_companies ? [usccCheck(facts)] : []),
    ...(rules.id_number ? [idNumberCheck(facts)] : []),
    ...(rules.no_shared_identity ? [sharedCheck(facts)] : []),
  ];
  const conditions: ReviewCheck =
    facts.conditionsUnmet.length === 0
      ? passed('admission_conditions', { en: 'admission conditions met', zh: '已满足准入条件' })
      : failed('admission_conditions', {
          en: `admission conditions not met yet: ${facts.conditionsUnmet.join('; ')}`,
          zh: `尚未满足准入条件：${facts.conditionsUnmet.join('；')}`,
        });
  const anyFailed = checks.some((c) => c.outcome === 'failed');
  const outcome: ReviewOutcome = anyFailed
    ? rules.on_failure === 'reject'
      ? 'rejected'
      : 'referred'
    : conditions.outcome === 'failed'
      ? 'referred'
      : 'approved';
  return { outcome, checks: [...checks, conditions] };
}
