// Demo of tether's rooms with the tether-client browser bundle: a guest identity, the room list with
// live occupancy (watch_rooms), one room at a time with its participants kept live, and leaving on
// page close (the client's page lifecycle sends before_disconnect on pagehide).
//
// Identity: POST /api/guests {display_name} -> {user_id, token} (kept in sessionStorage, per tab). A
// server without guests (404, or no answer) falls back to ?token=... in the page URL (from
// `tetherd token USER --name NAME`).
import { TetherClient } from '/demo/study-room/tether-client.js';

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

// ---- identity ------------------------------------------------------------------

function storedGuest() {
  try {
    const g = JSON.parse(sessionStorage.getItem(GUEST_KEY) ?? 'null');
    return g && typeof g.token === 'string' && typeof g.user_id === 'string' ? g : null;
  } catch {
    return null;
  }
}

/** {token, user_id?, source} or null: a guest from the server first, else the page URL's token. */
async function obtainIdentity(name) {
  const stored = storedGuest();
  if (stored) return { token: stored.token, user_id: stored.user_id, source: 'guest' };
  let status = 0;
  try {
    const res = await fetch('/api/guests', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ display_name: name }),
    });
    status = res.status;
    if (res.status === 201) {
      const body = await res.json();
      if (typeof body?.token === 'string' && typeof body?.user_id === 'string') {
        sessionStorage.setItem(GUEST_KEY, JSON.stringify({ user_id: body.user_id, token: body.token, name }));
        return { token: body.token, user_id: body.user_id, source: 'guest' };
      }
    } else if (res.status === 429) {
      return { error: 'Too many guests from this address: wait a minute and reload.' };
    }
  } catch {
    // no answer: fall back
  }
  const token = params.get('token');
  if (token) return { token, source: 'url' };
  return {
    error:
      `This server does not hand out guest tokens (POST /api/guests answered ${status || 'nothing'}). ` +
      'Open this page with ?token=… (from tetherd token USER --name NAME).',
  };
}

// ---- start-up --------------------------------------------------------------------

const initialName = (params.get('name') ?? storedGuest()?.name ?? '').trim().slice(0, 64);
if (initialName) {
  start(initialName);
} else {
  $('start').hidden = false;
  $('name').focus();
}
$('start').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('name').value.trim().slice(0, 64);
  if (name) start(name);
});

async function start(name) {
  $('start').hidden = true;
  me.name = name;
  const identity = await obtainIdentity(name);
  if (identity.error) return showNotice(identity.error);
  me.source = identity.source;
  me.user_id = identity.user_id ?? null;
  renderWho();

  client = new TetherClient({ url: wsUrl, token: identity.token, pageLifecycle: true });
  window.tetherClient = client; // for the curious, in the console
  client.on('state', ({ state, code }) => {
    const badge = $('state');
    badge.dataset.state = state;
    badge.textContent = code && state !== 'open' ? `${state} (${code})` : state;
    renderRooms();
  });
  client.on('connect_error', ({ phase, error, status, willRetry }) => {
    if (phase !== 'refused' || willRetry) return;
    if (me.source === 'guest') sessionStorage.removeItem(GUEST_KEY); // a new guest on the next load
    showProblem(`Cannot connect: ${error.message} (HTTP ${status}). Reload the page to try again.`);
  });
  client.on('open', ({ user_id }) => {
    me.user_id = user_id;
    renderWho();
    $('problem').hidden = true;
  });

  const rooms = client.rooms;
  rooms.on('roomList', renderRooms);
  rooms.on('occupancyUpdate', renderRooms);
  rooms.on('participants', ({ room_id }) => {
    if (room_id === current) renderRoom();
  });
  rooms.on('joined', ({ room_id, rejoined }) => {
    if (room_id !== current) return;
    if (rejoined) log('info', 'Reconnected: back in the room.');
    renderRoom();
  });
  rooms.on('userJoined', ({ room_id, user_id, display_name }) => {
    if (room_id === current) log('user_joined', `${display_name} came in.`, { user_id });
  });
  rooms.on('userLeft', ({ room_id, user_id, reason, display_name }) => {
    if (room_id !== current) return;
    const why = reason === 'left' ? 'left' : `left (${reason})`;
    log('user_left', `${display_name ?? user_id} ${why}.`, { user_id, reason });
  });
  rooms.on('roomMessage', ({ room_id, user_id, data, display_name }) => {
    if (room_id !== current || typeof data?.text !== 'string') return; // other payloads are not for this page
    log('message', data.text.slice(0, 500), { user_id, from: display_name ?? user_id });
  });
  rooms.on('left', ({ room_id, reason, error }) => {
    if (room_id !== current) return;
    current = null;
    if (reason === 'switched') showProblem(`You opened ${room_id} in another tab: this tab has left it.`);
    if (reason === 'rejoin_failed') showProblem(`Could not get back into ${room_id}: ${error?.message ?? 'refused'}.`);
    renderRoom();
    renderRooms();
  });

  $('app').hidden = false;
  renderRooms();
  renderRoom();
  client.connect();
  rooms.watch().catch((err) => showProblem(`Cannot list the rooms: ${err.message}`));
  const wanted = params.get('room');
  if (wanted && ROOM_ID.test(wanted)) enter(wanted);
}

// ---- actions ---------------------------------------------------------------------

async function enter(roomId) {
  if (busy || roomId === current) return;
  busy = true;
  renderRooms();
  $('problem').hidden = true;
  try {
    if (current) await leaveCurrent();
    await client.rooms.join(roomId, { displayName: me.name });
    current = roomId;
    $('log').replaceChildren();
    log('info', `You joined ${roomId}.`);
  } catch (err) {
    const why = err.code === 'room_full' ? 'it is full' : `${err.message} (${err.code})`;
    showProblem(`Cannot join ${roomId}: ${why}.`);
  } finally {
    busy = false;
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
