import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { Button, Card, DotLoading, ErrorBlock, Form, Input, List, NoticeBar, Selector, Space, Tag, Toast } from 'antd-mobile';
import { saveBlob } from '../../../shared/api.ts';
import { formatBytes } from '../../../shared/format.ts';
import type { DocumentView, Invite, Me, TeamCounts } from '../../../shared/types.ts';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { AgentEntry } from './Agent.tsx';
import { DepositCard } from '../components/DepositCard.tsx';
import { useSession } from '../session.tsx';
import { PosterImage, ShareReady, useWechatShare, WechatCard } from '../components/Wechat.tsx';
import { inWechat } from '../wechat.ts';

// Keyed by string so a status the server adds later (e.g. erased) still shows.
const STATUS_COLORS: Record<string, 'success' | 'warning' | 'danger' | 'default'> = {
  active: 'success',
  pending: 'warning',
  suspended: 'danger',
  rejected: 'default',
  erased: 'default',
};

function PasswordCard({ me, onSaved }: { me: Me; onSaved: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [open, setOpen] = useState(!me.has_password && !!me.phone);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm();
  if (!me.phone) return null;

  async function save(v: { current_password?: string; password: string }) {
    setBusy(true);
    try {
      await api.post('/v1/portal/password', { password: v.password, ...(me.has_password ? { current_password: v.current_password } : {}) });
      Toast.show({ icon: 'success', content: t('home.passwordSaved') });
      form.resetFields();
      setOpen(false);
      onSaved();
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title={t('home.password')}>
      <p style={{ margin: '0 0 8px', color: '#666' }}>{me.has_password ? t('home.passwordSet') : t('home.passwordMissing')}</p>
      {open ? (
        <Form
          form={form}
          layout="vertical"
          onFinish={(v) => void save(v as { current_password?: string; password: string })}
          footer={
            <Button block type="submit" color="primary" loading={busy}>
              {me.has_password ? t('home.changePassword') : t('home.setPassword')}
            </Button>
          }
        >
          {me.has_password && (
            <Form.Item
              name="current_password"
              label={t('home.currentPassword')}
              rules={[{ required: true, message: t('form.required', { field: t('home.currentPassword') }) }]}
            >
              <Input type="password" autoComplete="current-password" />
            </Form.Item>
          )}
          <Form.Item
            name="password"
            label={t('home.newPassword')}
            rules={[
              { required: true, message: t('form.required', { field: t('home.newPassword') }) },
              { min: 8, message: t('form.passwordMin', { min: 8 }) },
            ]}
          >
            <Input type="password" autoComplete="new-password" />
          </Form.Item>
        </Form>
      ) : (
        <Button size="small" onClick={() => setOpen(true)}>
          {me.has_password ? t('home.changePassword') : t('home.setPassword')}
        </Button>
      )}
    </Card>
  );
}

const DOC_KINDS = ['licence', 'id_card', 'other'] as const;
type DocKind = (typeof DOC_KINDS)[number];

/** The documents a reviewer reads with the application: the distributor uploads its own. */
function DocumentsCard({ me }: { me: Me }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [docs, setDocs] = useState<DocumentView[] | null>(null);
  const [kind, setKind] = useState<DocKind>('licence');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const path = `/v1/distributors/${encodeURIComponent(me.id)}/documents`;

  const load = useCallback(() => {
    api.get<{ items: DocumentView[] }>(path).then(
      (r) => setDocs(r.items),
      () => setDocs([]),
    );
  }, [api, path]);
  useEffect(load, [load]);

  async function upload(file: File) {
    setBusy(true);
    try {
      await api.upload('POST', path, file, { kind });
      Toast.show({ icon: 'success', content: t('docs.uploaded') });
      load();
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setBusy(false);
      if (input.current) input.current.value = '';
    }
  }

  const kindLabel = (k: string) => ((DOC_KINDS as readonly string[]).includes(k) ? t(`docs.kind.${k as DocKind}`) : k);
  return (
    <Card title={t('docs.title')}>
      <p style={{ margin: '0 0 8px', color: '#666' }}>{t('docs.hint')}</p>
      <div role="group" aria-label={t('docs.kind')}>
        <Selector value={[kind]} onChange={(v) => v[0] && setKind(v[0])} options={DOC_KINDS.map((k) => ({ value: k, label: kindLabel(k) }))} />
      </div>
      <input
        ref={input}
        type="file"
        accept="image/png,image/jpeg,image/webp,application/pdf"
        aria-label={t('docs.file')}
        data-testid="document-file"
        style={{ display: 'none' }}
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) void upload(f);
        }}
      />
      <Button block style={{ marginTop: 8 }} loading={busy} onClick={() => input.current?.click()}>
        {t('docs.upload')}
      </Button>
      <List style={{ marginTop: 8 }} data-testid="documents">
        {docs?.length === 0 && <List.Item>{t('docs.empty')}</List.Item>}
        {docs?.map((d) => (
          <List.Item key={d.id} description={`${kindLabel(d.kind)} · ${formatBytes(d.size_bytes)}`}>
            <span style={{ wordBreak: 'break-all' }}>{d.filename}</span>
          </List.Item>
        ))}
      </List>
    </Card>
  );
}

export function HomePage() {
  const { t, lang } = useI18n();
  const { api } = useSession();
  const navigate = useNavigate();
  const [me, setMe] = useState<Me | null>(null);
  const [invite, setInvite] = useState<Invite | null>(null);
  const [team, setTeam] = useState<TeamCounts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [downloading, setDownloading] = useState(false);
  const [showPoster, setShowPoster] = useState(false);
  const shareReady = useWechatShare(me, invite);
  const closePoster = useCallback(() => setShowPoster(false), []);

  const load = useCallback(async () => {
    try {
      const [m, i, tm] = await Promise.all([api.get<Me>('/v1/me'), api.get<Invite>('/v1/me/invite'), api.get<TeamCounts>('/v1/me/team')]);
      setMe(m);
      setInvite(i);
      setTeam(tm);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  async function copy(text: string) {
    try {
      await navigator.clipboard.writeText(text);
      Toast.show({ icon: 'success', content: t('home.copied') });
    } catch {
      Toast.show({ content: t('home.copyFailed') });
    }
  }

  async function downloadPoster() {
    setDownloading(true);
    try {
      saveBlob(await api.blob('/v1/me/poster.png', { lang }), `invite-poster-${invite?.invite_code ?? 'fenxiao'}.png`);
      Toast.show({ icon: 'success', content: t('home.posterSaved') });
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    } finally {
      setDownloading(false);
    }
  }

  if (error)
    return (
      <ErrorBlock
        status="default"
        title={t('common.error', { message: error })}
        description={
          <Button size="small" onClick={() => void load()}>
            {t('common.retry')}
          </Button>
        }
      />
    );
  if (!me || !invite || !team)
    return (
      <div style={{ padding: 48, textAlign: 'center' }} role="status">
        {t('common.loading')}
        <DotLoading />
      </div>
    );

  return (
    <Space direction="vertical" block style={{ '--gap': '12px', padding: 12 }}>
      <Card>
        <h2 style={{ fontSize: 20, margin: '0 0 8px' }} data-testid="me-name">
          {t('home.hello', { name: me.name })}
        </h2>
        <Space wrap>
          <Tag color={STATUS_COLORS[me.status] ?? 'default'} fill="outline">
            {t(`home.status.${me.status}`)}
          </Tag>
          <span style={{ color: '#666' }}>{t('home.grade', { grade: me.grade_name })}</span>
          <span style={{ color: '#666' }}>{me.tenant_name}</span>
        </Space>
      </Card>
      {me.status === 'pending' && <NoticeBar color="alert" content={t('home.pendingNotice')} wrap data-testid="pending-notice" />}
      {me.status === 'suspended' && <NoticeBar color="error" content={t('home.suspendedNotice')} wrap />}
      {me.status === 'rejected' && <NoticeBar color="error" content={t('home.rejectedNotice', { reason: me.status_reason ?? '' })} wrap />}

      <DepositCard />

      {invite.usable && (
        <Card title={t('home.invite')}>
          <List>
            <List.Item extra={<strong data-testid="invite-code">{invite.invite_code}</strong>}>{t('home.inviteCode')}</List.Item>
            <List.Item
              description={
                <span style={{ wordBreak: 'break-all' }} data-testid="invite-url">
                  {invite.invite_url}
                </span>
              }
            >
              {t('home.inviteLink')}
            </List.Item>
          </List>
          <div style={{ textAlign: 'center', margin: '12px 0' }}>
            <img src={invite.qr_data_url} alt={t('home.qrAlt')} width={200} height={200} data-testid="invite-qr" />
          </div>
          <Space direction="vertical" block>
            <Button block onClick={() => void copy(invite.invite_url)}>
              {t('home.copy')}
            </Button>
            {inWechat() ? (
              <Button block color="primary" onClick={() => setShowPoster(true)} data-testid="poster-show">
                {t('wx.posterShow')}
              </Button>
            ) : (
              <Button block color="primary" loading={downloading} onClick={() => void downloadPoster()} data-testid="poster-download">
                {t('home.poster')}
              </Button>
            )}
          </Space>
          {shareReady && (
            <div style={{ marginTop: 8 }}>
              <ShareReady />
            </div>
          )}
        </Card>
      )}
      {showPoster && <PosterImage onClose={closePoster} />}

      <Card title={t('home.team')} onClick={() => navigate('/team')}>
        <p style={{ margin: 0 }} data-testid="team-counts">
          {t('home.teamCounts', { direct: team.direct, level2: team.level2, level3: team.level3 })}
        </p>
        <Button size="small" fill="none" color="primary" style={{ paddingInline: 0 }} onClick={() => navigate('/team')}>
          {t('home.viewTeam')}
        </Button>
      </Card>

      <List data-testid="home-links">
        <List.Item onClick={() => navigate('/insights')} description={t('home.insightsHint')}>
          {t('home.insights')}
        </List.Item>
        <List.Item onClick={() => navigate('/privacy')} description={t('home.privacyHint')}>
          {t('home.privacy')}
        </List.Item>
      </List>

      <AgentEntry />

      <WechatCard />

      <DocumentsCard me={me} />

      <PasswordCard me={me} onSaved={() => void load()} />
    </Space>
  );
}
