import { describe, expect, test } from 'vitest';
import { formatSize, fresh, isImage, thumbSize } from './files';
import type { Attachment } from './types';

const a = (more: Partial<Attachment>): Attachment => ({
  id: 'u_1',
  name: 'x.png',
  size: 1,
  contentType: 'image/png',
  url: '/api/uploads/u_1?exp=1&sig=s',
  ...more,
});

describe('sizes', () => {
  test('in the largest unit under 1024, one decimal below 10', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023, 'en')).toBe('1,023 B');
    expect(formatSize(1024, 'en')).toBe('1 KB');
    expect(formatSize(48213, 'en')).toBe('47 KB');
    expect(formatSize(1.25 * 1024 * 1024, 'en')).toBe('1.3 MB');
    expect(formatSize(10 * 1024 * 1024, 'en')).toBe('10 MB');
    expect(formatSize(3 * 1024 ** 4, 'en')).toBe('3,072 GB');
  });
  test("in the language's number format and units", () => {
    expect(formatSize(1.5 * 1024 * 1024, 'de')).toBe('1,5 MB');
    expect(formatSize(1.5 * 1024 * 1024, 'fr', ['o', 'ko', 'Mo', 'Go'])).toBe('1,5 Mo');
  });
});

describe('signed paths', () => {
  const now = Date.UTC(2026, 0, 1);
  const path = (exp: number) => `/api/uploads/u_1?exp=${exp}&sig=abc`;
  test('are fresh until half a minute before their exp', () => {
    expect(fresh(path(now / 1000 + 600), now)).toBe(true);
    expect(fresh(path(now / 1000 + 31), now)).toBe(true);
    expect(fresh(path(now / 1000 + 29), now)).toBe(false);
    expect(fresh(path(now / 1000 - 5), now)).toBe(false);
  });
  test('without an exp, or none at all, are not', () => {
    expect(fresh('/api/uploads/u_1', now)).toBe(false);
    expect(fresh(undefined, now)).toBe(false);
  });
});

describe('thumbnails', () => {
  test('images with a thumbnail show inline; others as a chip', () => {
    expect(isImage(a({ thumbnailUrl: '/api/uploads/u_1/thumbnail?exp=1&sig=s' }))).toBe(true);
    // an image too large to thumbnail, or a PDF
    expect(isImage(a({ width: 20000, height: 20000 }))).toBe(false);
    expect(isImage(a({ contentType: 'application/pdf' }))).toBe(false);
  });
  test('keep their proportions within the box, never enlarged', () => {
    expect(thumbSize(a({ width: 1280, height: 720 }), 200)).toEqual([200, 113]);
    expect(thumbSize(a({ width: 300, height: 1200 }), 200)).toEqual([50, 200]);
    expect(thumbSize(a({ width: 40, height: 30 }), 200)).toEqual([40, 30]);
    expect(thumbSize(a({}), 200)).toBeUndefined();
  });
});
