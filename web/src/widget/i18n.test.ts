import { describe, expect, test } from 'vitest';
import { catalogues, LANGUAGES, pickLanguage, type Strings, type When } from './i18n';

describe('pickLanguage', () => {
  test('takes the first language the widget speaks, by its primary subtag', () => {
    expect(pickLanguage(['de-AT', 'en'])).toBe('de');
    expect(pickLanguage(['pt-BR'])).toBe('pt');
    expect(pickLanguage(['fr-CA', 'de'])).toBe('fr');
    expect(pickLanguage(['ES'])).toBe('es');
    expect(pickLanguage(['zh-CN', 'nl', 'pt-PT', 'en'])).toBe('pt');
  });
  test('falls back to English when none is spoken, or none is known', () => {
    expect(pickLanguage(['zh'])).toBe('en');
    expect(pickLanguage(['zh-Hant-TW', 'ja'])).toBe('en');
    expect(pickLanguage([])).toBe('en');
    expect(pickLanguage(undefined)).toBe('en');
  });
});

describe('catalogues', () => {
  const when: When[] = (['today', 'tomorrow', 'weekday', 'date'] as const).map((kind) => ({
    kind,
    time: '9:00',
    hour: 9,
    day: 'X',
    weekday: 1,
  }));
  for (const lang of LANGUAGES) {
    test(`${lang}: every text is non-empty`, () => {
      const t = catalogues[lang];
      for (const [k, v] of Object.entries(t) as [keyof Strings, Strings[keyof Strings]][]) {
        const texts =
          k === 'when'
            ? when.map((w) => t.when(w))
            : typeof v === 'function'
              ? [(v as (x: any) => string)(k === 'openChatUnread' ? 3 : 'X')]
              : [v];
        for (const s of texts) expect(s.trim(), `${lang}.${k}`).not.toBe('');
      }
      expect(t.typing('')).not.toMatch(/^\s/); // a default name when the server gave none
      expect(t.fileTooLarge('')).not.toMatch(/\(\)|:\s*\.|\s\./); // no limit known: no empty slot for it
      expect(t.fileTooLarge('10 MB')).toContain('10 MB');
      expect(t.units.split(' ').length).toBe(4);
      for (const w of when) expect(t.when(w)).toContain('9:00');
    });
  }
  test('every catalogue has the same keys as English', () => {
    const keys = Object.keys(catalogues.en).sort();
    for (const lang of LANGUAGES) expect(Object.keys(catalogues[lang]).sort(), lang).toEqual(keys);
  });
});
