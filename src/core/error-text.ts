/**
 * What an error says, in English and in Chinese (简体中文). The `code` of an error never changes
 * with the language (CONTRACT.md): only `message` does, chosen by the request's Accept-Language
 * (`answerLanguage`). Every entry is a `LocalText`, so the compiler refuses a message without both
 * languages; a message with parameters is a function answering a `LocalText`. errors.ts checks
 * that every error code has its general text here (`CODE_TEXT`). An `AppError` takes only a
 * `LocalText`, so no message the server can answer lacks its Chinese: the messages used in one
 * place are written where they are thrown (`{ en, zh }`), those used in several are here, and
 * error-text.test.ts reads every such pair in src/ to check that its Chinese is Chinese.
 */
export interface LocalText {
  readonly en: string;
  readonly zh: string;
}

export type Language = 'en' | 'zh';

/** The general text of each error code (errors.ts makes sure none is missing). */
export const CODE_TEXT = {
  invalid_request: { en: 'the request is invalid', zh: '请求无效' },
  unauthorized: { en: 'not signed in, or the credentials are wrong', zh: '未登录或凭据无效' },
  forbidden: { en: 'this role may not do that', zh: '当前角色无权执行此操作' },
  second_person_required: { en: 'another person must confirm this', zh: '此操作须由另一人确认' },
  not_found: { en: 'not found', zh: '不存在' },
  conflict: { en: 'this conflicts with what exists', zh: '与已有记录冲突' },
  invalid_state: { en: 'not allowed in the current state', zh: '当前状态不允许此操作' },
  payload_too_large: { en: 'the request body is too large', zh: '请求内容过大' },
  unsupported_media_type: { en: 'this content type is not supported', zh: '不支持该内容类型' },
  compliance_violation: { en: 'this breaks a compliance rule', zh: '违反合规规则' },
  insufficient_balance: { en: 'the balance is not enough', zh: '余额不足' },
  admission_conditions_unmet: { en: 'the admission conditions are not met', zh: '未满足准入条件' },
  limit_exceeded: { en: 'a limit is exceeded', zh: '超出限额' },
  risk_blocked: { en: 'refused by the risk rules', zh: '被风控规则拦截' },
  rate_limited: { en: 'too many requests; try again later', zh: '请求过于频繁，请稍后再试' },
  internal_error: { en: 'internal error', zh: '服务器内部错误' },
  service_unavailable: { en: 'the service is unavailable for a moment; retry shortly', zh: '服务暂不可用，请稍后重试' },
  insufficient_stock: { en: 'not enough stock', zh: '库存不足' },
} as const satisfies Record<string, LocalText>;

/** What `notFound(what)` may name: each thing in both languages. */
export const NOUNS = {
  distributor: { en: 'distributor', zh: '分销员' },
  tenant: { en: 'tenant', zh: '商户' },
  withdrawal: { en: 'withdrawal', zh: '提现申请' },
  program: { en: 'program', zh: '分销方案' },
  statement: { en: 'statement', zh: '结算单' },
  'rule version': { en: 'rule version', zh: '规则版本' },
  order: { en: 'order', zh: '订单' },
  'risk event': { en: 'risk event', zh: '风险事件' },
  payout: { en: 'payout', zh: '打款' },
  'deposit refund': { en: 'deposit refund', zh: '保证金退还' },
  'payout account': { en: 'payout account', zh: '收款账户' },
  'invite link': { en: 'invite link', zh: '邀请链接' },
  export: { en: 'export', zh: '导出任务' },
  document: { en: 'document', zh: '资料文件' },
  customer: { en: 'customer', zh: '客户' },
  commission: { en: 'commission', zh: '佣金' },
  'api key': { en: 'api key', zh: 'API 密钥' },
  'verification job': { en: 'verification job', zh: '校验任务' },
  'sku rule': { en: 'sku rule', zh: 'SKU 规则' },
  'settlement job': { en: 'settlement job', zh: '结算任务' },
  referrer: { en: 'referrer', zh: '推荐人' },
  proposal: { en: 'proposal', zh: '变更提议' },
  'poster background': { en: 'poster background', zh: '海报背景' },
  'landing domain': { en: 'landing domain', zh: '落地页域名' },
  grade: { en: 'grade', zh: '等级' },
  delivery: { en: 'delivery', zh: '推送记录' },
  'admin user': { en: 'admin user', zh: '管理员' },
  agent: { en: 'agent', zh: '代理' },
  agent_application: { en: 'agent_application', zh: '代理申请' },
  'phone verification': { en: 'phone verification', zh: '手机验证' },
  'application review': { en: 'application review', zh: '申请审核结果' },
  pilot: { en: 'pilot', zh: '灰度方案' },
  'rule change': { en: 'rule change', zh: '规则变更' },
  'webhook endpoint': { en: 'webhook endpoint', zh: 'Webhook 地址' },
  event: { en: 'event', zh: '事件' },
  'purchase order': { en: 'purchase order', zh: '进货单' },
} as const satisfies Record<string, LocalText>;

export type Noun = keyof typeof NOUNS;

/** The part of a request (Fastify's validation context) or of a queued message a field path starts from. */
const PART_ZH: Record<string, string> = {
  body: '请求体',
  querystring: '查询参数',
  query: '查询参数',
  params: '路径参数',
  path: '路径参数',
  headers: '请求头',
  message: '消息',
};

/** The name of a part of the request in Chinese (`body` → 请求体). */
export const partZh = (part: string): string => PART_ZH[part] ?? part;

/**
 * What a status, an agent's rank, a payout channel or an action is called in a Chinese message
 * (the English message says the code itself). A value not listed stays as it is.
 */
const STATUS_ZH: Record<string, string> = {
  active: '正常',
  suspended: '已暂停',
  ended: '已终止',
  pending: '待处理',
  pending_payment: '待付款',
  approved: '已批准',
  rejected: '已驳回',
  confirmed: '已确认',
  dismissed: '已驳回',
  released: '已放行',
  cancelled: '已取消',
  paid: '已付款',
  failed: '失败',
  done: '已完成',
  succeeded: '已成功',
  queued: '排队中',
  running: '进行中',
  open: '待审核',
  promoted: '已转正',
  stopped: '已停止',
  settled: '已结算',
  reversed: '已冲正',
  frozen: '冻结中',
  available: '可结算',
  held: '已冻结',
  erased: '已删除个人信息',
  expired: '已过期',
  processing: '处理中',
  completed: '已完成',
  created: '已创建',
  shipped: '已发货',
  received: '已收货',
  refunded: '已退款',
  closed: '已关闭',
  province: '省',
  city: '市',
  district: '区县',
};
export const zhStatus = (status: string): string => STATUS_ZH[status] ?? status;

const CHANNEL_ZH: Record<string, string> = { wechat: '微信', alipay: '支付宝', manual: '手动', bank: '银行' };
export const zhChannel = (channel: string): string => CHANNEL_ZH[channel] ?? channel;

const ACTION_ZH: Record<string, string> = { confirm: '确认', reject: '驳回', approve: '批准', complete: '完成' };
export const zhAction = (action: string): string => ACTION_ZH[action] ?? action;

/**
 * The catalogue of messages with their parameters. Each answers both languages; the test beside
 * it (error-text.test.ts) calls every one with sample parameters the compiler asks for.
 */
export const MESSAGES = {
  notFound: (what: Noun): LocalText => ({ en: `${NOUNS[what].en} not found`, zh: `${NOUNS[what].zh}不存在` }),
  noRoute: (method: string, path: string): LocalText => ({ en: `no route ${method} ${path}`, zh: `没有这个接口：${method} ${path}` }),

  // Authentication and roles (app/http.ts, principal.ts).
  missingCredentials: (): LocalText => ({
    en: 'missing credentials: send Authorization: Bearer <token>',
    zh: '缺少凭据：请发送 Authorization: Bearer <token>',
  }),
  invalidCredentials: (): LocalText => ({ en: 'invalid or expired credentials', zh: '凭据无效或已过期' }),
  rootTokenNeeded: (): LocalText => ({ en: 'this route needs the platform root token', zh: '此接口需要平台根令牌' }),
  wrongCredentialKind: (): LocalText => ({ en: 'these credentials cannot use this route', zh: '此凭据不能调用该接口' }),
  roleMayNot: (): LocalText => ({ en: 'this role may not do that', zh: '当前角色无权执行此操作' }),
  callerMayNot: (action: string): LocalText => ({ en: `this caller may not ${action}`, zh: `调用方无权执行：${action}` }),
  wrongEmailOrPassword: (): LocalText => ({ en: 'wrong email or password', zh: '邮箱或密码错误' }),
  wrongPhoneOrPassword: (): LocalText => ({ en: 'wrong phone or password', zh: '手机号或密码错误' }),
  ambiguousEmail: (): LocalText => ({
    en: 'this email belongs to users of several merchants: sign in with the merchant (its short name or id) too',
    zh: '该邮箱属于多个商户的用户：请同时填写商户（简称或 ID）登录',
  }),
  unknownMerchant: (): LocalText => ({ en: 'no merchant has this short name or id', zh: '没有这个简称或 ID 的商户' }),
  tooManyFailedLogins: (): LocalText => ({ en: 'too many failed logins; try again later', zh: '登录失败次数过多，请稍后再试' }),
  distributorOnly: (): LocalText => ({ en: "this route is for a distributor's own session", zh: '此接口仅供分销员本人登录后使用' }),

  // The HTTP layer.
  nulCharacter: (part: string): LocalText => ({
    en: `${part}: text must not contain the NUL character (U+0000)`,
    zh: `${partZh(part)}：文本不能包含空字符（U+0000）`,
  }),
  bodyTooLarge: (): LocalText => ({ en: 'the request body is too large', zh: '请求内容过大' }),
  malformedMultipart: (): LocalText => ({ en: 'the multipart/form-data body is malformed', zh: 'multipart/form-data 请求体格式错误' }),
  sendJson: (): LocalText => ({ en: 'send JSON with Content-Type: application/json', zh: '请以 Content-Type: application/json 发送 JSON' }),
  invalidJson: (): LocalText => ({ en: 'the body is not valid JSON', zh: '请求体不是有效的 JSON' }),
  /** Where (core/validation-text.ts `locationOf`) is a field path in both languages. */
  unknownField: (where: LocalText, field: string): LocalText => ({ en: `${where.en}: unknown field "${field}"`, zh: `${where.zh}：未知字段 "${field}"` }),
  missingField: (where: LocalText, field: string): LocalText => ({ en: `${where.en}: missing field "${field}"`, zh: `${where.zh}：缺少字段 "${field}"` }),
  /** Any other schema rule broken (core/validation-text.ts says the rule in both languages). */
  invalidValue: (where: LocalText, rule: LocalText): LocalText => ({ en: `${where.en} ${rule.en}`, zh: `${where.zh} ${rule.zh}` }),
  /** A part of the request refused by its schema without a detail from the validator. */
  invalidPart: (part: string): LocalText => ({ en: `${part} is invalid`, zh: `${partZh(part)}无效` }),
  internal: (): LocalText => CODE_TEXT.internal_error,
  /**
   * A 4xx Fastify itself answers before any route runs (a malformed URL, a path parameter too
   * long): its English is the framework's; Chinese says the same from the framework's error code,
   * or the refusal's general text when the code is not one listed here (never the English).
   */
  frameworkRefusal: (code: keyof typeof CODE_TEXT, detail: string, frameworkCode?: string): LocalText => ({
    en: detail,
    zh: (frameworkCode !== undefined ? FRAMEWORK_ZH[frameworkCode] : undefined) ?? CODE_TEXT[code].zh,
  }),
  databaseUnavailable: (): LocalText => ({
    en: 'the database is unavailable for a moment; retry shortly (with the same idempotency key or external_id)',
    zh: '数据库暂不可用，请稍后重试（使用相同的幂等键或 external_id）',
  }),

  // PostgreSQL errors translated (errors.ts fromPgError).
  duplicateKey: (): LocalText => ({ en: 'a record with the same key already exists', zh: '已存在相同键的记录' }),
  missingReference: (): LocalText => ({ en: 'a referenced record does not exist', zh: '引用的记录不存在' }),
  balancePastLimit: (): LocalText => ({
    en: 'this would take a balance past the largest Fenxiao keeps (a trillion yuan)',
    zh: '余额将超出 Fenxiao 可记录的上限（一万亿元）',
  }),
  valueOutsideAllowed: (): LocalText => ({ en: 'a value is outside what is allowed', zh: '某个值超出允许范围' }),
  numberOutOfRange: (): LocalText => ({ en: 'a number is out of range', zh: '某个数字超出范围' }),
  wrongFormat: (): LocalText => ({ en: 'a value has the wrong format', zh: '某个值格式错误' }),
  textTooLong: (): LocalText => ({ en: 'a text is too long', zh: '某段文本过长' }),
  unstorableCharacter: (): LocalText => ({ en: 'a text holds a character that cannot be stored', zh: '文本含有无法保存的字符' }),
  dateOutOfRange: (): LocalText => ({ en: 'a date or time is out of range', zh: '日期或时间超出范围' }),
  valueTooLarge: (): LocalText => ({ en: 'a value is too large', zh: '某个值过大' }),

  // The integration API's own refusals (CONTRACT.md).
  unknownReferrerCode: (): LocalText => ({ en: 'unknown referrer_code', zh: '未知的推荐码（referrer_code）' }),
  distributorExists: (): LocalText => ({ en: 'a distributor with this external_id exists', zh: '已存在此 external_id 的分销员' }),
  orderClosedUnpaid: (): LocalText => ({
    en: 'this order was closed unpaid: it cannot be paid any more',
    zh: '该订单已在未付款时关闭，不能再付款',
  }),
  orderAwaitsPayment: (event: string): LocalText => ({
    en: `the order awaits payment (pending_payment): it cannot be ${event} before it is paid; an unpaid order can only be paid (POST /v1/orders again, paid) or closed`,
    zh: `订单待付款：付款前不能标记为${zhStatus(event)}；待付款的订单只能付款（再次提交 POST /v1/orders，已付款）或关闭`,
  }),
  orderBodyDiffers: (): LocalText => ({
    en: 'an order with this external_id exists with a different body',
    zh: '已存在此 external_id 的订单，且内容不同',
  }),
  idempotencyKeyReused: (): LocalText => ({ en: 'this Idempotency-Key was used with a different body', zh: '此 Idempotency-Key 已用于内容不同的请求' }),
  customerAlreadyBound: (): LocalText => ({ en: 'this customer is already bound', zh: '该客户已绑定分销员' }),
  insufficientBalance: (withdrawableFen: number | bigint): LocalText => ({
    en: `withdrawable balance is ${withdrawableFen} fen`,
    zh: `可提现余额为 ${withdrawableFen} 分`,
  }),
  atMostThreeLevels: (): LocalText => ({
    en: 'at most 3 levels: a program may not pay more than three levels (multi-level marketing rules)',
    zh: '最多 3 级：分销方案不得超过三级分佣（多层级营销合规要求）',
  }),
  reasonRequired: (): LocalText => ({ en: 'a reason is required', zh: '请填写原因' }),
} as const satisfies Record<string, (...args: never[]) => LocalText>;

/** Fastify's own refusals (its error codes), in Chinese. */
const FRAMEWORK_ZH: Record<string, string> = {
  FST_ERR_BAD_URL: '网址中有无法解析的部分（例如不完整的 % 转义）',
  FST_ERR_MAX_PARAM_LENGTH: '路径参数过长',
  FST_ERR_INVALID_URL: '网址无效',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'Content-Type 为 application/json 时请求体不能为空',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length 与请求体的实际长度不符',
  FST_ERR_CTP_EMPTY_TYPE: 'Content-Type 不能为空',
  FST_ERR_CTP_INVALID_TYPE: 'Content-Type 格式错误',
  FST_ERR_CTP_INVALID_PARSE_TYPE: 'Content-Type 格式错误',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: '不支持该内容类型',
  FST_ERR_CTP_BODY_TOO_LARGE: '请求内容过大',
};

/**
 * The language to answer in, from an Accept-Language header (RFC 9110 §12.5.4): the acceptable
 * range of highest weight among those Fenxiao speaks wins (`zh`, `zh-CN`, `zh-Hans`, `zh-TW`…
 * are Chinese, `en…` English; a range of weight 0 is refused); ties go to the first listed; `*`
 * and anything else is English.
 */
export function answerLanguage(header: string | string[] | undefined): Language {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return 'en';
  let best: { lang: Language; q: number } | undefined;
  for (const part of text.split(',').slice(0, 32)) {
    const [rawTag, ...rawParams] = part.split(';');
    const tag = (rawTag ?? '').trim().toLowerCase();
    let q = 1;
    for (const p of rawParams) {
      const m = /^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$/i.exec(p);
      if (m) q = Math.min(1, Number(m[1]));
    }
    if (q <= 0) continue;
    const lang: Language | undefined = tag === 'zh' || tag.startsWith('zh-') ? 'zh' : tag === 'en' || tag.startsWith('en-') || tag === '*' ? 'en' : undefined;
    if (lang && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? 'en';
}
