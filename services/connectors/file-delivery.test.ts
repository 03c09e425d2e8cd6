import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FileRecord } from '../core/ports/file-store.ts';
import { MIB } from './channel-media.ts';
import { planFileSend, type FileDeliveryDeps } from './file-delivery.ts';
import { ProviderError } from './provider-error.ts';

const file = (over: Partial<FileRecord> = {}): FileRecord => ({
  file_id: 'fil_1',
  uploader_id: 'u1',
  conversation_id: 'c1',
  filename: 'clip.mp4',
  content_type: 'video/mp4',
  size: 1000,
  sha256: 'a'.repeat(64),
  part_size: 8 * MIB,
  part_count: 1,
  object_key: 'files/fil_1',
  upload_id: 'up',
  state: 'ready',
  created_at: '2026-01-01T00:00:00.000Z',
  expires_at: '2026-01-02T00:00:00.000Z',
  ...over,
});

/** Deps over one file record; presigned URLs carry their expiry and, like S3's, the file name when given. */
function deps(record: FileRecord | null) {
  const presigned: Array<{ key: string; expiry: number; filename?: string }> = [];
  const d: FileDeliveryDeps = {
    files: { getFile: async (id) => (record && record.file_id === id ? record : null) },
    objects: {
      presignGet: async (key, expiry, options = {}) => {
        presigned.push({ key, expiry, ...(options.filename ? { filename: options.filename } : {}) });
        const disposition = options.filename ? `&response-content-disposition=${encodeURIComponent(options.filename).repeat(2)}` : '';
        return `https://s3.example/b/${key}?X-Amz-Expires=${expiry}${disposition}&X-Amz-Signature=${'f'.repeat(64)}`;
      },
    },
    providerUrlTtlSeconds: 3600,
    linkFallbackTtlSeconds: 604_800,
  };
  return { d, presigned };
}

const permanent = (code: string) => (err: unknown) => err instanceof ProviderError && err.code === code && err.retriable === false;

describe('planFileSend', () => {
  test('a file within the limit goes as media, linked for FILE_PROVIDER_URL_TTL, with its caption, name and type', async () => {
    const { d, presigned } = deps(file());
    const plan = await planFileSend(d, 'whatsapp', 'c1', { file_id: 'fil_1', caption: 'Launch' });
    assert.equal(plan.as, 'media');
    assert.deepEqual(plan.as === 'media' && { ...plan.file, url: undefined }, { url: undefined, filename: 'clip.mp4', mime_type: 'video/mp4', caption: 'Launch' });
    assert.deepEqual(presigned, [{ key: 'files/fil_1', expiry: 3600, filename: 'clip.mp4' }]);
  });

  test('over the limit: a text with the caption and a link for FILE_LINK_FALLBACK_TTL, and the fallback to note', async () => {
    const { d, presigned } = deps(file({ size: 16 * MIB + 1 }));
    const plan = await planFileSend(d, 'whatsapp', 'c1', { file_id: 'fil_1', caption: 'Launch' });
    assert.equal(plan.as, 'link');
    if (plan.as !== 'link') return;
    assert.deepEqual(plan.fallback, { fallback: 'link', reason: 'over_channel_limit' });
    assert.match(plan.text, /^Launch\n\n📎 clip\.mp4 \(16 MB\): https:\/\/s3\.example\/b\/files\/fil_1\?X-Amz-Expires=604800/);
    assert.equal(plan.detail, 'video of 16777217 bytes; whatsapp takes at most 16777216 (16 MB)');
    assert.deepEqual(presigned.map((p) => p.expiry), [604_800]);
  });

  test('the same file fits Instagram (25 MB video) while it is over WhatsApp (16 MB)', async () => {
    const { d } = deps(file({ size: 20 * MIB }));
    assert.equal((await planFileSend(d, 'whatsapp', 'c1', { file_id: 'fil_1' })).as, 'link');
    assert.equal((await planFileSend(d, 'instagram', 'c1', { file_id: 'fil_1' })).as, 'media');
  });

  test('a link too long for Instagram with the file name in it is presigned again without the name', async () => {
    const long = `${'ü'.repeat(150)}.mov`;
    const { d, presigned } = deps(file({ size: 30 * MIB, filename: long, content_type: 'video/quicktime' }));
    const plan = await planFileSend(d, 'instagram', 'c1', { file_id: 'fil_1', caption: 'x' });
    assert.equal(plan.as, 'link');
    assert.ok(plan.as === 'link' && Buffer.byteLength(plan.text, 'utf8') <= 1000, 'within 1000 bytes');
    assert.deepEqual(presigned.map((p) => p.filename ?? null), [long, null]);
  });

  test('a missing file, another conversation\'s file and a file not ready are permanent errors', async () => {
    await assert.rejects(planFileSend(deps(null).d, 'whatsapp', 'c1', { file_id: 'fil_1' }), permanent('file_not_found'));
    await assert.rejects(planFileSend(deps(file()).d, 'whatsapp', 'c2', { file_id: 'fil_1' }), permanent('file_not_found'));
    for (const state of ['uploading', 'verifying', 'corrupt', 'expired'] as const) {
      await assert.rejects(planFileSend(deps(file({ state })).d, 'instagram', 'c1', { file_id: 'fil_1' }), permanent('file_not_ready'), state);
    }
  });
});
