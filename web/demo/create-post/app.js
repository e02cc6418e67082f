// Demo of tether's abandoned-upload cleanup with the tether-client browser bundle.
import { TetherClient } from '/demo/create-post/tether-client.js';

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get('token');
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

/** One row per picked file: {name, id, status, el}. */
const rows = [];
let uploading = 0;

const client = new TetherClient({ url: wsUrl, token: token ?? undefined, pageLifecycle: true });

client.on('state', ({ state, code }) => {
  const badge = $('state');
  badge.dataset.state = state;
  badge.textContent = code && state !== 'open' ? `${state} (${code})` : state;
});
// Why the page cannot connect, from the server (e.g. "invalid token: expired (HTTP 401)").
client.on('connect_error', ({ phase, error, status, willRetry }) => {
  if (phase !== 'refused' || willRetry) return;
  const problem = $('problem');
  problem.textContent = `Cannot connect: ${error.message} (HTTP ${status}). Get a new token with tetherd token USER.`;
  problem.hidden = false;
  $('picker').disabled = true;
});
client.on('open', () => {
  $('problem').hidden = true;
  $('picker').disabled = false;
});
client.on('draft_rejected', ({ rejected }) => {
  for (const r of rejected) {
    const row = rows.find((x) => x.id === r.file_id);
    if (row) setStatus(row, 'rejected', `gone (${r.code})`);
  }
});

if (token) {
  client.connect();
} else {
  $('notice').hidden = false; // nothing works without a token: don't try to connect
  $('picker').disabled = true;
}

$('picker').addEventListener('change', (event) => {
  for (const file of event.target.files) upload(file);
  event.target.value = '';
});

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  $('submit').disabled = true;
  try {
    const postId = `post-${Date.now().toString(36)}`;
    const kept = await client.draft.submit(postId);
    showPost(postId, text, kept);
    rows.splice(0).forEach((row) => row.el.remove());
    $('text').value = '';
  } catch (err) {
    alert(`Could not post: ${err.code ?? ''} ${err.message}`);
  } finally {
    updateSubmit();
  }
});

async function upload(file) {
  const row = addRow(file.name);
  uploading++;
  updateSubmit();
  try {
    const { file_id } = await client.draft.upload(file, file.name);
    row.id = file_id;
    const id = row.el.querySelector('.id');
    id.textContent = file_id;
    id.title = file_id;
    setStatus(row, 'tracked', 'tracked');
  } catch (err) {
    setStatus(row, 'failed', `failed: ${err.code ?? err.message}`);
  } finally {
    uploading--;
    updateSubmit();
  }
}

function addRow(name) {
  const el = document.createElement('li');
  el.innerHTML = '<span class="name"></span><span class="id"></span><span class="status">uploading…</span><button type="button" class="link" title="Remove">✕</button>';
  el.querySelector('.name').textContent = name;
  el.querySelector('.name').title = name;
  const row = { name, id: null, status: 'uploading', el };
  el.querySelector('button').addEventListener('click', async () => {
    if (row.id && row.status === 'tracked') {
      try {
        await client.draft.untrack(row.id);
      } catch (err) {
        setStatus(row, 'failed', `remove failed: ${err.code ?? err.message}`);
        return;
      }
    }
    el.remove();
    rows.splice(rows.indexOf(row), 1);
  });
  rows.push(row);
  $('files').append(el);
  return row;
}

function setStatus(row, status, text) {
  row.status = status;
  const s = row.el.querySelector('.status');
  s.className = `status ${status}`;
  s.textContent = text;
}

function updateSubmit() {
  $('submit').disabled = uploading > 0 || !token;
}

function showPost(postId, text, kept) {
  // In the order the files were added (the server's `kept` has its own order); ids of files not listed here as they are.
  const names = rows.filter((r) => kept.includes(r.id)).map((r) => r.name);
  for (const id of kept) if (!rows.some((r) => r.id === id)) names.push(id);
  const card = document.createElement('article');
  card.className = 'card post';
  card.innerHTML = '<p></p><div class="muted"></div>';
  card.querySelector('p').textContent = text;
  card.querySelector('.muted').textContent =
    `Submitted as ${postId}` + (names.length ? ` with ${names.length} file(s) kept: ${names.join(', ')}` : '');
  $('posts').prepend(card);
}

updateSubmit();
