import type { Executor } from '../../db/database.ts';
import type { WechatApiTokensTable, WechatOauthStatesTable } from '../../db/schema.ts';
import type { Insertable } from 'kysely';

export const wechatRepo = {
  async findSettings(db: Executor, tenantId: string) {
    return db.selectFrom('wechat_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },

  async upsertSettings(db: Executor, tenantId: string, set: { app_id: string; app_secret_enc: string | null }, at: Date) {
    await db
      .insertInto('wechat_settings')
      .values({ tenant_id: tenantId, ...set, created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...set, updated_at: at }))
      .execute();
  },

  async insertState(db: Executor, row: Insertable<WechatOauthStatesTable>) {
    await db.insertInto('wechat_oauth_states').values(row).execute();
  },

  async pruneStates(db: Executor, before: Date) {
    await db.deleteFrom('wechat_oauth_states').where('expires_at', '<', before).execute();
  },

  /** Uses a live state of this tenant and purpose once; undefined when unknown, used or expired. */
  async claimState(db: Executor, tenantId: string, id: string, purpose: 'login' | 'link', now: Date) {
    return db
      .updateTable('wechat_oauth_states')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
  },

  /** The identity of an openid (its blind indexes under every configured key). */
  async identityByOpenid(db: Executor, tenantId: string, appId: string, openidBidx: readonly string[]) {
    return db
      .selectFrom('wechat_identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('app_id', '=', appId)
      .where('openid_bidx', 'in', openidBidx)
      .executeTakeFirst();
  },

  async identityOf(db: Executor, tenantId: string, appId: string, distributorId: string) {
    return db
      .selectFrom('wechat_identities')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('app_id', '=', appId)
      .where('distributor_id', '=', distributorId)
      .executeTakeFirst();
  },

  async deleteIdentityOf(db: Executor, tenantId: string, appId: string, distributorId: string) {
    await db
      .deleteFrom('wechat_identities')
      .where('tenant_id', '=', tenantId)
      .where('app_id', '=', appId)
      .where('distributor_id', '=', distributorId)
      .execute();
  },

  async insertIdentity(
    db: Executor,
    row: {
      id: string;
      tenant_id: string;
      app_id: string;
      openid_bidx: string;
      openid_enc: string;
      distributor_id: string;
      nickname_enc: string | null;
      scope: string;
      at: Date;
    },
  ) {
    const { at, ...rest } = row;
    await db
      .insertInto('wechat_identities')
      .values({ ...rest, linked_at: at, updated_at: at })
      .execute();
  },

  async updateNickname(db: Executor, tenantId: string, appId: string, openidBidx: string, nicknameEnc: string, at: Date) {
    await db
      .updateTable('wechat_identities')
      .set({ nickname_enc: nicknameEnc, scope: 'snsapi_userinfo', updated_at: at })
      .where('tenant_id', '=', tenantId)
      .where('app_id', '=', appId)
      .where('openid_bidx', '=', openidBidx)
      .execute();
  },

  /** Erasure (pii): the person's WeChat links go. */
  async deleteIdentitiesOf(db: Executor, tenantId: string, distributorId: string) {
    const r = await db.deleteFrom('wechat_identities').where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).executeTakeFirst();
    return Number(r.numDeletedRows);
  },

  async readToken(db: Executor, key: { tenant_id: string; app_id: string; kind: WechatApiTokensTable['kind'] }) {
    return db
      .selectFrom('wechat_api_tokens')
      .select(['value_enc', 'expires_at'])
      .where('tenant_id', '=', key.tenant_id)
      .where('app_id', '=', key.app_id)
      .where('kind', '=', key.kind)
      .executeTakeFirst();
  },

  async writeToken(
    db: Executor,
    key: { tenant_id: string; app_id: string; kind: WechatApiTokensTable['kind'] },
    value: { value_enc: string; expires_at: Date; fetched_at: Date },
  ) {
    await db
      .insertInto('wechat_api_tokens')
      .values({ ...key, ...value })
      .onConflict((oc) => oc.columns(['tenant_id', 'app_id', 'kind']).doUpdateSet(value))
      .execute();
  },

  /** A new app id (or secret) makes the cached tokens of the tenant worthless. */
  async deleteTokensOf(db: Executor, tenantId: string) {
    await db.deleteFrom('wechat_api_tokens').where('tenant_id', '=', tenantId).execute();
  },
};
