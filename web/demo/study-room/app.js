// Demo of tether's rooms with the tether-client browser bundle: a guest identity, the room list with
// live occupancy (watch_rooms), one room at a time with its participants kept live, and leaving on
// page close (the client's page lifecycle sends before_disconnect on pagehide).
//
// Identity: createGuest -> POST /api/guests {display_name} -> {userId, token} (kept in sessionStorage,
// per tab). A server without guests (404, or no answer) falls back to ?token=... in the page URL (from
// `tetherd token USER --name NAME`). A guest left inactive is deleted by the server (close 4010 'guest
// deleted', or its token refused on a reload): the page forgets it and offers to join again as a new
// guest with the same name, back into the same room.
import { TetherClient, GuestError, createGuest, isGuestGone } from '/demo/study-room/tether-client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const GUEST_KEY = 'tether.study-room.guest';
const PRESET_ROOMS = ['library', 'quiet-corner', 'night-owls'];
const ROOM_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
const MAX_LOG = 50;

let client = null;
let me = { user_id: null, name: '', source: '' };
let current = null; // the room this page is in (one at a time)
let busy = false;
let joining = null; // the room being joined, until the server answers

// ---- identity ------------------------------------------------------------------

function storedGuest() {
  try {
    const g = JSON.parse(sessionStorage.getItem(GUEST_KEY) ?? 'null');
    return g && typeof g.token === 'string' && typeof g.user_id === 'string' ? g : null;
  } catch {
    return null;
  }
}

/**
 * {token, user_id?, source}, {retryAfterSeconds} (429) or {error}: this tab's guest, else a new guest
 * from the server, else the page URL's token.
 */
async function obtainIdentity(name) {
  const stored = storedGuest();
  if (stored) return { token: stored.token, user_id: stored.user_id, source: 'guest' };
  let failure;
  try {
    const guest = await createGuest('', name);
    const kept = { user_id: guest.userId, token: guest.token, name, expires_at: guest.expiresAt };
    sessionStorage.setItem(GUEST_KEY, JSON.stringify(kept));
    return { token: guest.token, user_id: guest.userId, source: 'guest' };
  } catch (err) {
    if (!(err instanceof GuestError)) throw err;
    if (err.status === 429) return { retryAfterSeconds: err.retryAfterSeconds ?? 60 };
    failure = err;
  }
  // No guests here (404, no answer, ...): a token in the page URL still gets in.
  const token = params.get('token');
  if (token) return { token, source: 'url' };
  if (failure.status === 400) return { error: `Cannot enter as "${name}": ${failure.message}.` };
  return {
    error:
      `This server does not hand out guest tokens (POST /api/guests answered ${failure.status ?? 'nothing'}). ` +
      'Open this page with ?token=… (from tetherd token USER --name NAME).',
  };
}

// ---- start-up --------------------------------------------------------------------

const initialName = (params.get('name') ?? storedGuest()?.name ?? '').trim().slice(0, 64);
if (initialName) {
  start(initialName, params.get('room'));
} else {
  $('start').hidden = false;
  $('name').focus();
}
$('start').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('name').value.trim().slice(0, 64);
  if (name) start(name, params.get('room'));
});

/** Gets an identity for `name`, connects, and enters `roomId` (when given and valid). */
async function start(name, roomId) {
  $('start').hidden = true;
  hideAction();
  me.name = name;
  const identity = await obtainIdentity(name);
  if (identity.retryAfterSeconds !== undefined) return offerRetry(name, roomId, identity.retryAfterSeconds);
  if (identity.error) return showNotice(identity.error);
  me.source = identity.source;
  me.user_id = identity.user_id ?? null;
  renderWho();

  const c = new TetherClient({ url: wsUrl, token: identity.token, pageLifecycle: true });
  client = c;
  window.tetherClient = c; // for the curious, in the console
  wire(c);
  $('app').hidden = false;
  renderRooms();
  renderRoom();
  c.connect();
  c.rooms.watch().catch((err) => {
    if (c === client && c.state !== 'closed') showProblem(`Cannot list the rooms: ${err.message}`);
  });
  if (roomId && ROOM_ID.test(roomId)) enter(roomId);
}

/** The page's listeners on a client. A client that was replaced (join again) is not listened to any more. */
function wire(c) {
  const on = (emitter, type, fn) => emitter.on(type, (event) => c === client && fn(event));
  on(c, 'state', (event) => {
    const badge = $('state');
    badge.dataset.state = event.state;
    badge.textContent = event.code && event.state !== 'open' ? `${event.state} (${event.code})` : event.state;
    renderRooms();
    // A guest's token refused (deleted, or its day is over) or its session ended as deleted: final.
    if (event.state === 'closed' && me.source === 'guest' && (isGuestGone(event) || event.code === 4001)) guestGone(event);
  });
  on(c, 'connect_error', ({ phase, error, status, willRetry }) => {
    if (phase !== 'refused' || willRetry || me.source === 'guest') return; // a guest's refusal: see 'state'
    showProblem(`Cannot connect: ${error.message} (HTTP ${status}). Reload the page to try again.`);
  });
  on(c, 'open', ({ user_id }) => {
    me.user_id = user_id;
    renderWho();
    $('problem').hidden = true;
  });

  const rooms = c.rooms;
  on(rooms, 'roomList', renderRooms);
  on(rooms, 'occupancyUpdate', renderRooms);
  on(rooms, 'participants', ({ room_id }) => {
    if (room_id === current) renderRoom();
  });
  on(rooms, 'joined', ({ room_id, rejoined }) => {
    if (room_id !== current) return;
    if (rejoined) log('info', 'Reconnected: back in the room.');
    renderRoom();
  });
  on(rooms, 'userJoined', ({ room_id, user_id, display_name }) => {
    if (room_id === current) log('user_joined', `${display_name} came in.`, { user_id });
  });
  on(rooms, 'userLeft', ({ room_id, user_id, reason, display_name }) => {
    if (room_id !== current) return;
    const why = reason === 'left' ? 'left' : `left (${reason})`;
    log('user_left', `${display_name ?? user_id} ${why}.`, { user_id, reason });
  });
  on(rooms, 'roomMessage', ({ room_id, user_id, data, display_name }) => {
    if (room_id !== current || typeof data?.text !== 'string') return; // other payloads are not for this page
    log('message', data.text.slice(0, 500), { user_id, from: display_name ?? user_id });
  });
  on(rooms, 'left', ({ room_id, reason, error }) => {
    if (room_id !== current) return;
    current = null;
    if (reason === 'switched') showProblem(`You opened ${room_id} in another tab: this tab has left it.`);
    if (reason === 'rejoin_failed') showProblem(`Could not get back into ${room_id}: ${error?.message ?? 'refused'}.`);
    renderRoom();
    renderRooms();
  });
}

// ---- a guest that is gone, too many guests ----------------------------------------

/**
 * The server deleted this tab's guest (or refused its token): it cannot come back, so the tab forgets
 * it and offers a new guest with the same name, back in the room it was in.
 */
function guestGone({ code, reason }) {
  sessionStorage.removeItem(GUEST_KEY);
  const roomId = current ?? joining; // the room to go back to: the one it was in, or on its way into
  current = null;
  renderRoom();
  renderRooms();
  const why = isGuestGone({ code, reason })
    ? 'Your guest account was removed after a while without activity.'
    : `Your guest pass is no longer valid (${reason}).`;
  showAction('guest-gone', why, 'Join again as a new guest', () => rejoin(roomId));
}

/** A new guest with the same name: the old client is let go first (its events are ignored from now on). */
function rejoin(roomId) {
  const old = client;
  client = null;
  old?.close();
  $('log').replaceChildren();
  start(me.name, roomId);
}

/** 429: the server makes only so many guests per address and minute; the button waits as long as it says. */
function offerRetry(name, roomId, seconds) {
  const button = showAction('rate-limited', '', 'Try again', () => start(name, roomId));
  const until = Date.now() + seconds * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    $('action-text').textContent = `Too many new guests from this address: try again in ${left} s.`;
    button.disabled = left > 0;
    if (left > 0 && !$('action').hidden) setTimeout(tick, 1000);
  };
  $('action').dataset.retryAfter = String(seconds);
  tick();
}

/** The notice with one button (there is one at a time). Returns the button. */
function showAction(kind, text, label, onClick) {
  const box = $('action');
  box.dataset.kind = kind;
  delete box.dataset.retryAfter;
  $('action-text').textContent = text;
  const button = $('action-button');
  button.textContent = label;
  button.disabled = false;
  button.onclick = () => {
    button.disabled = true;
    onClick();
  };
  box.hidden = false;
  return button;
}

function hideAction() {
  $('action').hidden = true;
}

// ---- actions ---------------------------------------------------------------------

async function enter(roomId) {
  if (busy || roomId === current) return;
  busy = true;
  joining = roomId;
  renderRooms();
  $('problem').hidden = true;
  const c = client;
  try {
    if (current) await leaveCurrent();
    await c.rooms.join(roomId, { displayName: me.name });
    current = roomId;
    $('log').replaceChildren();
    log('info', `You joined ${roomId}.`);
  } catch (err) {
    // A client that stopped meanwhile says why itself (the state badge, a notice).
    if (c !== client || c.state === 'closed') return;
    const why = err.code === 'room_full' ? 'it is full' : `${err.message} (${err.code})`;
    showProblem(`Cannot join ${roomId}: ${why}.`);
  } finally {
    busy = false;
    joining = null;
    renderRoom();
    renderRooms();
  }
}

async function leaveCurrent() {
  const roomId = current;
  current = null;
  renderRoom();
  try {
    await client.rooms.leave(roomId);
  } catch (err) {
    showProblem(`Leaving ${roomId}: ${err.message}`);
  }
}

$('leave').addEventListener('click', async () => {
  if (!current || busy) return;
  busy = true;
  try {
    await leaveCurrent();
  } finally {
    busy = false;
    renderRooms();
  }
});

$('new-room').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = $('room-id').value.trim();
  if (!ROOM_ID.test(id)) return showProblem('A room name is 1-128 letters, digits or _ . : @ -');
  $('room-id').value = '';
  enter(id);
});

$('say').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('say-text').value.trim();
  if (!text || !current) return;
  client.rooms.publish(current, { text });
  $('say-text').value = '';
});

// ---- rendering -------------------------------------------------------------------

function renderWho() {
  if (me.user_id) document.body.dataset.userId = me.user_id;
  const how = me.source === 'guest' ? 'guest' : 'token from the page URL';
  $('who').textContent = `${me.name}${me.user_id ? ` · ${me.user_id}` : ''} · ${how}`;
}

function renderRooms() {
  if (!client) return;
  const listed = client.rooms.list;
  const ids = [...PRESET_ROOMS, ...[...listed.keys()].filter((id) => !PRESET_ROOMS.includes(id)).sort()];
  if (current && !ids.includes(current)) ids.push(current);
  const capacityOf = (id) => listed.get(id)?.capacity ?? client.rooms.get(id)?.capacity ?? [...listed.values()].find((r) => r.capacity)?.capacity;
  const items = ids.map((id) => {
    const occupancy = listed.get(id)?.occupancy ?? 0;
    const capacity = capacityOf(id);
    const li = document.createElement('li');
    li.dataset.roomId = id;
    li.dataset.occupancy = String(occupancy);
    const full = capacity !== undefined && occupancy >= capacity;
    li.className = [id === current ? 'current' : '', full ? 'full' : ''].join(' ').trim();
    li.innerHTML = '<span class="name"></span><span class="occupancy"></span><button type="button"></button>';
    li.querySelector('.name').textContent = id;
    li.querySelector('.name').title = id;
    li.querySelector('.occupancy').textContent = capacity !== undefined ? `${occupancy}/${capacity}` : String(occupancy);
    const button = li.querySelector('button');
    button.textContent = id === current ? 'Here' : 'Join';
    button.disabled = busy || id === current || client.state === 'closed';
    button.addEventListener('click', () => enter(id));
    return li;
  });
  $('rooms').replaceChildren(...items);
}

function renderRoom() {
  const view = current ? client?.rooms.get(current) : undefined;
  $('room').hidden = !current;
  $('no-room').hidden = Boolean(current);
  if (!current) return;
  $('room-name').textContent = current;
  $('room-occupancy').textContent = view ? `(${view.occupancy}/${view.capacity})` : '';
  const items = [...(view?.participants.values() ?? [])].map((p) => {
    const li = document.createElement('li');
    li.dataset.userId = p.user_id;
    li.innerHTML = '<span class="name"></span>';
    li.querySelector('.name').textContent = p.display_name;
    if (p.user_id === me.user_id) li.insertAdjacentHTML('beforeend', '<span class="you">(you)</span>');
    return li;
  });
  $('participants').replaceChildren(...items);
}

/** One line of the room's log (the newest MAX_LOG are kept). */
function log(kind, text, data = {}) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  if (data.user_id) li.dataset.userId = data.user_id;
  if (data.reason) li.dataset.reason = data.reason;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  li.append(time);
  if (data.from) {
    const b = document.createElement('b');
    b.textContent = `${data.from}: `;
    li.append(b);
  }
  li.append(document.createTextNode(text));
  const box = $('log');
  box.append(li);
  while (box.children.length > MAX_LOG) box.firstElementChild.remove();
  box.scrollTop = box.scrollHeight;
}

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

function showProblem(text) {
  $('problem').textContent = text;
  $('problem').hidden = false;
}
