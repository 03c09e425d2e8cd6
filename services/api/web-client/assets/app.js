// @ts-check
/* global document, FormData, sessionStorage, WebSocket, fetch, crypto, setTimeout, clearTimeout, atob */
// The Chat4All web client: plain browser JavaScript, no framework, no build step. The API serves
// it at /app (docs/web-client.md is its story; docs/realtime.md the protocol it speaks).

const RANK = { SENT: 1, DELIVERED: 2, READ: 3 };
const TICKS = { PENDING: '🕓', SENT: '✓', DELIVERED: '✓✓', READ: '✓✓', FAILED: '!' };

/** @type {{ gateway_url: string }} */
let config = { gateway_url: '' };

const state = {
  /** @type {string | null} */ token: null,
  /** @type {string} */ me: '',
  /** @type {Map<string, any>} */ conversations: new Map(),
  /** messages per conversation, by message id @type {Map<string, Map<string, any>>} */ messages: new Map(),
  /** the last seq seen per conversation: what a reconnect resumes from @type {Record<string, number>} */ cursors: {},
  /** @type {Map<string, {online: boolean, last_seen?: string}>} */ presence: new Map(),
  /** @type {string | null} */ open: null,
  /** messages this page already told the gateway it read @type {Set<string>} */ readSent: new Set(),
  /** @type {WebSocket | null} */ ws: null,
  ready: false,
  everReady: false,
  attempt: 0,
  /** @type {ReturnType<typeof setTimeout> | null} */ retry: null,
  /** @type {Map<string, ReturnType<typeof setTimeout>>} */ typing: new Map(),
  lastTypingSent: 0,
};

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const short = (/** @type {string} */ id) => (id === state.me ? 'you' : String(id).slice(0, 8));

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; an http page elsewhere than localhost is not one.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The claims of our JWT (the API verifies it; we only want `sub` and `exp`). */
function claims(/** @type {string} */ token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return {};
  }
}

/** One API call; throws an Error with the problem's detail (and each bad field) on failure. */
async function api(/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body) {
  const res = await fetch(path, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(state.token ? { authorization: `Bearer ${state.token}` } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && state.token) logout('Your session ended: log in again.');
    const fields = (data?.errors ?? []).map((/** @type {any} */ e) => `${e.field}: ${e.message}`);
    throw new Error([data?.detail ?? `${res.status}`, ...fields].join('\n'));
  }
  return data;
}

// ---- rendering helpers: every text goes through textContent, never HTML ----

function el(/** @type {string} */ tag, /** @type {Record<string, string>} */ attrs = {}, /** @type {(Node|string)[]} */ children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function dot(/** @type {string} */ userId) {
  return el('span', { class: 'dot', 'data-online': String(state.presence.get(userId)?.online === true), 'data-user': userId, title: presenceText(userId) });
}

function presenceText(/** @type {string} */ userId) {
  const p = state.presence.get(userId);
  if (!p) return 'presence unknown';
  return p.online ? 'online' : `offline${p.last_seen ? `, last seen ${new Date(p.last_seen).toLocaleString()}` : ''}`;
}

function title(/** @type {any} */ c) {
  if (c.name) return c.name;
  const others = c.members.filter((/** @type {string} */ m) => m !== state.me);
  return c.type === 'private' ? `Chat with ${short(others[0] ?? '?')}` : `Group of ${c.members.length}`;
}

/** The message's status for its sender: the least advanced recipient, each at its best channel. */
function summary(/** @type {any} */ m) {
  if (m.pending) return m.failed ? 'FAILED' : 'PENDING';
  const best = new Map();
  for (const d of m.deliveries ?? []) {
    const r = d.status === 'FAILED' ? 0 : (RANK[/** @type {'SENT'} */ (d.status)] ?? 1);
    best.set(d.recipient_id, Math.max(best.get(d.recipient_id) ?? -1, r));
  }
  if (best.size === 0) return 'SENT';
  const least = Math.min(...best.values());
  return least === 0 ? 'FAILED' : least === 3 ? 'READ' : least === 2 ? 'DELIVERED' : 'SENT';
}

function unreadCount(/** @type {string} */ convId) {
  let n = 0;
  for (const m of state.messages.get(convId)?.values() ?? []) {
    if (m.sender_id !== state.me && !state.readSent.has(m.message_id) && !isReadByMe(m)) n += 1;
  }
  return n;
}

const isReadByMe = (/** @type {any} */ m) => (m.deliveries ?? []).some((/** @type {any} */ d) => d.recipient_id === state.me && d.status === 'READ');

function renderConversations() {
  const list = $('conversations');
  list.replaceChildren();
  const sorted = [...state.conversations.values()].sort((a, b) => lastActivity(b).localeCompare(lastActivity(a)));
  for (const c of sorted) {
    const others = c.members.filter((/** @type {string} */ m) => m !== state.me);
    const unread = unreadCount(c.conversation_id);
    const li = el('li', { 'data-conversation-id': c.conversation_id, 'aria-current': String(state.open === c.conversation_id), tabindex: '0' }, [
      others.length === 1 ? dot(others[0]) : el('span', { class: 'dot' }),
      el('span', { class: 'title' }, [title(c)]),
      ...(unread ? [el('span', { class: 'unread' }, [String(unread)])] : []),
    ]);
    li.addEventListener('click', () => openConversation(c.conversation_id));
    li.addEventListener('keydown', (e) => e.key === 'Enter' && openConversation(c.conversation_id));
    list.append(li);
  }
  if (sorted.length === 0) list.append(el('li', { class: 'hint' }, ['No conversations yet.']));
}

function lastActivity(/** @type {any} */ c) {
  let at = c.created_at;
  for (const m of state.messages.get(c.conversation_id)?.values() ?? []) if (m.created_at > at) at = m.created_at;
  return at;
}

function renderHeader() {
  const c = state.open ? state.conversations.get(state.open) : null;
  const header = $('conversation-header');
  if (!c) return header.replaceChildren(el('p', { class: 'hint' }, ['Choose a conversation.']));
  header.replaceChildren(
    el('h2', {}, [title(c)]),
    el(
      'div',
      { class: 'members' },
      c.members.map((/** @type {string} */ m) => el('span', { 'data-member': m }, [dot(m), `${short(m)}${m === state.me ? '' : ` (${presenceText(m)})`}`])),
    ),
  );
}

function renderMessages() {
  const list = $('messages');
  if (!state.open) return list.replaceChildren();
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const ordered = [...(state.messages.get(state.open)?.values() ?? [])].sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.created_at.localeCompare(b.created_at));
  list.replaceChildren(
    ...ordered.map((m) => {
      const mine = m.sender_id === state.me;
      const status = summary(m);
      const meta = [el('span', {}, [mine ? 'you' : short(m.sender_id)]), el('time', { datetime: m.created_at }, [new Date(m.created_at).toLocaleTimeString()])];
      if (mine) meta.push(el('span', { class: 'tick', 'data-status': status, title: status.toLowerCase() }, [TICKS[/** @type {'SENT'} */ (status)]]));
      const text = payloadLine(m.payload);
      const li = el('li', { class: mine ? 'mine' : 'theirs', 'data-message-id': m.message_id, 'data-seq': String(m.seq ?? ''), 'data-status': status }, [
        el('div', { class: 'text' }, [text]),
        el('div', { class: 'meta' }, meta),
      ]);
      if (m.failed) li.addEventListener('click', () => send(m.conversation_id, m.payload.text, m.message_id));
      return li;
    }),
  );
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function renderTyping() {
  const who = [...state.typing.keys()].filter((k) => k.startsWith(`${state.open}:`)).map((k) => short(k.split(':')[1]));
  $('typing').textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
}

function setConnection(/** @type {'online'|'connecting'|'offline'} */ s, /** @type {string} */ text = s) {
  const c = $('connection');
  c.dataset.state = s;
  c.textContent = text;
}

// ---- messages: history over REST, live over the gateway, both merged by message id ----

function upsert(/** @type {any} */ m) {
  let conv = state.messages.get(m.conversation_id);
  if (!conv) state.messages.set(m.conversation_id, (conv = new Map()));
  const prev = conv.get(m.message_id);
  conv.set(m.message_id, { ...prev, ...m, deliveries: mergeDeliveries(prev?.deliveries ?? [], m.deliveries ?? []), pending: false, failed: false });
  if (typeof m.seq === 'number' && m.seq > (state.cursors[m.conversation_id] ?? 0)) state.cursors[m.conversation_id] = m.seq;
}

/**
 * Deliveries from two sources (a REST page, status frames) merged per recipient and channel,
 * forward-only: an older answer never takes a tick back.
 */
function mergeDeliveries(/** @type {any[]} */ a, /** @type {any[]} */ b) {
  const out = new Map(a.map((d) => [`${d.recipient_id}/${d.channel}`, { ...d }]));
  for (const d of b) {
    const key = `${d.recipient_id}/${d.channel}`;
    const cur = out.get(key);
    if (!cur || d.status === 'FAILED' || (RANK[/** @type {'SENT'} */ (d.status)] ?? 0) > (RANK[/** @type {'SENT'} */ (cur.status)] ?? 0)) out.set(key, { ...d });
  }
  return [...out.values()];
}

/** The whole history of a conversation (fetching also tells the API we received it). */
async function loadHistory(/** @type {string} */ convId) {
  // Cursor 0 for an empty conversation: what arrives while we are offline is replayed from the start.
  state.cursors[convId] ??= 0;
  let after = 0;
  for (;;) {
    const page = await api('GET', `/v1/conversations/${encodeURIComponent(convId)}/messages?limit=200&after_seq=${after}`);
    for (const m of page.messages) upsert(m);
    after = page.next_after_seq;
    if (!page.has_more) break;
  }
}

async function openConversation(/** @type {string} */ convId) {
  state.open = convId;
  $('composer').hidden = false;
  renderConversations();
  renderHeader();
  renderMessages();
  markRead();
  /** @type {HTMLInputElement} */ ($('composer').querySelector('input')).focus();
}

/** Tells the gateway we read every message of the open conversation we have not said so for yet. */
function markRead() {
  if (!state.open || document.visibilityState !== 'visible' || !state.ready || !state.ws) return;
  for (const m of state.messages.get(state.open)?.values() ?? []) {
    if (m.sender_id === state.me || state.readSent.has(m.message_id) || isReadByMe(m)) continue;
    state.ws.send(JSON.stringify({ type: 'read', message_id: m.message_id }));
    state.readSent.add(m.message_id);
  }
  renderConversations();
}

async function send(/** @type {string} */ convId, /** @type {string} */ text, messageId = uuid()) {
  $('send-error').textContent = '';
  const local = { message_id: messageId, conversation_id: convId, sender_id: state.me, seq: null, payload: { type: 'text', text }, created_at: new Date().toISOString(), deliveries: [] };
  const conv = state.messages.get(convId) ?? new Map();
  state.messages.set(convId, conv);
  if (!conv.get(messageId)?.seq) conv.set(messageId, { ...local, pending: true });
  renderMessages();
  try {
    // Our own message id: resending after a failure is the same message, never a second one.
    await api('POST', '/v1/messages', { message_id: messageId, conversation_id: convId, channels: ['all'], payload: { type: 'text', text } });
  } catch (err) {
    const m = conv.get(messageId);
    if (m?.pending) m.failed = true;
    $('send-error').textContent = `Not sent (click it to retry): ${/** @type {Error} */ (err).message}`;
  }
  renderMessages();
}

// ---- the gateway: first-frame auth, resume from cursors, ack, read, presence, typing ----

function connect() {
  if (!state.token || !config.gateway_url) return;
  state.ready = false;
  setConnection('connecting', state.attempt ? 'reconnecting…' : 'connecting…');
  const ws = new WebSocket(config.gateway_url);
  state.ws = ws;
  // Browsers cannot set headers on a WebSocket: the token goes in the first frame, never in the URL.
  ws.addEventListener('open', () => {
    ws.send(JSON.stringify({ type: 'auth', token: state.token }));
    // Every conversation we have seen resumes from its last seq, right behind the token (the gateway
    // holds live frames for it): it replays what we missed, in order, then goes live.
    ws.send(JSON.stringify({ type: 'resume', cursors: state.cursors }));
  });
  ws.addEventListener('message', (e) => {
    let f;
    try {
      f = JSON.parse(e.data);
    } catch {
      return;
    }
    onFrame(ws, f);
  });
  ws.addEventListener('close', (e) => {
    if (state.ws !== ws) return;
    state.ws = null;
    state.ready = false;
    if (e.code === 4401 || e.code === 4403) return logout('The gateway refused your session: log in again.');
    if (!state.token) return;
    const delay = Math.min(10000, 250 * 2 ** Math.min(state.attempt, 6)) * (0.5 + Math.random() / 2);
    state.attempt += 1;
    setConnection('offline', `offline — reconnecting in ${Math.ceil(delay / 1000)} s`);
    state.retry = setTimeout(connect, delay);
  });
}

function onFrame(/** @type {WebSocket} */ ws, /** @type {any} */ f) {
  switch (f.type) {
    case 'ready':
      // After a reconnect: the stream replays messages, not the statuses they took meanwhile (the
      // other side may have read ours). The history over REST has them; merged forward-only.
      if (state.everReady) void Promise.all([...state.conversations.keys()].map(loadHistory)).then(() => (renderMessages(), renderConversations()));
      state.everReady = true;
      state.ready = true;
      state.attempt = 0;
      setConnection('online', 'online');
      markRead();
      break;
    case 'message.created': {
      if (!state.conversations.has(f.conversation_id)) void refreshConversations();
      const had = state.messages.get(f.conversation_id)?.get(f.message_id);
      upsert({ message_id: f.message_id, conversation_id: f.conversation_id, seq: f.seq, sender_id: f.sender_id, payload: f.payload, created_at: f.created_at, deliveries: had?.deliveries ?? [] });
      if (f.delivery_id) ws.send(JSON.stringify({ type: 'ack', message_id: f.message_id }));
      state.typing.delete(`${f.conversation_id}:${f.sender_id}`);
      if (f.conversation_id === state.open) {
        renderMessages();
        renderTyping();
        markRead();
      }
      renderConversations();
      break;
    }
    case 'message.status': {
      const m = state.messages.get(f.conversation_id)?.get(f.message_id);
      if (!m) break;
      // Statuses never move backwards; a late DELIVERED after READ changes nothing.
      m.deliveries = mergeDeliveries(m.deliveries, [{ recipient_id: f.recipient_id, channel: f.channel, status: f.status, updated_at: f.at }]);
      if (f.conversation_id === state.open) renderMessages();
      break;
    }
    case 'presence':
      state.presence.set(f.user_id, { online: f.online, last_seen: f.last_seen });
      renderConversations();
      renderHeader();
      break;
    case 'typing': {
      if (f.user_id === state.me) break;
      const key = `${f.conversation_id}:${f.user_id}`;
      clearTimeout(state.typing.get(key));
      state.typing.set(key, setTimeout(() => (state.typing.delete(key), renderTyping()), 4000));
      renderTyping();
      break;
    }
    case 'resumed':
      for (const [convId, r] of Object.entries(f.conversations ?? {})) {
        // Too far behind for the gateway to replay: the history over REST has everything.
        if (/** @type {any} */ (r).recovered === false) void loadHistory(convId).then(() => (renderMessages(), renderConversations()));
      }
      break;
  }
}

// ---- session ----

/** Every conversation of the user: the list comes in pages, followed by `next_cursor` until it is null. */
async function allConversations() {
  /** @type {any[]} */
  const all = [];
  /** @type {string | null} */
  let cursor = null;
  do {
    const page = await api('GET', `/v1/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    all.push(...page.conversations);
    cursor = page.next_cursor ?? null;
  } while (cursor);
  return all;
}

async function refreshConversations() {
  const conversations = await allConversations();
  for (const c of conversations) state.conversations.set(c.conversation_id, c);
  // Histories first, then the stream: the cursors it resumes from are then where the histories end.
  await Promise.all(conversations.map((/** @type {any} */ c) => loadHistory(c.conversation_id)));
  renderConversations();
  renderHeader();
  renderMessages();
}

async function start(/** @type {string} */ token) {
  state.token = token;
  state.me = claims(token).sub ?? '';
  sessionStorage.setItem('chat4all.token', token);
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('logout').hidden = false;
  $('me').textContent = `signed in as ${sessionStorage.getItem('chat4all.username') ?? ''} (${state.me})`;
  await refreshConversations();
  connect();
}

function logout(/** @type {string} */ why = '') {
  state.token = null;
  sessionStorage.removeItem('chat4all.token');
  if (state.retry) clearTimeout(state.retry);
  const ws = state.ws;
  state.ws = null;
  ws?.close(1000, 'logout');
  Object.assign(state, { conversations: new Map(), messages: new Map(), cursors: {}, open: null, ready: false, everReady: false, attempt: 0 });
  state.presence.clear();
  state.readSent.clear();
  setConnection('offline');
  $('chat-view').hidden = true;
  $('logout').hidden = true;
  $('login-view').hidden = false;
  $('me').textContent = '';
  $('login-error').textContent = why;
}

async function login(/** @type {boolean} */ register) {
  const form = /** @type {HTMLFormElement} */ ($('login-form'));
  const data = new FormData(form);
  const username = String(data.get('username') ?? '');
  const password = String(data.get('password') ?? '');
  $('login-error').textContent = '';
  try {
    if (register) await api('POST', '/auth/register', { username, password });
    const { access_token } = await api('POST', '/auth/token', { username, password });
    sessionStorage.setItem('chat4all.username', username);
    form.reset();
    await start(access_token);
  } catch (err) {
    $('login-error').textContent = /** @type {Error} */ (err).message;
  }
}

async function main() {
  config = await (await fetch('/app/config.json')).json();
  $('login-form').addEventListener('submit', (e) => (e.preventDefault(), void login(false)));
  $('register').addEventListener('click', () => {
    const form = /** @type {HTMLFormElement} */ ($('login-form'));
    if (form.reportValidity()) void login(true);
  });
  $('logout').addEventListener('click', () => logout());
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('composer').querySelector('input'));
    const text = input.value.trim();
    if (!text || !state.open) return;
    input.value = '';
    void send(state.open, text);
  });
  $('composer').addEventListener('input', () => {
    if (!state.open || !state.ready || !state.ws || Date.now() - state.lastTypingSent < 2000) return;
    state.lastTypingSent = Date.now();
    state.ws.send(JSON.stringify({ type: 'typing', conversation_id: state.open }));
  });
  $('new-conversation').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.target);
    const data = new FormData(form);
    const members = String(data.get('members') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const name = String(data.get('name') ?? '').trim();
    $('new-error').textContent = '';
    try {
      const c = await api('POST', '/v1/conversations', { type: members.length === 1 && !name ? 'private' : 'group', members, ...(name ? { name } : {}) });
      state.conversations.set(c.conversation_id, c);
      form.reset();
      await openConversation(c.conversation_id);
    } catch (err) {
      $('new-error').textContent = /** @type {Error} */ (err).message;
    }
  });
  document.addEventListener('visibilitychange', markRead);

  const saved = sessionStorage.getItem('chat4all.token');
  if (saved && (claims(saved).exp ?? 0) * 1000 > Date.now()) await start(saved).catch(() => logout());
  else logout();
}

void main();

/**
 * One line for any payload: a text, a file, or what someone wrote on WhatsApp or Instagram
 * that is not a text (media, location, reaction…; docs/api.md).
 * @param {any} p
 * @returns {string}
 */
function payloadLine(p) {
  switch (p.type) {
    case 'text':
      return p.text;
    case 'file':
      return `[file ${p.file_id}]${p.caption ? ` ${p.caption}` : ''}`;
    case 'media':
      return `[${p.media?.kind ?? 'media'}${p.media?.filename ? `: ${p.media.filename}` : ''}]${p.caption ? ` ${p.caption}` : ''}`;
    case 'location':
      return `[location${p.name ? `: ${p.name}` : ''}] ${p.latitude}, ${p.longitude}`;
    case 'contacts':
      return `[contacts] ${(p.contacts ?? []).map((/** @type {{name: string}} */ c) => c.name).join(', ')}`;
    case 'reaction':
      return p.emoji ? `[reacted ${p.emoji} to a message]` : '[removed a reaction]';
    case 'edit':
      return `[edited a message] ${p.text}`;
    case 'deletion':
      return '[deleted a message]';
    default:
      return `[${p.type}${p.reason ? `: ${p.reason}` : ''}]`;
  }
}
