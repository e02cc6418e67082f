// Demo of tether's chat channels with the tether-client browser bundle: two users in a direct chat
// (`dm:{a}:{b}`, a < b, needs no creation), the recent messages (history) then live ones (subscribe
// with since_id), a typing indicator, ✓ / ✓✓ / blue ✓✓ ticks on one's own messages (sent, delivered,
// read), and the users online (the `online` channel).
//
// Identity: ?token=... (from `tetherd token USER --name NAME`), like the create-post demo; on a
// development server with auth.insecure_user_id, ?user=USER instead. The other user: ?peer=USER (or
// ?chat=CHAT_ID for a chat made with POST /api/chats).
import { TetherClient, newClientMsgId } from '/demo/chat/tether-client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get('token') ?? undefined;
const insecureUser = token ? null : params.get('user');
const peer = params.get('peer');
const chatParam = params.get('chat');
const USER_ID = /^[A-Za-z0-9_.@-]{1,128}$/;
const PAGE = 50;
/** A typing: true is repeated this often while the user keeps typing, and ends after IDLE without keys. */
const TYPING_REPEAT_MS = 2000;
const TYPING_IDLE_MS = 3000;

let client = null;
let chat = null;
let me = null;
/** message_id -> <li>, for the messages shown. */
const shown = new Map();
/** Messages of the others this page has marked read (or is marking). */
const readSent = new Set();
let oldestId = null;
let typingOn = false;
let typingSentAt = 0;
let typingStop = null;

// ---- start-up --------------------------------------------------------------------

if (!token && !insecureUser) {
  showNotice('Open this page with ?token=… (from tetherd token USER --name NAME) and ?peer=OTHER_USER.');
} else if (!peer && !chatParam) {
  showNotice('Who to chat with? Add ?peer=OTHER_USER to the page URL (or ?chat=CHAT_ID).');
} else if (insecureUser && !USER_ID.test(insecureUser)) {
  showNotice(`"${insecureUser}" is not a user id (letters, digits and _ . @ -).`);
} else {
  connect();
}

function connect() {
  const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  // Without a token, a development server (auth.insecure_user_id) takes the user from ?user_id=.
  const url = insecureUser ? `${base}?user_id=${encodeURIComponent(insecureUser)}` : base;
  const c = new TetherClient({ url, token, pageLifecycle: true });
  client = c;
  window.tetherClient = c; // for the curious, in the console
  c.on('state', (event) => {
    const badge = $('state');
    badge.dataset.state = event.state;
    badge.textContent = event.code && event.state !== 'open' ? `${event.state} (${event.code})` : event.state;
    setInputEnabled(event.state === 'open' && chat !== null);
  });
  c.on('connect_error', ({ phase, error, status, willRetry }) => {
    if (phase !== 'refused' || willRetry) return;
    showProblem(`Cannot connect: ${error.message} (HTTP ${status}). Get a new token with tetherd token USER.`);
  });
  c.on('open', ({ user_id }) => {
    $('problem').hidden = true;
    if (me === null) start(user_id);
    else setInputEnabled(true);
  });
  c.channels.on('presence', renderOnline);
  c.channels.on('lost', ({ channel, error }) => showProblem(`No longer subscribed to ${channel}: ${error.message}`));
  c.connect();
}

/** The first `connected`: who this page is, then the chat (history, then live) and the online list. */
async function start(userId) {
  me = userId;
  document.body.dataset.userId = me;
  const chatId = chatParam ?? dmId(me, peer);
  if (!chatParam && peer === me) return showNotice('That is you: pick another ?peer=.');
  $('who').textContent = `you are ${me}`;
  $('title').textContent = chatId;
  $('peer-name').textContent = peer ?? chatId;
  document.body.dataset.chatId = chatId;
  $('app').hidden = false;
  renderOnline();

  chat = client.chat(chatId);
  chat.on('message', ({ message, own }) => {
    showMessage(message, own);
    scrollDown();
  });
  chat.on('receipt', ({ message_id, receipt }) => setStatus(shown.get(message_id), receipt.status));
  chat.on('typing', renderTyping);

  client.subscribe('online').catch((err) => showProblem(`Cannot see who is online: ${err.message}`));
  let lastId = 0;
  try {
    const page = await chat.history({ limit: PAGE });
    for (const m of page.messages) showMessage(m, m.sender_id === me);
    if (page.messages.length > 0) lastId = page.messages[page.messages.length - 1].message_id;
    $('older').hidden = !page.has_more;
    scrollDown();
  } catch (err) {
    showProblem(`Cannot load the messages: ${err.message}`);
  }
  try {
    // Whatever came after the history was read comes first, then live messages.
    await chat.subscribe({ sinceId: lastId });
    setInputEnabled(client.state === 'open');
    $('text').focus();
  } catch (err) {
    showProblem(err.code === 'forbidden' ? `You are not a member of ${chatId}.` : `Cannot open the chat: ${err.message}`);
  }
}

/** The direct chat of two users: `dm:{a}:{b}` with a < b. */
function dmId(a, b) {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`;
}

// ---- messages --------------------------------------------------------------------

$('send').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('text');
  const content = input.value.trim();
  if (!content || !chat) return;
  input.value = '';
  stopTyping();
  const clientMsgId = newClientMsgId();
  const li = messageElement({ content, own: true, timestamp: new Date().toISOString() });
  li.dataset.clientMsgId = clientMsgId;
  setStatus(li, 'pending');
  $('messages').append(li);
  scrollDown();
  chat.send(content, { clientMsgId }).catch((err) => {
    setStatus(li, 'failed');
    li.title = `Not sent: ${err.message}`;
  });
});

$('older').addEventListener('click', async () => {
  if (oldestId === null || !chat) return;
  $('older').disabled = true;
  try {
    const page = await chat.history({ beforeId: oldestId, limit: PAGE });
    for (const m of page.messages) showMessage(m, m.sender_id === me);
    $('older').hidden = !page.has_more;
  } catch (err) {
    showProblem(`Cannot load older messages: ${err.message}`);
  } finally {
    $('older').disabled = false;
  }
});

/** Shows a stored message once (live, replayed or from history), in message_id order. */
function showMessage(m, own) {
  if (shown.has(m.message_id)) return;
  // One's own message sent from this page: its pending bubble becomes the stored message.
  let li = own && m.client_msg_id ? $('messages').querySelector(`li[data-client-msg-id="${CSS.escape(m.client_msg_id)}"]`) : null;
  if (li) li.remove();
  else li = messageElement({ content: m.content, own, timestamp: m.timestamp });
  li.dataset.messageId = String(m.message_id);
  li.dataset.senderId = m.sender_id;
  li.removeAttribute('title');
  if (own) setStatus(li, chat.receipt(m.message_id)?.status ?? 'sent');
  insertInOrder(li, m.message_id);
  shown.set(m.message_id, li);
  if (oldestId === null || m.message_id < oldestId) oldestId = m.message_id;
  if (!own) markRead(m.message_id);
}

function messageElement({ content, own, timestamp }) {
  const li = document.createElement('li');
  li.dataset.own = String(own);
  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = content;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const time = document.createElement('time');
  time.dateTime = timestamp;
  time.textContent = new Date(timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  meta.append(time);
  if (own) {
    const tick = document.createElement('span');
    tick.className = 'tick';
    meta.append(tick);
  }
  li.append(text, meta);
  return li;
}

/** Stored messages in message_id order; bubbles still on their way stay last. */
function insertInOrder(li, id) {
  const list = $('messages');
  for (const other of list.children) {
    const otherId = other.dataset.messageId;
    if (otherId === undefined || Number(otherId) > id) {
      list.insertBefore(li, other);
      return;
    }
  }
  list.append(li);
}

const RANK = { pending: 0, failed: 0, sent: 1, delivered: 2, read: 3 };
/** Ticks only move forward (a receipt may come before the page has the message). */
function setStatus(li, status) {
  if (!li) return;
  const now = li.dataset.status;
  if (now && RANK[now] > RANK[status]) return;
  li.dataset.status = status;
  const tick = li.querySelector('.tick');
  if (tick) tick.title = status;
}

/** Read receipts: a message of the others counts as read once it is shown on a visible page. */
function markRead(messageId) {
  if (readSent.has(messageId) || document.visibilityState !== 'visible' || !chat) return;
  readSent.add(messageId);
  chat.markRead(messageId).catch(() => readSent.delete(messageId));
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  for (const [id, li] of shown) if (li.dataset.own !== 'true') markRead(id);
});

function scrollDown() {
  const list = $('messages');
  list.scrollTop = list.scrollHeight;
}

// ---- typing ------------------------------------------------------------------------

$('text').addEventListener('input', () => {
  if (!chat) return;
  if ($('text').value.trim() === '') return stopTyping();
  const now = Date.now();
  if (!typingOn || now - typingSentAt >= TYPING_REPEAT_MS) {
    chat.typing(true);
    typingOn = true;
    typingSentAt = now;
  }
  clearTimeout(typingStop);
  typingStop = setTimeout(stopTyping, TYPING_IDLE_MS);
});

function stopTyping() {
  clearTimeout(typingStop);
  typingStop = null;
  if (!typingOn) return;
  typingOn = false;
  chat?.typing(false);
}

function renderTyping({ typing }) {
  const names = [...typing].map(nameOf);
  const el = $('typing');
  el.dataset.users = [...typing].join(' ');
  el.textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

// ---- online ------------------------------------------------------------------------

function nameOf(userId) {
  return client?.presence.get(userId) ?? userId;
}

function renderOnline() {
  const list = $('online');
  list.replaceChildren();
  const users = client ? [...client.presence] : [];
  users.sort((a, b) => a[1].localeCompare(b[1]));
  for (const [userId, fullName] of users) {
    const li = document.createElement('li');
    li.dataset.userId = userId;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = fullName;
    li.append(name);
    if (userId === me) {
      const you = document.createElement('span');
      you.className = 'you';
      you.textContent = '(you)';
      li.append(you);
    }
    list.append(li);
  }
  if (peer) {
    const online = client?.presence.has(peer) === true;
    const state = $('peer-state');
    state.dataset.online = String(online);
    state.textContent = online ? 'online' : 'offline';
    if (online) $('peer-name').textContent = nameOf(peer);
  }
}

// ---- notices ------------------------------------------------------------------------

function setInputEnabled(enabled) {
  $('text').disabled = !enabled;
  $('send-button').disabled = !enabled;
}

function showNotice(text) {
  const el = $('notice');
  el.textContent = text;
  el.hidden = false;
}

function showProblem(text) {
  const el = $('problem');
  el.textContent = text;
  el.hidden = false;
}
