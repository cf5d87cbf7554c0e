import { useCallback, useEffect, useState, type CSSProperties } from 'react';
import { Button, Card, Mask, NoticeBar, Toast } from 'antd-mobile';
import type { Invite, Me } from '../../../shared/types.ts';
import { messageOf } from '../errors.ts';
import { useI18n } from '../i18n.ts';
import { useSession } from '../session.tsx';
import { configureJssdk, inWechat, startWechatAuth, type WechatLinkView } from '../wechat.ts';
import shareIcon from '../assets/share-icon.png';

/** Whether WeChat is linked (signs in, is the WeChat payout account), and the button to link it. */
export function WechatCard() {
  const { t } = useI18n();
  const { api, session } = useSession();
  const [view, setView] = useState<WechatLinkView | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.get<WechatLinkView>('/v1/me/wechat').then(setView, () => setView(null));
  }, [api]);
  if (!view?.configured || !session) return null;

  async function link() {
    setBusy(true);
    try {
      if (!session) return;
      await startWechatAuth(api, 'link', session.tenant_id, { scope: 'snsapi_userinfo', returnTo: '/' });
    } catch (err) {
      setBusy(false);
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
    }
  }

  return (
    <Card title={t('wx.card')} data-testid="wx-card">
      <p style={{ margin: '0 0 8px' }} data-testid="wx-status">
        {view.linked ? t('wx.linkedAs', { name: view.nickname ?? view.openid_masked ?? '' }) : t('wx.unlinkedHint')}
      </p>
      {view.linked && <p style={{ margin: '0 0 8px', color: '#666', fontSize: 13 }}>{t('wx.linkedHint')}</p>}
      <Button size="small" loading={busy} onClick={() => void link()} data-testid="wx-link">
        {view.linked ? t('wx.relink') : t('wx.link')}
      </Button>
    </Card>
  );
}

/**
 * Inside WeChat, the invite page shares as a card (title, picture, link) through the JS-SDK:
 * wx.config with the server's signature, then updateAppMessageShareData / updateTimelineShareData.
 */
export function useWechatShare(me: Me | null, invite: Invite | null): boolean {
  const { t } = useI18n();
  const { api } = useSession();
  const [ready, setReady] = useState(false);
  useEffect(() => {
    if (!me || !invite?.usable || !inWechat()) return;
    let live = true;
    const title = t('wx.shareTitle', { name: me.name, tenant: me.tenant_name });
    const imgUrl = new URL(shareIcon, window.location.href).href;
    configureJssdk(api, ['updateAppMessageShareData', 'updateTimelineShareData']).then(
      (wx) => {
        wx.updateAppMessageShareData({ title, desc: t('wx.shareDesc'), link: invite.invite_url, imgUrl });
        wx.updateTimelineShareData({ title, link: invite.invite_url, imgUrl });
        if (live) setReady(true);
      },
      () => {
        /* not set up, or an old WeChat: sharing the page's address still works */
      },
    );
    return () => {
      live = false;
    };
  }, [api, me, invite, t]);
  return ready;
}

export function ShareReady() {
  const { t } = useI18n();
  return <NoticeBar color="info" wrap content={t('wx.shareReady')} data-testid="wx-share-ready" />;
}

/**
 * The poster as a picture on the page: WeChat's browser ignores downloads, and a long press on an
 * image offers to save it, send it or recognise its QR code. A data: URL, so the long press saves
 * the picture itself (the poster route needs the session's token, which an <img> cannot send).
 */
export function PosterImage({ onClose }: { onClose: () => void }) {
  const { t, lang } = useI18n();
  const { api } = useSession();
  const [src, setSrc] = useState<string | null>(null);
  const load = useCallback(async () => {
    try {
      const blob = await api.blob('/v1/me/poster.png', { lang });
      const url = await new Promise<string>((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result));
        reader.onerror = () => reject(reader.error ?? new Error('read failed'));
        reader.readAsDataURL(blob);
      });
      setSrc(url);
    } catch (err) {
      Toast.show({ icon: 'fail', content: t('common.error', { message: messageOf(err) }) });
      onClose();
    }
  }, [api, lang, t, onClose]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <Mask visible onMaskClick={onClose} opacity={0.85}>
      <div
        role="dialog"
        aria-label={t('wx.posterTitle')}
        style={{ position: 'absolute', inset: 0, display: 'flex', flexDirection: 'column', alignItems: 'center', justifyContent: 'center', padding: 16 }}
      >
        {src ? (
          <img
            src={src}
            alt={t('wx.posterAlt')}
            data-testid="poster-image"
            style={{ maxWidth: '100%', maxHeight: '78vh', borderRadius: 8, WebkitTouchCallout: 'default', userSelect: 'auto' } as CSSProperties}
          />
        ) : (
          <div style={{ color: '#fff' }} role="status">
            {t('common.loading')}
          </div>
        )}
        <p style={{ color: '#fff', margin: '12px 0' }} data-testid="poster-hint">
          {t('wx.posterHint')}
        </p>
        <Button size="small" onClick={onClose} data-testid="poster-close">
          {t('wx.posterClose')}
        </Button>
      </div>
    </Mask>
  );
}
