import { createContext, createElement, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { createI18n, interpolate, type I18n, type Params } from '../../shared/i18n.tsx';
import { messages, type MessageKey } from './messages.ts';
import { wechatSafeEn, wechatSafeZh } from './messages-wechat-safe.ts';

const base = createI18n(messages);
export const I18nProvider = base.I18nProvider;

const SAFE = { 'zh-CN': wechatSafeZh, en: wechatSafeEn };

/** Whether the program runs under its WeChat-safe profile (GET /v1/me program_profile): then `t` answers the safe wording. */
const WordingContext = createContext<{ safe: boolean; setSafe: (safe: boolean) => void }>({ safe: false, setSafe: () => undefined });

export function WordingProvider({ children }: { children: ReactNode }) {
  const [safe, setSafe] = useState(false);
  const value = useMemo(() => ({ safe, setSafe }), [safe]);
  return createElement(WordingContext.Provider, { value }, children);
}

export function useWording() {
  return useContext(WordingContext);
}

/** The portal's messages, in the wording of the program's profile. */
export function useI18n(): I18n<MessageKey> {
  const i = base.useI18n();
  const { safe } = useContext(WordingContext);
  const t = useCallback(
    (key: MessageKey, params?: Params) => {
      const text = safe ? SAFE[i.lang][key] : undefined;
      return text === undefined ? i.t(key, params) : interpolate(text, params);
    },
    [i, safe],
  );
  return useMemo(() => ({ ...i, t }), [i, t]);
}
