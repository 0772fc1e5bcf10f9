"use strict";
// The agent console: plain DOM, no framework. Every text from fans, agents or the API
// is put in the page with textContent (never innerHTML), so a fan cannot inject markup.

const state = {
  me: null,
  csrf: null,
  current: null, // the open conversation (API body)
  canned: [],
  queue: [],
  seen: new Set(), // message ids shown in the transcript
  typingSentAt: 0,
  typingTimer: null,
  socket: null,
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch("/api/v1/agent" + path, {
    method,
    credentials: "same-origin",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.location.assign("/console/");
    throw new Error("signed out");
  }
  if (response.status === 204) return null;
  const data = await response.json();
  if (!response.ok) throw new Error(data.error ? data.error.message : response.statusText);
  return data;
}

function waited(since) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes ? `${minutes}m ${seconds % 60}s` : `${seconds}s`;
}

function clock(stamp) {
  return stamp ? new Date(stamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
}

function notify(message) {
  console.warn(message);
  const bar = $("me");
  if (bar) bar.dataset.error = message;
}

// --- live updates ----------------------------------------------------------------------

function connect(onEvent) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/agent/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    $("live").textContent = "live";
    $("live").className = "pill online";
  });
  socket.addEventListener("message", (message) => onEvent(JSON.parse(message.data)));
  socket.addEventListener("close", () => {
    $("live").textContent = "offline";
    $("live").className = "pill offline";
    state.socket = null;
    setTimeout(() => connect(onEvent), 2000);
  });
  setInterval(() => {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify({ type: "ping" }));
    }
  }, 30000);
}

// --- the desk --------------------------------------------------------------------------

function isMine(conversation) {
  return conversation && conversation.status === "with_agent" && conversation.owner === state.me.username;
}

function canWrite(conversation) {
  const supervisor = state.me.role !== "agent";
  return conversation && conversation.status === "with_agent" && (isMine(conversation) || supervisor);
}

function renderQueue() {
  const body = $("queue").querySelector("tbody");
  body.replaceChildren();
  for (const item of state.queue) {
    const row = el(
      "tr",
      { class: item.priority > 0 ? "prio" : "", dataset: { conversation: item.id } },
      el("td", {}, el("button", { class: "link", onclick: () => openConversation(item.id) }, item.id)),
      el("td", { class: "wait", dataset: { since: item.waiting_since } }, waited(item.waiting_since)),
      el("td", {}, item.profile ? `${item.priority} · ${item.profile}` : item.priority),
      el("td", {}, item.language),
      el("td", {}, item.topic || "—"),
      el("td", { title: item.detail || "" }, item.reason),
      el("td", {}, el("button", { class: "claim", onclick: () => claim(item.id) }, "Claim")),
    );
    if (state.current && state.current.id === item.id) row.classList.add("selected");
    body.append(row);
  }
  $("queue-count").textContent = state.queue.length;
  $("queue-empty").hidden = state.queue.length > 0;
}

async function loadQueue() {
  state.queue = (await api("GET", "/queue")).conversations;
  renderQueue();
}

async function loadMine() {
  const mine = (await api("GET", "/conversations")).conversations;
  const list = $("mine");
  list.replaceChildren();
  for (const item of mine) {
    list.append(
      el("li", {}, el("button", { class: "link", onclick: () => openConversation(item.id) }, item.id),
        " ", el("span", { class: "muted" }, `${item.language} · ${item.reason}`)),
    );
  }
  if (!mine.length) list.append(el("li", { class: "muted" }, "None."));
}

async function loadCallbacks() {
  const callbacks = (await api("GET", "/callbacks")).callbacks;
  const list = $("callbacks");
  list.replaceChildren();
  for (const callback of callbacks) {
    list.append(
      el("li", {},
        el("strong", {}, callback.conversation_id), " ",
        el("span", { class: "muted" }, `${callback.language} · ${clock(callback.created_at)}`),
        el("div", {}, callback.text),
        el("button", { onclick: () => takeCallback(callback.id) }, "Take")),
    );
  }
  $("callback-count").textContent = callbacks.length;
  if (!callbacks.length) list.append(el("li", { class: "muted" }, "No messages left."));
}

function appendMessage(message) {
  if (state.seen.has(message.id)) return;
  state.seen.add(message.id);
  const who = { fan: "Fan", bot: "Bot", agent: "Agent", system: "Desk" }[message.sender] || message.sender;
  const item = el("li", { class: message.sender, dataset: { id: message.id } },
    el("span", { class: "who" }, `${who} · ${clock(message.created_at)}`), message.text);
  const transcript = $("transcript");
  transcript.append(item);
  transcript.scrollTop = transcript.scrollHeight;
}

function fillDl(dl, pairs) {
  dl.replaceChildren();
  for (const [key, value] of pairs) {
    dl.append(el("dt", {}, key), el("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value)));
  }
  if (!pairs.length) dl.append(el("dd", { class: "muted" }, "—"));
}

function renderNotes(notes) {
  const list = $("notes");
  list.replaceChildren();
  for (const note of notes) list.append(el("li", {}, el("strong", {}, note.author), ": ", note.text));
}

function renderConversation(conversation) {
  state.current = conversation;
  state.seen = new Set();
  $("no-conversation").hidden = true;
  $("conversation").hidden = false;
  $("context").hidden = false;
  $("conv-title").textContent = conversation.id;
  const status = $("conv-status");
  status.textContent = conversation.owner ? `${conversation.status} · ${conversation.owner}` : conversation.status;
  status.className = `pill ${conversation.status}`;
  $("transcript").replaceChildren();
  conversation.messages.forEach(appendMessage);
  const handoff = conversation.handoff || {};
  fillDl($("handoff-info"), [
    ["language", conversation.language],
    ["channel", conversation.channel],
    ["reason", handoff.reason ? `${handoff.reason}${handoff.detail ? ` (${handoff.detail})` : ""}` : "—"],
    ["priority", handoff.profile ? `${handoff.priority} · ${handoff.profile}` : handoff.priority ?? "—"],
    ["topic", handoff.topic || "—"],
    ["customer", conversation.context.customer],
  ]);
  fillDl($("slots"), Object.entries(conversation.context.slots || {}));
  const intents = $("intents");
  intents.replaceChildren();
  for (const intent of conversation.context.intents) {
    const confidence = intent.confidence == null ? "" : ` ${Number(intent.confidence).toFixed(2)}`;
    intents.append(el("li", {}, `${intent.intent}${confidence}`));
  }
  if (!conversation.context.intents.length) intents.append(el("li", { class: "muted" }, "—"));
  const orders = $("orders");
  orders.replaceChildren();
  for (const order of conversation.context.orders) {
    orders.append(el("li", {}, el("strong", {}, order.ref), ` ${order.status} · ${(order.total / 100).toFixed(2)} ${order.currency} · ${order.tickets} ticket(s)`));
  }
  if (!conversation.context.orders.length) orders.append(el("li", { class: "muted" }, "No orders."));
  renderNotes(conversation.notes);
  $("claim").disabled = conversation.status !== "queued";
  const writable = canWrite(conversation);
  for (const id of ["handback", "close", "send", "reply-text", "canned"]) $(id).disabled = !writable;
  renderQueue();
}

async function openConversation(id) {
  try {
    renderConversation(await api("GET", `/conversations/${encodeURIComponent(id)}`));
  } catch (error) {
    notify(error.message);
  }
}

async function refreshCurrent() {
  if (state.current) await openConversation(state.current.id);
}

async function claim(id) {
  try {
    await api("POST", `/conversations/${encodeURIComponent(id)}/claim`);
    await Promise.all([openConversation(id), loadQueue(), loadMine()]);
  } catch (error) {
    notify(error.message);
    await loadQueue();
  }
}

async function takeCallback(id) {
  try {
    const taken = await api("POST", `/callbacks/${id}/take`);
    await Promise.all([openConversation(taken.id), loadCallbacks(), loadMine()]);
  } catch (error) {
    notify(error.message);
  }
}

async function sendReply(event) {
  event.preventDefault();
  const box = $("reply-text");
  const text = box.value.trim();
  if (!text || !state.current) return;
  try {
    const message = await api("POST", `/conversations/${encodeURIComponent(state.current.id)}/messages`, { text });
    box.value = "";
    appendMessage(message);
  } catch (error) {
    notify(error.message);
  }
}

async function finish(action) {
  if (!state.current) return;
  const id = encodeURIComponent(state.current.id);
  const body = action === "close" ? { resolution: $("resolution").value } : undefined;
  try {
    await api("POST", `/conversations/${id}/${action}`, body);
    await Promise.all([refreshCurrent(), loadMine(), loadQueue()]);
  } catch (error) {
    notify(error.message);
  }
}

function sendTyping() {
  if (!canWrite(state.current) || !state.socket || state.socket.readyState !== WebSocket.OPEN) return;
  const now = Date.now();
  if (now - state.typingSentAt < 2000) return;
  state.typingSentAt = now;
  state.socket.send(JSON.stringify({ type: "typing", conversation_id: state.current.id }));
}

function showTyping() {
  $("typing").hidden = false;
  clearTimeout(state.typingTimer);
  state.typingTimer = setTimeout(() => { $("typing").hidden = true; }, 4000);
}

function onDeskEvent(event) {
  const current = state.current && event.conversation_id === state.current.id;
  switch (event.type) {
    case "queue":
      loadQueue();
      loadMine();
      if (current && event.action !== "added") refreshCurrent();
      break;
    case "message":
      if (current) appendMessage(event.message);
      if (current && event.message.sender === "fan") $("typing").hidden = true;
      break;
    case "typing":
      if (current && event.who === "fan") showTyping();
      break;
    case "status":
      if (current) refreshCurrent();
      loadMine();
      break;
    case "note":
      if (current) refreshCurrent();
      break;
    case "callback":
      loadCallbacks();
      break;
    default:
      break;
  }
}

async function initDesk() {
  state.canned = (await api("GET", "/canned")).replies;
  const select = $("canned");
  for (const reply of state.canned) select.append(el("option", { value: reply.id }, reply.title));
  select.addEventListener("change", () => {
    const reply = state.canned.find((r) => r.id === select.value);
    if (reply && state.current) {
      $("reply-text").value = state.current.language === "zh" ? reply.zh : reply.en;
      $("reply-text").focus();
    }
    select.value = "";
  });
  $("reply-form").addEventListener("submit", sendReply);
  $("reply-text").addEventListener("input", sendTyping);
  $("claim").addEventListener("click", () => state.current && claim(state.current.id));
  $("handback").addEventListener("click", () => finish("handback"));
  $("close").addEventListener("click", () => finish("close"));
  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note-text").value.trim();
    if (!text || !state.current) return;
    try {
      await api("POST", `/conversations/${encodeURIComponent(state.current.id)}/notes`, { text });
      $("note-text").value = "";
      await refreshCurrent();
    } catch (error) {
      notify(error.message);
    }
  });
  $("faq-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = await api("POST", "/knowledge", {
        question: $("faq-question").value.trim(),
        answer: $("faq-answer").value.trim(),
        language: (state.current && state.current.language) || "en",
        conversation_id: state.current ? state.current.id : null,
      });
      $("faq-saved").textContent = `Draft #${saved.id} saved.`;
      $("faq-question").value = "";
      $("faq-answer").value = "";
    } catch (error) {
      notify(error.message);
    }
  });
  setInterval(() => {
    for (const cell of document.querySelectorAll("td.wait")) cell.textContent = waited(cell.dataset.since);
  }, 1000);
  await Promise.all([loadQueue(), loadMine(), loadCallbacks()]);
  connect(onDeskEvent);
}

// --- the supervisor view -----------------------------------------------------------------

async function loadSupervisor() {
  const [queue, agents, drafts, audit] = await Promise.all([
    api("GET", "/queue?include_claimed=true"),
    api("GET", "/agents"),
    api("GET", "/knowledge?status=draft"),
    api("GET", "/audit?limit=50"),
  ]);
  const names = agents.agents.map((a) => a.username);
  const queueBody = $("live-queue").querySelector("tbody");
  queueBody.replaceChildren();
  for (const item of queue.conversations) {
    const select = el("select", { "aria-label": `assign ${item.id}` }, ...names.map((n) => el("option", { value: n }, n)));
    queueBody.append(el("tr", { class: item.priority > 0 ? "prio" : "" },
      el("td", {}, item.id),
      el("td", {}, el("span", { class: `pill ${item.status}` }, item.status)),
      el("td", {}, item.owner || "—"),
      el("td", { class: "wait", dataset: { since: item.waiting_since } }, waited(item.waiting_since)),
      el("td", {}, item.priority),
      el("td", {}, item.language),
      el("td", {}, item.reason),
      el("td", {}, select, " ", el("button", {
        onclick: async () => {
          try {
            await api("POST", `/conversations/${encodeURIComponent(item.id)}/assign`, { username: select.value });
          } catch (error) {
            notify(error.message);
          }
          await loadSupervisor();
        },
      }, "Assign"))));
  }
  const agentBody = $("agents").querySelector("tbody");
  agentBody.replaceChildren();
  for (const agent of agents.agents) {
    agentBody.append(el("tr", {},
      el("td", {}, agent.display_name), el("td", {}, agent.role), el("td", {}, agent.languages.join(", ")),
      el("td", {}, el("span", { class: `pill ${agent.online ? "online" : "offline"}` }, agent.online ? "online" : "offline")),
      el("td", {}, agent.open_conversations)));
  }
  const draftList = $("drafts");
  draftList.replaceChildren();
  for (const draft of drafts.drafts) {
    draftList.append(el("li", {},
      el("strong", {}, draft.question), el("div", {}, draft.answer),
      el("span", { class: "muted" }, `${draft.language} · by ${draft.created_by} `),
      el("button", {
        onclick: async () => {
          try {
            await api("POST", `/knowledge/${draft.id}/approve`, {});
          } catch (error) {
            notify(error.message);
          }
          await loadSupervisor();
        },
      }, "Approve")));
  }
  if (!drafts.drafts.length) draftList.append(el("li", { class: "muted" }, "No drafts."));
  const auditBody = $("audit").querySelector("tbody");
  auditBody.replaceChildren();
  for (const entry of audit.entries) {
    auditBody.append(el("tr", {}, el("td", {}, clock(entry.created_at)), el("td", {}, entry.username),
      el("td", {}, entry.action), el("td", {}, entry.conversation_id || "")));
  }
}

let supervisorTimer = null;
function onSupervisorEvent() {
  clearTimeout(supervisorTimer);
  supervisorTimer = setTimeout(loadSupervisor, 250);
}

async function initSupervisor() {
  await loadSupervisor();
  setInterval(() => {
    for (const cell of document.querySelectorAll("td.wait")) cell.textContent = waited(cell.dataset.since);
  }, 1000);
  setInterval(loadSupervisor, 15000); // presence changes without events
  connect(onSupervisorEvent);
}

// --- start -------------------------------------------------------------------------------

async function init() {
  state.me = await api("GET", "/me");
  state.csrf = state.me.csrf_token;
  $("me").textContent = `${state.me.display_name} (${state.me.role}) · ${state.me.languages.join("/")}`;
  const link = $("supervisor-link");
  if (link) link.hidden = state.me.role === "agent";
  $("sign-out").addEventListener("click", async () => {
    await api("DELETE", "/session");
    window.location.assign("/console/");
  });
  if (document.body.dataset.page === "supervisor") await initSupervisor();
  else await initDesk();
}

init();
