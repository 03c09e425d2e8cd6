import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { humanSize, instagramMediaKind, linkFallbackText, mediaFit, MIB, whatsAppMediaKind } from './channel-media.ts';

describe('channel media: kinds, limits and the link fallback text', () => {
  test('WhatsApp: only the types the Cloud API takes as image/video/audio go as such, anything else as a document', () => {
    const cases: Array<[string | undefined, string]> = [
      ['image/jpeg', 'image'],
      ['IMAGE/PNG; charset=binary', 'image'],
      ['image/webp', 'document'],
      ['image/gif', 'document'],
      ['video/mp4', 'video'],
      ['video/quicktime', 'document'],
      ['audio/mpeg', 'audio'],
      ['audio/wav', 'document'],
      ['application/pdf', 'document'],
      ['constructor', 'document'],
      [undefined, 'document'],
    ];
    for (const [type, kind] of cases) assert.equal(whatsAppMediaKind(type), kind, String(type));
  });

  test('Instagram: image/video/audio as Meta lists them, anything else as a file', () => {
    const cases: Array<[string | undefined, string]> = [
      ['image/gif', 'image'],
      ['image/webp', 'file'],
      ['video/quicktime', 'video'],
      ['audio/wav', 'audio'],
      ['audio/mpeg', 'file'],
      ['application/zip', 'file'],
      ['toString', 'file'],
      [undefined, 'file'],
    ];
    for (const [type, kind] of cases) assert.equal(instagramMediaKind(type), kind, String(type));
  });

  test('limits per channel and kind, the limit itself included', () => {
    const cases: Array<[Parameters<typeof mediaFit>, { kind: string; limitBytes: number; fits: boolean }]> = [
      [['whatsapp', 'image/png', 5 * MIB], { kind: 'image', limitBytes: 5 * MIB, fits: true }],
      [['whatsapp', 'image/png', 5 * MIB + 1], { kind: 'image', limitBytes: 5 * MIB, fits: false }],
      [['whatsapp', 'video/mp4', 16 * MIB + 1], { kind: 'video', limitBytes: 16 * MIB, fits: false }],
      [['whatsapp', 'audio/ogg', 16 * MIB], { kind: 'audio', limitBytes: 16 * MIB, fits: true }],
      [['whatsapp', 'application/pdf', 100 * MIB], { kind: 'document', limitBytes: 100 * MIB, fits: true }],
      [['whatsapp', 'application/zip', 100 * MIB + 1], { kind: 'document', limitBytes: 100 * MIB, fits: false }],
      // A webp goes as a document on WhatsApp, so it gets the document's limit, not the image's.
      [['whatsapp', 'image/webp', 20 * MIB], { kind: 'document', limitBytes: 100 * MIB, fits: true }],
      [['instagram', 'image/jpeg', 8 * MIB], { kind: 'image', limitBytes: 8 * MIB, fits: true }],
      [['instagram', 'image/jpeg', 8 * MIB + 1], { kind: 'image', limitBytes: 8 * MIB, fits: false }],
      [['instagram', 'video/mp4', 25 * MIB + 1], { kind: 'video', limitBytes: 25 * MIB, fits: false }],
      [['instagram', 'application/pdf', 25 * MIB], { kind: 'file', limitBytes: 25 * MIB, fits: true }],
    ];
    for (const [args, expected] of cases) assert.deepEqual(mediaFit(...args), expected, args.join(' '));
  });

  test('sizes for people', () => {
    assert.equal(humanSize(12), '12 B');
    assert.equal(humanSize(800 * 1024), '800 KB');
    assert.equal(humanSize(20 * MIB), '20 MB');
    assert.equal(humanSize(20.5 * MIB), '20.5 MB');
  });

  test('the fallback text has the caption, the name, the size and the whole link', () => {
    const url = 'https://s3.example/chat4all-files/f?X-Amz-Signature=abc';
    assert.equal(
      linkFallbackText('whatsapp', { filename: 'clip.mp4', size: 20 * MIB, caption: 'Our launch' }, url),
      `Our launch\n\n📎 clip.mp4 (20 MB): ${url}`,
    );
    assert.equal(linkFallbackText('instagram', { filename: 'clip.mp4', size: 20 * MIB }, url), `📎 clip.mp4 (20 MB): ${url}`);
    assert.equal(linkFallbackText('instagram', { filename: 'clip.mp4', size: 20 * MIB, caption: '   ' }, url), `📎 clip.mp4 (20 MB): ${url}`);
  });

  test('a caption too long for the channel is shortened, never the link: Instagram counts UTF-8 bytes, WhatsApp characters', () => {
    const url = `https://s3.example/${'x'.repeat(600)}`;
    const ig = linkFallbackText('instagram', { filename: 'a.mov', size: 30 * MIB, caption: '€'.repeat(300) }, url);
    assert.ok(Buffer.byteLength(ig, 'utf8') <= 1000, `${Buffer.byteLength(ig, 'utf8')} bytes`);
    assert.ok(ig.endsWith(url));
    assert.match(ig, /^€+…\n\n📎 a\.mov/);
    const wa = linkFallbackText('whatsapp', { filename: 'a.mp4', size: 30 * MIB, caption: '😀'.repeat(4000) }, url);
    assert.ok([...wa].length <= 4096);
    assert.ok(wa.endsWith(url));
    const fits = linkFallbackText('whatsapp', { filename: 'a.mp4', size: 30 * MIB, caption: '😀'.repeat(1024) }, url);
    assert.ok(fits.startsWith('😀'.repeat(1024) + '\n\n'), 'a caption that fits is whole');
  });
});
