import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

/**
 * The smallest i18n that does the job: one dictionary per language, Chinese the default,
 * English the alternative, the choice remembered in localStorage (shared by the console and the
 * portal, which live on the same origin). The English dictionary must carry every key of the
 * Chinese one: the type says so.
 */
export type Lang = 'zh-CN' | 'en';
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];
export const LANG_STORAGE_KEY = 'fenxiao.lang';

export type Params = Record<string, string | number>;

export interface I18n<K extends string> {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: K, params?: Params): string;
}

export function readStoredLang(): Lang {
  try {
    const stored = window.localStorage.getItem(LANG_STORAGE_KEY);
    return stored === 'en' || stored === 'zh-CN' ? stored : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

export function interpolate(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function createI18n<D extends Record<string, string>>(dictionaries: { 'zh-CN': D; en: { [K in keyof D]: string } }) {
  type Key = Extract<keyof D, string>;
  const Context = createContext<I18n<Key> | null>(null);

  function I18nProvider({ children }: { children: ReactNode }) {
    const [lang, setLangState] = useState<Lang>(readStoredLang);
    useEffect(() => {
      document.documentElement.lang = lang;
    }, [lang]);
    const setLang = useCallback((next: Lang) => {
      try {
        window.localStorage.setItem(LANG_STORAGE_KEY, next);
      } catch {
        /* private mode: the choice lasts this page */
      }
      setLangState(next);
    }, []);
    const t = useCallback(
      (key: Key, params?: Params) => {
        const dict = dictionaries[lang] as Record<string, string>;
        return interpolate(dict[key] ?? (dictionaries['zh-CN'] as Record<string, string>)[key] ?? key, params);
      },
      [lang],
    );
    const value = useMemo(() => ({ lang, setLang, t }), [lang, setLang, t]);
    return <Context.Provider value={value}>{children}</Context.Provider>;
  }

  function useI18n(): I18n<Key> {
    const value = useContext(Context);
    if (!value) throw new Error('useI18n outside I18nProvider');
    return value;
  }

  return { I18nProvider, useI18n };
}
