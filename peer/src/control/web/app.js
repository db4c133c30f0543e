/**
 * The daemon's web page. Plain JavaScript with no framework and no build step: the page is
 * a few lists that are redrawn whole when they change, which needs no virtual DOM, and
 * the daemon serves this file as it is.
 *
 * Peer data (nicks, texts, room names, reasons) only ever reaches the page as text
 * (textContent), never as markup: another member chooses what it says.
 *
 * What the page shows comes from GET /v1/state and GET /v1/history, then from the event
 * stream (GET /v1/events), one entry in `handlers` per event type. A conversation (a room,
 * or the direct messages with one member) is a list of items keyed by id, so an event and
 * a history page that carry the same message show it once; a new kind of item (a file
 * offer) is a new handler and a new case in `renderItem`.
 */

/** Messages asked for when a room is opened: what fits on a few screens. */
const HISTORY_PAGE = 200;
/** The largest page the API gives: direct messages are picked out of all conversations. */
const DM_HISTORY_PAGE = 1000;
/** After the event stream is refused (not dropped: EventSource retries those itself). */
const RECONNECT_MS = 3000;
/** Member events come in bursts (a join announces several members): one state fetch for a burst. */
const REFRESH_DEBOUNCE_MS = 250;

/** The state a member event leaves a member in; member-updated changes only its meta. */
const STATE_AFTER = {
  'member-joined': 'alive',
  'member-alive': 'alive',
  'member-suspect': 'suspect',
  'member-failed': 'dead',
  'member-left': 'left'
};
/** SWIM's "dead" is what the user calls failed: it crashed or stopped answering, it did not leave. */
const STATE_LABEL = { alive: 'alive', suspect: 'suspect', dead: 'failed', left: 'left' };
const STATE_ORDER = ['alive', 'suspect', 'dead', 'left'];
/** As the console shows members who share a nick: `sam#1f3a`. */
const NICK_SUFFIX_LENGTH = 4;

const page = {
  rooms: document.getElementById('rooms'),
  dms: document.getElementById('dms'),
  joinForm: document.getElementById('join-form'),
  joinRoom: document.getElementById('join-room'),
  title: document.getElementById('title'),
  leave: document.getElementById('leave'),
  messages: document.getElementById('messages'),
  sendForm: document.getElementById('send-form'),
  sendText: document.getElementById('send-text'),
  fileLabel: document.getElementById('file-label'),
  sendFile: document.getElementById('send-file'),
  members: document.getElementById('members'),
  me: document.getElementById('me'),
  link: document.getElementById('link'),
  status: document.getElementById('status')
};

const peer = {
  peerId: '',
  nick: '',
  /** Joined rooms, as /v1/state lists them. */
  rooms: [],
  /** Member views by peer ID. */
  members: new Map()
};

/** Conversations by key: `room:NAME` or `dm:PEER_ID`. */
const conversations = new Map();
let selected;
/** A room joined from this page: opened when its room-joined arrives. */
let joining;
let refreshTimer;
let events;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shortId(id) {
  return `…${id.slice(-8)}`;
}

function time(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function setStatus(text, kind = 'info') {
  page.status.textContent = text;
  page.status.dataset.kind = kind;
}

function setLink(state, text) {
  page.link.dataset.state = state;
  page.link.textContent = text;
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** GET when there is no body; every POST sends JSON, `{}` at least (the API refuses an empty JSON body). */
async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401) loggedOut(answer.error?.message);
    throw new ApiError(res.status, answer.error?.message ?? `${res.status} ${res.statusText}`);
  }
  return answer;
}

/** Runs a console command through its route; shows what it answered, or why it was refused. */
async function command(action, args = {}) {
  const answer = await api(`/v1/commands/${action}`, args);
  const said = answer.events.filter((e) => e.type === 'info').map((e) => e.message);
  if (said.length > 0) setStatus(said.join('\n'));
}

function reportError(err) {
  setStatus(err.message, 'error');
}

function loggedOut(message) {
  events?.close();
  setLink('offline', 'logged out');
  setStatus(message ?? 'not logged in: open a new login link (/show web in the daemon\'s console)', 'error');
}

// Names -----------------------------------------------------------------------------

/** The name shown for each member: its nick, or nick#abcd when a present member shares it. */
function names() {
  const count = new Map();
  for (const m of peer.members.values()) {
    if (m.state === 'alive' || m.state === 'suspect') count.set(m.meta.nick, (count.get(m.meta.nick) ?? 0) + 1);
  }
  const shown = new Map();
  for (const m of peer.members.values()) {
    shown.set(m.id, (count.get(m.meta.nick) ?? 0) > 1 ? `${m.meta.nick}#${m.id.slice(-NICK_SUFFIX_LENGTH)}` : m.meta.nick);
  }
  return shown;
}

function nameOf(id, fallback) {
  return names().get(id) ?? fallback ?? shortId(id);
}

// Conversations ---------------------------------------------------------------------

function conversation(key, make) {
  let c = conversations.get(key);
  if (!c) {
    c = { key, ...make(), items: new Map(), unread: 0, newest: 0 };
    conversations.set(key, c);
  }
  return c;
}

const roomConversation = (room) => conversation(`room:${room}`, () => ({ kind: 'room', room }));
/** `nick` is what the message that opened it said, until the member list knows the peer. */
const dmConversation = (peerId, nick) => conversation(`dm:${peerId}`, () => ({ kind: 'dm', peerId, nick }));

function titleOf(c) {
  return c.kind === 'room' ? `#${c.room}` : nameOf(c.peerId, c.nick);
}

/**
 * Adds an item, or updates the one with its id (a history page repeating a live message,
 * a delivery note). Only live items count as unread, and only where the user is not looking.
 */
function putItem(c, item, live) {
  const known = c.items.get(item.id);
  c.items.set(item.id, known ? { ...known, ...item, note: item.note ?? known.note } : item);
  c.newest = Math.max(c.newest, item.ts);
  if (live && !known && c.key !== selected && !item.outgoing) c.unread++;
}

/** Redraws what shows a conversation, once per batch of items rather than once an item. */
function changed(c) {
  if (c.key === selected) renderMessages();
  renderConversations();
}

function addItem(c, item, live) {
  putItem(c, item, live);
  changed(c);
}

function noteItem(key, id, note) {
  const c = conversations.get(key);
  const item = c?.items.get(id);
  if (!item) return;
  item.note = note;
  if (c.key === selected) renderMessages();
}

/** A file offered either way, shown in the conversation with its peer. */
function fileItem(e, fields) {
  return { id: e.id, ts: Date.now(), kind: 'file', name: e.name, size: e.size, text: '', ...fields };
}

function updateFile(key, id, fields) {
  const c = conversations.get(key);
  const item = c?.items.get(id);
  if (!item) return;
  Object.assign(item, fields);
  if (c.key === selected) renderMessages();
}

function sizeText(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return `${unit === 0 ? n : n.toFixed(1)} ${units[unit]}`;
}

function fromHistory(entry) {
  return { id: entry.id, ts: entry.ts, from: entry.peer, nick: entry.nick, text: entry.text, outgoing: entry.outgoing };
}

async function loadRoomHistory(room) {
  const { messages } = await api(`/v1/history?room=${encodeURIComponent(room)}&limit=${HISTORY_PAGE}`);
  const c = roomConversation(room);
  for (const m of messages) putItem(c, fromHistory(m), false);
  changed(c);
}

async function loadDirectHistory() {
  const { messages } = await api(`/v1/history?limit=${DM_HISTORY_PAGE}`);
  for (const m of messages) {
    if (m.kind === 'dm') putItem(dmConversation(m.peer, m.outgoing ? undefined : m.nick), fromHistory(m), false);
  }
  renderConversations();
  if (conversations.get(selected)?.kind === 'dm') renderMessages();
}

function select(key) {
  selected = key;
  const c = conversations.get(key);
  if (c) c.unread = 0;
  renderAll();
  if (c?.kind === 'room') loadRoomHistory(c.room).catch(reportError);
  page.sendText.focus();
}

/** Keeps the selection on something that exists: the peer's current room when it had none. */
function keepSelection(currentRoom) {
  const c = conversations.get(selected);
  if (c && (c.kind === 'dm' || peer.rooms.includes(c.room))) return;
  const room = currentRoom ?? peer.rooms.at(-1);
  select(room === undefined ? undefined : roomConversation(room).key);
}

// State -----------------------------------------------------------------------------

async function refresh() {
  const state = await api('/v1/state');
  peer.peerId = state.peerId;
  peer.nick = state.nick;
  peer.rooms = state.rooms;
  peer.members = new Map(state.members.map((m) => [m.id, m]));
  for (const room of peer.rooms) roomConversation(room);
  await loadDirectHistory();
  const before = selected;
  keepSelection(state.currentRoom ?? undefined);
  // select() loads the history of a room it opens; one that stayed open may have missed messages while the stream was down.
  const c = conversations.get(selected);
  if (selected === before && c?.kind === 'room') await loadRoomHistory(c.room);
  renderAll();
}

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(reportError), REFRESH_DEBOUNCE_MS);
}

function memberEvent(e) {
  const m = peer.members.get(e.peerId);
  const state = STATE_AFTER[e.type] ?? m?.state ?? 'alive';
  peer.members.set(e.peerId, { ...(m ?? { id: e.peerId, incarnation: e.incarnation, meta: { rooms: [] } }), state, meta: { ...(m?.meta ?? { rooms: [] }), nick: e.nick } });
  renderMembers();
  renderConversations();
  if (conversations.get(selected)?.kind === 'dm') renderTitle();
  // The event carries the nick only; the rooms a member announces come with the state.
  refreshSoon();
}

const handlers = {
  ready: () => refresh().catch(reportError),
  message: (e) => addItem(roomConversation(e.room), { id: e.id, ts: e.ts, from: e.from, nick: e.nick, text: e.text, outgoing: false }, true),
  sent: (e) => addItem(roomConversation(e.room), { id: e.id, ts: e.ts, from: peer.peerId, nick: peer.nick, text: e.text, outgoing: true }, false),
  history: (e) => {
    const c = roomConversation(e.room);
    for (const m of e.messages) putItem(c, { id: m.id, ts: m.ts, from: m.from, nick: m.nick, text: m.text, outgoing: m.from === peer.peerId }, false);
    changed(c);
  },
  'room-joined': (e) => {
    if (!peer.rooms.includes(e.room)) peer.rooms.push(e.room);
    roomConversation(e.room);
    if (joining === e.room) {
      joining = undefined;
      select(`room:${e.room}`);
    } else {
      renderConversations();
    }
    // Our own entry in the member list announces the room too.
    refreshSoon();
  },
  'room-left': (e) => {
    peer.rooms = peer.rooms.filter((r) => r !== e.room);
    keepSelection(undefined);
    renderAll();
    refreshSoon();
  },
  dm: (e) => addItem(dmConversation(e.from, e.nick), { id: e.id, ts: e.ts, from: e.from, nick: e.nick, text: e.text, outgoing: false }, true),
  'dm-sent': (e) => addItem(dmConversation(e.to, e.toNick), { id: e.id, ts: e.ts, from: peer.peerId, nick: peer.nick, text: e.text, outgoing: true, note: 'sending' }, false),
  'dm-delivered': (e) => noteItem(`dm:${e.to}`, e.id, e.queued ? 'delivered from the outbox' : 'delivered'),
  'dm-queued': (e) => noteItem(`dm:${e.to}`, e.id, 'not reachable: waits in the outbox'),
  'dm-failed': (e) => noteItem(`dm:${e.to}`, e.id, `failed: ${e.reason}`),
  'file-sending': (e) => addItem(dmConversation(e.to, e.toNick), fileItem(e, { from: peer.peerId, nick: peer.nick, outgoing: true, note: 'sending' }), false),
  'file-waiting': (e) => noteItem(`dm:${e.to}`, e.id, 'waits for them to accept it'),
  'file-offered': (e) => addItem(dmConversation(e.from, e.nick), fileItem(e, {
    from: e.from, nick: e.nick, outgoing: false, offer: e.needsAccept, note: e.needsAccept ? `waits for you: ${e.why.join('; ')}` : 'receiving'
  }), true),
  'file-progress': (e) => noteItem(`dm:${e.peer}`, e.id, `${e.direction === 'send' ? 'sending' : 'receiving'} ${e.size === 0 ? 100 : Math.floor((100 * e.bytes) / e.size)}%`),
  'file-sent': (e) => noteItem(`dm:${e.to}`, e.id, 'sent'),
  'file-received': (e) => updateFile(`dm:${e.from}`, e.id, { offer: false, note: 'received', download: e.path.split('/').pop() }),
  'file-failed': (e) => updateFile(`dm:${e.peer}`, e.id, { offer: false, note: `failed: ${e.message}` }),
  'member-joined': memberEvent,
  'member-updated': memberEvent,
  'member-suspect': memberEvent,
  'member-alive': memberEvent,
  'member-left': memberEvent,
  'member-failed': memberEvent,
  error: (e) => setStatus(e.message, 'error')
};

function connect() {
  setLink('connecting', 'connecting…');
  events = new EventSource('/v1/events');
  events.onopen = () => setLink('live', 'live');
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    handlers[event.type]?.(event);
  };
  events.onerror = () => {
    // A dropped stream is retried by EventSource itself; a refused one is closed for good.
    if (events.readyState !== EventSource.CLOSED) {
      setLink('connecting', 'reconnecting…');
      return;
    }
    setLink('offline', 'offline');
    // Logged out (a restarted daemon forgets its sessions) is for the user to fix with a new link; anything else may pass.
    api('/v1/state').then(() => setTimeout(connect, RECONNECT_MS), (err) => {
      if (err.status === 401) return;
      setStatus(`the daemon does not answer (${err.message}); retrying`, 'error');
      setTimeout(connect, RECONNECT_MS);
    });
  };
}

// Rendering -------------------------------------------------------------------------

function renderAll() {
  page.me.textContent = peer.nick ? `${peer.nick} ${shortId(peer.peerId)}` : '';
  renderConversations();
  renderTitle();
  renderMessages();
  renderMembers();
}

function conversationEntry(c) {
  const li = el('li');
  const button = el('button', 'conversation');
  button.type = 'button';
  button.append(el('span', 'name', titleOf(c)));
  if (c.unread > 0) button.append(el('span', 'unread', String(c.unread)));
  if (c.key === selected) button.setAttribute('aria-current', 'true');
  button.addEventListener('click', () => select(c.key));
  li.append(button);
  return li;
}

function renderConversations() {
  page.rooms.replaceChildren(...peer.rooms.map((room) => conversationEntry(roomConversation(room))));
  const dms = [...conversations.values()].filter((c) => c.kind === 'dm').sort((a, b) => b.newest - a.newest);
  page.dms.replaceChildren(...dms.map(conversationEntry));
}

function renderTitle() {
  const c = conversations.get(selected);
  page.title.textContent = c ? titleOf(c) : 'no room: join one';
  page.leave.hidden = c?.kind !== 'room';
  page.sendText.placeholder = c ? `message ${titleOf(c)}` : '';
  page.sendText.disabled = !c;
  page.fileLabel.hidden = c?.kind !== 'dm';
}

function renderItem(item) {
  const li = el('li', item.outgoing ? 'item outgoing' : 'item');
  li.dataset.id = item.id;
  li.append(el('time', 'ts', time(item.ts)), el('span', 'nick', item.outgoing ? peer.nick || item.nick : nameOf(item.from, item.nick)));
  if (item.kind === 'file') {
    li.classList.add('file');
    li.append(el('span', 'text', `file ${item.name} (${sizeText(item.size)})`));
    if (item.download) {
      const link = el('a', 'download', 'download');
      link.href = `/v1/downloads/${encodeURIComponent(item.download)}`;
      link.download = item.download;
      li.append(link);
    }
    if (item.offer) {
      for (const [label, action] of [['Accept', 'accept'], ['Reject', 'reject']]) {
        const button = el('button', `decide ${action}`, label);
        button.type = 'button';
        button.addEventListener('click', () => command(action, { id: item.id }).catch(reportError));
        li.append(button);
      }
    }
  } else {
    li.append(el('span', 'text', item.text));
  }
  if (item.note) li.append(el('span', 'note', item.note));
  return li;
}

function renderMessages() {
  const c = conversations.get(selected);
  const list = page.messages;
  // Follow new messages only when the user is reading the end, not scrolled back.
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const items = c ? [...c.items.values()].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : [];
  list.replaceChildren(...items.map(renderItem));
  if (items.length === 0) list.append(el('li', 'empty', c ? 'no messages yet' : ''));
  if (atEnd) list.scrollTop = list.scrollHeight;
}

function renderMembers() {
  const shown = names();
  const members = [...peer.members.values()].sort((a, b) =>
    STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || (shown.get(a.id) ?? '').localeCompare(shown.get(b.id) ?? ''));
  page.members.replaceChildren(...members.map((m) => {
    const li = el('li', 'member');
    li.dataset.state = m.state;
    li.dataset.id = m.id;
    const self = m.id === peer.peerId;
    const name = el(self ? 'span' : 'button', 'name', `${shown.get(m.id)}${self ? ' (you)' : ''}`);
    if (!self) {
      name.type = 'button';
      name.title = `write to ${shown.get(m.id)} (${m.id})`;
      name.addEventListener('click', () => select(dmConversation(m.id, m.meta.nick).key));
    }
    li.append(name, el('span', `state ${m.state}`, STATE_LABEL[m.state] ?? m.state));
    if (m.meta.rooms.length > 0) li.append(el('span', 'rooms', m.meta.rooms.map((r) => `#${r}`).join(' ')));
    return li;
  }));
}

// Forms -----------------------------------------------------------------------------

page.sendForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const c = conversations.get(selected);
  const text = page.sendText.value;
  if (!c || text.trim() === '') return;
  const sending = c.kind === 'room'
    ? api('/v1/say', { text, room: c.room }).then((sent) =>
      addItem(c, { id: sent.id, ts: sent.ts, from: peer.peerId, nick: peer.nick, text, outgoing: true }, false))
    : command('msg', { member: c.peerId, text });
  sending.then(() => {
    // Cleared only once sent: a refused line stays to be corrected.
    if (page.sendText.value === text) page.sendText.value = '';
    setStatus('');
  }, reportError);
});

page.sendFile.addEventListener('change', () => {
  const c = conversations.get(selected);
  const file = page.sendFile.files?.[0];
  page.sendFile.value = '';
  if (!file || c?.kind !== 'dm') return;
  const query = new URLSearchParams({ member: c.peerId, name: file.name });
  // The file goes to the daemon as the body; the daemon offers it as /send-file does, and file events follow.
  fetch(`/v1/files?${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file })
    .then(async (res) => {
      if (res.ok) return;
      const answer = await res.json().catch(() => ({}));
      if (res.status === 401) loggedOut(answer.error?.message);
      throw new ApiError(res.status, answer.error?.message ?? `${res.status} ${res.statusText}`);
    })
    .catch(reportError);
});

page.joinForm.addEventListener('submit', (submit) => {
  submit.preventDefault();
  const room = page.joinRoom.value.trim();
  joining = room;
  command('join', { room }).then(() => {
    page.joinRoom.value = '';
  }, (err) => {
    joining = undefined;
    reportError(err);
  });
});

page.leave.addEventListener('click', () => {
  const c = conversations.get(selected);
  if (c?.kind === 'room') command('leave', { room: c.room }).catch(reportError);
});

connect();
