import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { call, startReceiver, startSim, TEST_TOKEN, waitFor, webhooksIdle, waMessages, igEvents } from './test-support.ts';

const bearer = { authorization: `Bearer ${TEST_TOKEN}` };

describe('inbound messages of every type', () => {
  test('WhatsApp image: the webhook carries the media id, mime type, sha256 and caption; the media API serves the bytes with the token', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url } });
    try {
      const content = Buffer.from('a tiny jpeg, honestly');
      const res = await call('POST', `${run.url}/_sim/inbound`, {
        channel: 'whatsapp',
        from: '5511977776666',
        type: 'image',
        caption: 'a praia',
        mime_type: 'image/jpeg',
        content_base64: content.toString('base64'),
      });
      assert.equal(res.status, 202);
      const sha256 = createHash('sha256').update(content).digest('hex');
      assert.equal(res.body.sha256, sha256);
      const hook = await waitFor('the inbound webhook', () => receiver.requests[0]);
      const [message] = hook.body.entry[0].changes[0].value.messages;
      assert.equal(message.type, 'image');
      assert.deepEqual(message.image, { mime_type: 'image/jpeg', sha256, id: res.body.media_id, caption: 'a praia' });

      const meta = await call('GET', `${run.url}/v21.0/${res.body.media_id}`, undefined, bearer);
      assert.equal(meta.status, 200);
      assert.equal(meta.body.sha256, sha256);
      assert.equal(meta.body.file_size, content.length);
      assert.equal(meta.body.mime_type, 'image/jpeg');
      assert.equal((await fetch(meta.body.url)).status, 401, 'WhatsApp media needs the token');
      const download = await fetch(meta.body.url, { headers: bearer });
      assert.equal(download.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), content);
      assert.equal((await call('GET', `${run.url}/v21.0/123456789012345`, undefined, bearer)).status, 404);
      assert.equal((await call('GET', `${run.url}/v21.0/${res.body.media_id}`)).status, 401);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('WhatsApp document, reaction (and its removal), edit, revoke, location and unsupported, in the real shapes', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url } });
    try {
      const from = '5511977776666';
      const bodies = [
        { type: 'document', filename: 'contrato.pdf', caption: 'assinado', size: 2048 },
        { type: 'reaction', target: 'wamid.OURS', emoji: '👍' },
        { type: 'reaction', target: 'wamid.OURS' },
        { type: 'edit', target: 'wamid.EARLIER', text: 'corrigido' },
        { type: 'deleted', target: 'wamid.EARLIER' },
        { type: 'location', latitude: -23.55, longitude: -46.63 },
        { type: 'unsupported' },
      ];
      for (const b of bodies) assert.equal((await call('POST', `${run.url}/_sim/inbound`, { channel: 'whatsapp', from, ...b })).status, 202);
      await webhooksIdle(run);
      const messages = waMessages(receiver.requests);
      assert.deepEqual(messages.map((m) => m.type), ['document', 'reaction', 'reaction', 'edit', 'revoke', 'location', 'unsupported']);
      assert.equal(messages[0].document.filename, 'contrato.pdf');
      assert.equal(messages[0].document.mime_type, 'application/pdf');
      assert.deepEqual(messages[1].reaction, { message_id: 'wamid.OURS', emoji: '👍' });
      assert.deepEqual(messages[2].reaction, { message_id: 'wamid.OURS' });
      assert.deepEqual(messages[3].edit, { original_message_id: 'wamid.EARLIER', message: { type: 'text', text: { body: 'corrigido' } } });
      assert.deepEqual(messages[4].revoke, { original_message_id: 'wamid.EARLIER' });
      assert.deepEqual(messages[5].location, { latitude: -23.55, longitude: -46.63 });
      assert.equal(messages[6].errors[0].code, 131051);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('Instagram attachment, reaction, edit, unsend and unsupported; the attachment URL serves the bytes', async () => {
    const receiver = await startReceiver();
    const run = await startSim({ webhookUrls: { instagram: receiver.url } });
    try {
      const image = await call('POST', `${run.url}/_sim/inbound`, { channel: 'instagram', from: 'IGSID42', name: 'Ivo Santos', type: 'image', size: 300 });
      assert.equal(image.status, 202);
      // Instagram webhooks carry no name: the User Profile API answers it, with the token.
      const profile = await call('GET', `${run.url}/v21.0/IGSID42?fields=name,username`, undefined, bearer);
      assert.deepEqual(profile.body, { name: 'Ivo Santos', username: 'ivo_santos', id: 'IGSID42' });
      assert.equal((await call('GET', `${run.url}/v21.0/IGSID42?fields=name`)).status, 401);
      for (const b of [
        { type: 'reaction', target: image.body.id, emoji: '❤️' },
        { type: 'edit', target: 'mid.EARLIER', text: 'um' },
        { type: 'edit', target: 'mid.EARLIER', text: 'dois' },
        { type: 'deleted', target: 'mid.EARLIER' },
        { type: 'unsupported' },
      ]) {
        assert.equal((await call('POST', `${run.url}/_sim/inbound`, { channel: 'instagram', from: 'IGSID42', ...b })).status, 202);
      }
      await webhooksIdle(run);
      const events = igEvents(receiver.requests);
      assert.deepEqual(events[0].message.attachments, [{ type: 'image', payload: { url: image.body.media_url } }]);
      const bytes = Buffer.from(await (await fetch(image.body.media_url)).arrayBuffer());
      assert.equal(bytes.length, 300);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), image.body.sha256);
      assert.deepEqual(events[1].reaction, { mid: image.body.id, action: 'react', reaction: 'other', emoji: '❤️' });
      assert.deepEqual([events[2].message_edit, events[3].message_edit], [
        { mid: 'mid.EARLIER', text: 'um', num_edit: 1 },
        { mid: 'mid.EARLIER', text: 'dois', num_edit: 2 },
      ]);
      assert.deepEqual(events[4].message, { mid: 'mid.EARLIER', is_deleted: true });
      assert.equal(events[5].message.is_unsupported, true);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('refuses what a type needs and lacks, and what Instagram never sends, field by field', async () => {
    const run = await startSim({ webhookUrls: { whatsapp: 'http://127.0.0.1:9/wa', instagram: 'http://127.0.0.1:9/ig' } });
    try {
      const fields = async (body: unknown) => {
        const res = await call('POST', `${run.url}/_sim/inbound`, body);
        assert.equal(res.status, 400);
        return res.body.errors.map((e: { field: string }) => e.field).sort();
      };
      assert.deepEqual(await fields({ channel: 'whatsapp', from: '5511977776666' }), ['text']);
      assert.deepEqual(await fields({ channel: 'whatsapp', from: '5511977776666', type: 'reaction' }), ['target']);
      assert.deepEqual(await fields({ channel: 'whatsapp', from: '5511977776666', type: 'location' }), ['latitude', 'longitude']);
      assert.deepEqual(await fields({ channel: 'whatsapp', from: '5511977776666', text: 'x', caption: 'y' }), ['caption']);
      assert.deepEqual(await fields({ channel: 'instagram', from: 'IG', type: 'sticker' }), ['type']);
    } finally {
      await run.stop();
    }
  });

  test('duplicate and shuffled apply to inbound streams: every message arrives twice, not in the order written, timestamps kept', async () => {
    const receiver = await startReceiver();
    // A fixed sequence of "random" numbers, so the test does not depend on luck: the first message
    // written waits longest (1.8 s), the last one least, half a second apart (room for a slow machine).
    let n = 0;
    const run = await startSim({ webhookUrls: { instagram: receiver.url }, random: () => [0.9, 0.85, 0.65, 0.6, 0.4, 0.35, 0.0, 0.05][n++ % 8]! });
    try {
      await call('POST', `${run.url}/_sim/config`, { order: 'shuffled', duplicate: true, inbound_shuffle_ms: 2000 });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await call('POST', `${run.url}/_sim/inbound`, { channel: 'instagram', from: 'IGSID42', text: `m${i}`, timestamp_ms: 1_700_000_000_000 + i * 1000 });
        ids.push(res.body.id);
      }
      await webhooksIdle(run);
      const arrived = igEvents(receiver.requests);
      assert.equal(arrived.length, 8);
      for (const id of ids) assert.equal(arrived.filter((e) => e.message.mid === id).length, 2, 'each twice');
      const firstSeen = [...new Set(arrived.map((e) => e.message.mid))];
      assert.notDeepEqual(firstSeen, ids, 'not in the order written');
      for (const e of arrived) assert.equal(e.timestamp, 1_700_000_000_000 + Number(e.message.text.slice(1)) * 1000);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });

  test('an inbound webhook that is not answered 2xx is retried until it is', async () => {
    const receiver = await startReceiver((n) => (n <= 2 ? 503 : 200));
    const run = await startSim({ webhookUrls: { whatsapp: receiver.url } });
    try {
      const res = await call('POST', `${run.url}/_sim/inbound`, { channel: 'whatsapp', from: '5511977776666', text: 'are you there?' });
      await webhooksIdle(run);
      assert.equal(receiver.requests.length, 3);
      for (const m of waMessages(receiver.requests)) assert.equal(m.id, res.body.id);
      assert.equal((await call('GET', `${run.url}/_sim/stats`)).body.whatsapp.webhooks.sent, 1);
    } finally {
      await run.stop();
      await receiver.close();
    }
  });
});
