import { Type } from '@sinclair/typebox';
import { actor, idempotencyKeyOf, IdempotencyHeaders, moduleRoutes } from '../../core/route.ts';
import { AppError } from '../../core/errors.ts';
import { Fen, IdParams, List, Nullable, PageQuery, Strict, Text, Timestamp, errors, OptionalBody } from '../../core/schema.ts';
import { CallbackRejected } from '../../adapters/payout/index.ts';
import type { WithdrawalsService } from './service.ts';
import { DepositRefund } from './deposit-refund-schema.ts';

const Channel = Type.Union([Type.Literal('manual'), Type.Literal('alipay'), Type.Literal('wechat'), Type.Literal('bank')]);

/** A withdrawal as the API answers it (and the withdrawal.* webhook events carry it). */
export const Withdrawal = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  amount_fen: Type.Integer(),
  fee_fen: Type.Integer(),
  status: Type.Union([Type.Literal('pending_review'), Type.Literal('approved'), Type.Literal('paid'), Type.Literal('failed'), Type.Literal('rejected')]),
  channel: Channel,
  net_fen: Type.Integer({ description: 'what the payee receives: amount less fee' }),
  status_reason: Nullable(Type.String()),
  reference: Nullable(Type.String()),
  payout_account_id: Nullable(Type.String()),
  created_at: Timestamp(),
  approved_at: Nullable(Timestamp()),
  paid_at: Nullable(Timestamp()),
  failed_at: Nullable(Timestamp()),
  payout: Nullable(
    Strict({
      id: Type.String(),
      out_no: Type.String(),
      state: Type.String(),
      provider_ref: Nullable(Type.String()),
      package_info: Nullable(Type.String({ description: 'WeChat: what the portal passes to wx.requestMerchantTransfer when the payee must confirm' })),
      fail_code: Nullable(Type.String()),
      fail_reason: Nullable(Type.String()),
    }),
  ),
});

const AccountInput = Type.Union([
  Strict({
    channel: Type.Literal('alipay'),
    identity: Text(100, { minLength: 1 }),
    identity_type: Type.Union([Type.Literal('ALIPAY_USER_ID'), Type.Literal('ALIPAY_LOGON_ID'), Type.Literal('ALIPAY_OPEN_ID')]),
    name: Type.Optional(Text(64, { minLength: 1 })),
  }),
  Strict({
    channel: Type.Literal('wechat'),
    openid: Text(128, { minLength: 1, pattern: '^[A-Za-z0-9_-]+$' }),
    user_name: Type.Optional(Text(64, { minLength: 1 })),
  }),
  Strict({
    channel: Type.Literal('bank'),
    account_no: Type.String({ minLength: 8, maxLength: 34, pattern: '^[0-9 ]+$' }),
    account_name: Text(64, { minLength: 1 }),
    bank_name: Text(64, { minLength: 1 }),
    branch: Type.Optional(Text(128)),
  }),
]);
const AccountView = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  channel: Type.String(),
  display: Type.String({ description: 'masked' }),
  is_default: Type.Boolean(),
  confirmed: Type.Boolean({
    description:
      'false while an account a console user added waits for the distributor (or a second finance user) to confirm it: no withdrawal goes to it, and it is not the default',
  }),
  added_by: Nullable(Type.String({ description: 'who added it: distributor, api_key or admin' })),
  created_at: Timestamp(),
});
const AccountParams = Strict({ id: Type.String({ maxLength: 64 }), account_id: Type.String({ maxLength: 64 }) });

export const withdrawalsRoutes = moduleRoutes<WithdrawalsService>((app, withdrawals) => {
  const tags = ['withdrawals'];

  app.post(
    '/v1/withdrawals',
    {
      config: { auth: 'tenant_or_distributor', permission: 'finance:write' },
      schema: {
        tags,
        summary: 'Ask for a payout of withdrawable money (Idempotency-Key honoured)',
        headers: IdempotencyHeaders,
        body: Strict({
          distributor_id: Type.String({ minLength: 1, maxLength: 64 }),
          amount_fen: Fen({ minimum: 1 }),
          channel: Channel,
          payout_account_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        }),
        response: { 201: Withdrawal, ...errors(403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const key = idempotencyKeyOf(req);
      return reply.code(201).send(await withdrawals.create(actor(req), req.body, key));
    },
  );

  app.get(
    '/v1/withdrawals',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Withdrawals, newest first (a distributor sees its own)',
        querystring: Strict({
          ...PageQuery.properties,
          status: Type.Optional(Type.String({ maxLength: 32 })),
          distributor_id: Type.Optional(Type.String({ maxLength: 64 })),
          channel: Type.Optional(Channel),
        }),
        response: { 200: List(Withdrawal), ...errors() },
      },
    },
    async (req) => withdrawals.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/withdrawals/:id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'One withdrawal and its payout', params: IdParams, response: { 200: Withdrawal, ...errors(404) } },
    },
    async (req) => withdrawals.get(actor(req), req.params.id),
  );

  app.post(
    '/v1/withdrawals/:id/approve',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary: 'Approve: the payout is handed to its channel',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: Withdrawal, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.approve(actor(req), req.params.id),
  );

  app.post(
    '/v1/withdrawals/:id/reject',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary: 'Reject: the money goes back to withdrawable',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: Withdrawal, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.reject(actor(req), req.params.id, req.body.reason),
  );

  app.post(
    '/v1/withdrawals/:id/complete',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary: 'Manual and bank channels: record the payout as paid',
        params: IdParams,
        body: Strict({ reference: Text(128, { minLength: 1 }) }),
        response: { 200: Withdrawal, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.record(actor(req), req.params.id, { paid: true, reference: req.body.reference }),
  );

  app.post(
    '/v1/withdrawals/:id/fail',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary: 'Manual and bank channels: record the payout as failed; the money goes back',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: Withdrawal, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.record(actor(req), req.params.id, { paid: false, reason: req.body.reason }),
  );

  app.post(
    '/v1/withdrawals/:id/cancel',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags,
        summary:
          'WeChat Pay: cancel a transfer still waiting for the payee to confirm; once WeChat confirms the cancel the money goes back to withdrawable (audited)',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: Withdrawal, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.cancelPayout(actor(req), req.params.id, req.body.reason),
  );

  // ——— deposit refunds: a distributor's admission deposit paid back through the payout path ———

  const depositTags = ['distributors'];
  app.post(
    '/v1/distributors/:id/deposit/refund',
    {
      config: { auth: 'tenant', permission: 'finance:write' },
      schema: {
        tags: depositTags,
        summary:
          'Ask for the whole deposit held to be refunded, on exit (finance; the distributor suspended, rejected or pending; Idempotency-Key honoured): paid to the payout account on file once a second finance user approves',
        headers: IdempotencyHeaders,
        params: IdParams,
        body: Strict({
          reason: Text(500, { minLength: 1 }),
          channel: Type.Optional(Channel),
          payout_account_id: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: DepositRefund, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.depositRefunds.request(actor(req), req.params.id, req.body, idempotencyKeyOf(req)),
  );

  app.get(
    '/v1/deposit-refunds',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: depositTags,
        summary: 'Deposit refunds, newest first',
        querystring: Strict({
          ...PageQuery.properties,
          status: Type.Optional(Type.String({ maxLength: 32 })),
          distributor_id: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: List(DepositRefund), ...errors() },
      },
    },
    async (req) => withdrawals.depositRefunds.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/deposit-refunds/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags: depositTags, summary: 'One deposit refund and its payout', params: IdParams, response: { 200: DepositRefund, ...errors(404) } },
    },
    async (req) => withdrawals.depositRefunds.get(actor(req), req.params.id),
  );

  app.post(
    '/v1/deposit-refunds/:id/approve',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags: depositTags,
        summary: 'Approve (a second person: not the user who asked): the payout is handed to its channel',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: DepositRefund, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.depositRefunds.approve(actor(req), req.params.id),
  );

  app.post(
    '/v1/deposit-refunds/:id/reject',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags: depositTags,
        summary: 'Reject: the money goes back to the deposit held',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: DepositRefund, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.depositRefunds.reject(actor(req), req.params.id, req.body.reason),
  );

  app.post(
    '/v1/deposit-refunds/:id/complete',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags: depositTags,
        summary: 'Manual and bank channels: record the refund paid (a second person: not the user who asked)',
        params: IdParams,
        body: Strict({ reference: Text(128, { minLength: 1 }) }),
        response: { 200: DepositRefund, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.depositRefunds.record(actor(req), req.params.id, { paid: true, reference: req.body.reference }),
  );

  app.post(
    '/v1/deposit-refunds/:id/fail',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags: depositTags,
        summary: 'Manual and bank channels: record the refund failed; the money goes back to the deposit held',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: DepositRefund, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.depositRefunds.record(actor(req), req.params.id, { paid: false, reason: req.body.reason }),
  );

  app.post(
    '/v1/deposit-refunds/:id/cancel',
    {
      config: { auth: 'tenant', permission: 'finance:approve' },
      schema: {
        tags: depositTags,
        summary: 'WeChat Pay: cancel the refund transfer still waiting for the payee to confirm; the money goes back to the deposit held (audited)',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: DepositRefund, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.depositRefunds.cancel(actor(req), req.params.id, req.body.reason),
  );

  app.get(
    '/v1/distributors/:id/payout-accounts',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Payout accounts (masked)',
        params: IdParams,
        response: { 200: Strict({ items: Type.Array(AccountView), next_cursor: Type.Null() }), ...errors(404) },
      },
    },
    async (req) => ({ items: await withdrawals.listAccounts(actor(req), req.params.id), next_cursor: null }),
  );

  app.post(
    '/v1/distributors/:id/payout-accounts',
    {
      config: { auth: 'tenant_or_distributor', permission: 'finance:write' },
      schema: {
        tags,
        summary:
          'Add a payout account (stored encrypted; the newest confirmed one of a channel is its default). One a console user adds waits for confirmation',
        params: IdParams,
        body: AccountInput,
        response: { 201: AccountView, ...errors(403, 404) },
      },
    },
    async (req, reply) => reply.code(201).send(await withdrawals.addAccount(actor(req), req.params.id, req.body)),
  );

  app.post(
    '/v1/distributors/:id/payout-accounts/:account_id/confirm',
    {
      config: { auth: 'tenant_or_distributor', permission: 'finance:approve' },
      schema: {
        tags,
        summary:
          "Confirm a payout account a console user added: the distributor itself, or a second person (not the user who added it); it becomes its channel's default",
        params: AccountParams,
        body: OptionalBody(Strict({})),
        response: { 200: AccountView, ...errors(403, 404, 409) },
      },
    },
    async (req) => withdrawals.confirmAccount(actor(req), req.params.id, req.params.account_id),
  );

  app.delete(
    '/v1/distributors/:id/payout-accounts/:account_id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'finance:write' },
      schema: { tags, summary: 'Remove a payout account', params: AccountParams, response: { 204: Type.Null(), ...errors(403, 404) } },
    },
    async (req, reply) => {
      await withdrawals.disableAccount(actor(req), req.params.id, req.params.account_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/payouts/bank-file',
    {
      config: { auth: 'tenant', permission: 'pii:read' },
      schema: {
        tags,
        summary: 'The bank batch upload file (CSV) of bank payouts waiting to be sent; full account numbers: finance only',
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const file = await withdrawals.bankFile(actor(req));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="fenxiao-bank-batch.csv"')
        .header('cache-control', 'no-store')
        .send(file);
    },
  );

  // Provider notifications. Verified on the raw bytes before anything is parsed.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 256 * 1024 }, (_req, body, done) => done(null, body));
    // Only the channels this deployment offers have a callback route: a notification for another
    // answers 404 like any unknown path, not a 500 from a channel that is not there.
    for (const channel of withdrawals.callbackChannels()) {
      scope.post(`/v1/payouts/callbacks/${channel}`, { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
        try {
          const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          await withdrawals.callback(channel, req.headers, raw);
          return channel === 'wechat' ? reply.code(200).send({ code: 'SUCCESS', message: '成功' }) : reply.type('text/plain').send('success');
        } catch (err) {
          const status = err instanceof CallbackRejected ? 401 : err instanceof AppError ? err.status : 500;
          req.log.warn({ err: err instanceof Error ? err.message : String(err), channel }, 'payout callback refused');
          return channel === 'wechat' ? reply.code(status).send({ code: 'FAIL', message: 'refused' }) : reply.code(status).type('text/plain').send('fail');
        }
      });
    }
  });
});
