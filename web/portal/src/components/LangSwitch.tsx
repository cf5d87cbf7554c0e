import { Button } from 'antd-mobile';
import { useI18n } from '../i18n.ts';

export function LangSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <Button size="mini" fill="none" aria-label={t('lang.label')} data-testid="lang-switch" onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>
      {t('lang.switchTo')}
    </Button>
  );
}
