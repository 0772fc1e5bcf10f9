/* Matchday Desk web widget: one <script src=".../widget.js"> tag, no framework needed.
 *
 * Data attributes of the script tag (all optional):
 *   data-gateway   the desk's address (default: where this script was loaded from)
 *   data-language  "en" or "zh" (default: the browser's language)
 *   data-open      "true" to show the chat open on the first visit
 *   data-storage   "session" keeps the conversation for the browser tab only
 *                  (default "local": it survives closing the tab)
 *   data-club      the club's name in the English header (default: the club's own)
 *
 * The widget lives in an open shadow root (styles never leak in or out). It opens a
 * session with POST /api/v1/widget/sessions, keeps the token it gets in storage,
 * restores the transcript from /api/v1/widget/history and talks over the widget
 * WebSocket. Messages not yet acknowledged stay in an outbox (in storage too) and are
 * sent again after a reconnect; the desk ignores a repeated client message id. The desk
 * renews the token over the socket (a `token` frame) while the chat is open; a socket
 * over the desk's caps (too many tabs, too many chats from one network) is closed with
 * 4429 and retried only every 15 s to 2 minutes.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__matchdayWidget) return;
  var data = script.dataset || {};
  var gateway = (data.gateway || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var store = data.storage === "session" ? window.sessionStorage : window.localStorage;
  var storeKey = "matchday-widget:" + gateway;
  // The widget's texts by language ("en", "zh"), and the club's name in each ("club"):
  // the desk writes them here from its text catalogue (data/texts/, `widget.*`) when it
  // serves this script. data-club replaces the English name.
  var TEXT = /* texts */ {};
  if (data.club) TEXT.club.en = data.club;

  var CSS = [
    ":host{all:initial;position:fixed;right:16px;bottom:16px;z-index:2147483000;",
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK SC',",
    "'WenQuanYi Zen Hei','PingFang SC','Microsoft YaHei',sans-serif;font-size:15px;",
    "line-height:1.4;color:#1b1f24}",
    "*{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);",
    "white-space:nowrap}",
    "button{font:inherit;cursor:pointer}",
    ":focus-visible{outline:3px solid #f2b705;outline-offset:2px}",
    ".launcher{background:#0b4f8a;color:#fff;border:0;border-radius:24px;padding:12px 20px;",
    "box-shadow:0 4px 16px rgba(0,0,0,.25);font-weight:600}",
    ".panel{width:min(380px,calc(100vw - 32px));height:min(600px,calc(100vh - 32px));",
    "display:flex;flex-direction:column;background:#fff;border-radius:12px;overflow:hidden;",
    "box-shadow:0 8px 32px rgba(0,0,0,.3);border:1px solid #c9d1d9}",
    "header{display:flex;align-items:center;gap:6px;background:#0b4f8a;color:#fff;",
    "padding:8px 10px}",
    "h2{flex:1;margin:0;font-size:1.05em;font-weight:600;overflow:hidden;",
    "text-overflow:ellipsis;white-space:nowrap}",
    "header button{background:transparent;color:#fff;border:1px solid rgba(255,255,255,.6);",
    "border-radius:6px;padding:4px 8px;font-size:.85em;min-height:32px}",
    "header button[aria-pressed=true]{background:#fff;color:#0b4f8a}",
    ".status{padding:6px 12px;background:#fff7d6;color:#4d3b00;font-size:.9em;",
    "border-bottom:1px solid #eadb9a}",
    ".status:empty{display:none}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;",
    "background:#f4f6f8}",
    ".msg{max-width:85%;display:flex;flex-direction:column;gap:6px}",
    ".msg .text{padding:8px 12px;border-radius:14px;white-space:pre-wrap;",
    "overflow-wrap:anywhere;background:#fff;border:1px solid #d5dbe1}",
    ".msg.fan{align-self:flex-end}",
    ".msg.fan .text{background:#0b4f8a;color:#fff;border-color:#0b4f8a}",
    ".msg.agent .text{background:#e6f4ea;border-color:#9fd3ae}",
    ".msg.system .text{background:#fff7d6;border-color:#eadb9a}",
    ".msg.welcome .text{background:#fff}",
    ".msg.pending .text{opacity:.7}",
    ".msg .note{font-size:.75em;color:#57606a;align-self:flex-end}",
    ".msg.failed .note{color:#b42318}",
    ".buttons{display:flex;flex-wrap:wrap;gap:6px}",
    ".buttons button{background:#fff;color:#0b4f8a;border:1.5px solid #0b4f8a;",
    "border-radius:16px;padding:6px 12px;min-height:36px}",
    ".buttons button:hover{background:#e8f0f8}",
    ".msg img{width:200px;max-width:100%;height:auto;background:#fff;border:1px solid #d5dbe1;",
    "border-radius:8px;padding:6px;image-rendering:pixelated}",
    ".typing{padding:4px 12px;font-size:.85em;color:#57606a;background:#f4f6f8}",
    "form{display:flex;gap:8px;padding:8px;border-top:1px solid #d5dbe1;background:#fff}",
    "input{flex:1;min-width:0;font:inherit;padding:10px 12px;border:1.5px solid #8c959f;",
    "border-radius:20px;color:inherit;background:#fff}",
    "form button{background:#0b4f8a;color:#fff;border:0;border-radius:20px;padding:0 18px;",
    "font-weight:600;min-height:42px}",
    /* large text, high contrast: for fans who find the normal chat hard to read */
    ".root.large{font-size:21px;line-height:1.5}",
    ".root.large .panel{background:#000;border:3px solid #fff}",
    ".root.large header{background:#000;border-bottom:3px solid #ffd400;flex-wrap:wrap}",
    ".root.large h2{flex-basis:100%;white-space:normal}",
    ".root.large header button{border:2px solid #fff}",
    ".root.large header button[aria-pressed=true]{background:#ffd400;color:#000}",
    ".root.large .log,.root.large .typing{background:#000;color:#fff}",
    ".root.large .msg .text{background:#000;color:#fff;border:2px solid #fff}",
    ".root.large .msg.fan .text{background:#ffd400;color:#000;border-color:#ffd400}",
    ".root.large .msg.agent .text,.root.large .msg.system .text{border-color:#7ee0ff}",
    ".root.large .msg .note{color:#fff}",
    ".root.large .status{background:#ffd400;color:#000}",
    ".root.large .buttons button{background:#000;color:#ffd400;border:2px solid #ffd400}",
    ".root.large form{background:#000;border-top:3px solid #fff}",
    ".root.large input{background:#fff;color:#000;border:3px solid #ffd400}",
    ".root.large form button,.root.large .launcher{background:#ffd400;color:#000}",
    ".root.large :focus-visible{outline:4px solid #7ee0ff}",
    "@media (max-width:480px){:host{right:0;bottom:0;left:auto}",
    ".panel{width:100vw;height:100vh;height:100dvh;border-radius:0;border:0}",
    ".launcher{margin:0 12px 12px 0}}",
  ].join("");

  // --- state ------------------------------------------------------------------------------

  function load() {
    try {
      return JSON.parse(store.getItem(storeKey) || "{}") || {};
    } catch (e) {
      return {};
    }
  }
  var saved = load();
  var state = {
    token: saved.token || null,
    conversationId: saved.conversationId || null,
    language: saved.language || data.language || (/^zh/i.test(navigator.language || "") ? "zh" : "en"),
    large: !!saved.large,
    open: saved.open === undefined ? data.open === "true" : !!saved.open,
    outbox: Array.isArray(saved.outbox) ? saved.outbox : [],
  };
  if (state.language !== "zh") state.language = "en";

  function save() {
    try {
      store.setItem(
        storeKey,
        JSON.stringify({
          token: state.token,
          conversationId: state.conversationId,
          language: state.language,
          large: state.large,
          open: state.open,
          outbox: state.outbox,
        })
      );
    } catch (e) {
      /* storage full or blocked: the chat still works for this page view */
    }
  }

  var socket = null;
  var attempt = 0;
  var lastId = 0;
  var status = { status: "bot", position: null };
  var connection = "connecting";
  var refused = false;
  var busy = null; // "too_many_tabs" or "busy_network" while over the desk's socket caps
  var busyAttempt = 0;
  var rendered = new Map(); // message id -> element
  var stored = new Set(); // client message ids the desk has stored
  var pending = new Map(); // client message id -> element
  var buttonTitles = new Map(); // payload -> title, to show a pressed button as its title
  var typingTimer = null;
  var lastTypingSent = 0;
  var pingTimer = null;
  var sentAt = new Map(); // client message id -> when it first went over a socket
  var timings = []; // milliseconds from sending to the acknowledged reply

  // The text `key` in the chat's language, with {club} and the `values` filled in.
  function t(key, values) {
    var filled = { club: TEXT.club[state.language] };
    for (var name in values || {}) filled[name] = values[name];
    return TEXT[state.language][key].replace(/\{(\w+)\}/g, function (whole, name) {
      return name in filled ? String(filled[name]) : whole;
    });
  }

  // --- DOM --------------------------------------------------------------------------------

  var host = document.createElement("matchday-chat");
  var shadow = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet === "function") {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = CSS;
    shadow.appendChild(style);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  var root = el("div", { class: "root" });
  var launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false" });
  var panel = el("section", { class: "panel", role: "dialog", "aria-modal": "false" });
  var title = el("h2", { id: "mdw-title" });
  var langButton = el("button", { class: "lang", type: "button" });
  var largeButton = el("button", { class: "large", type: "button", "aria-pressed": "false" });
  var closeButton = el("button", { class: "close", type: "button", text: "✕" });
  var statusBar = el("div", { class: "status", role: "status" });
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" });
  var typing = el("div", { class: "typing", "aria-live": "polite", hidden: "" });
  var input = el("input", {
    type: "text",
    name: "message",
    autocomplete: "off",
    maxlength: "4000",
    enterkeyhint: "send",
  });
  var sendButton = el("button", { type: "submit", class: "send" });
  var form = el("form", { class: "composer" }, [input, sendButton]);
  panel.setAttribute("aria-labelledby", "mdw-title");
  panel.appendChild(el("header", {}, [title, langButton, largeButton, closeButton]));
  [statusBar, log, typing, form].forEach(function (n) {
    panel.appendChild(n);
  });
  var welcome = el("div", { class: "msg bot welcome" }, [el("div", { class: "text" })]);
  log.appendChild(welcome);
  root.appendChild(panel);
  root.appendChild(launcher);
  shadow.appendChild(root);

  function applyLanguage() {
    var zh = state.language === "zh";
    root.setAttribute("lang", zh ? "zh-CN" : "en");
    title.textContent = t("title");
    launcher.textContent = t("launcher");
    closeButton.setAttribute("aria-label", t("close"));
    langButton.textContent = t("other_language");
    langButton.setAttribute("lang", zh ? "en" : "zh-CN");
    langButton.setAttribute("title", t("other_language_name"));
    largeButton.textContent = t("large");
    input.setAttribute("aria-label", t("message"));
    input.setAttribute("placeholder", t("placeholder"));
    sendButton.textContent = t("send");
    log.setAttribute("aria-label", t("log"));
    welcome.firstChild.textContent = t("welcome");
    rendered.forEach(labelSender);
    pending.forEach(labelSender);
    showStatus();
  }

  function applyLarge() {
    root.classList.toggle("large", state.large);
    largeButton.setAttribute("aria-pressed", state.large ? "true" : "false");
  }

  function applyOpen(focus) {
    panel.hidden = !state.open;
    launcher.hidden = state.open;
    launcher.setAttribute("aria-expanded", state.open ? "true" : "false");
    if (focus) (state.open ? input : launcher).focus();
    if (state.open) log.scrollTop = log.scrollHeight;
  }

  function showStatus() {
    var text = "";
    if (refused) text = t("refused");
    else if (busy && connection !== "online") text = t(busy);
    else if (connection === "unavailable") text = t("unavailable");
    else if (connection === "connecting") text = t("connecting");
    else if (connection === "offline") text = t("reconnecting");
    else if (status.status === "queued")
      text = status.position ? t("queued", { n: status.position }) : t("queued_no_position");
    else if (status.status === "with_agent") text = t("with_agent");
    else if (status.status === "closed") text = t("closed");
    statusBar.textContent = text;
    root.dataset.connection = connection;
    root.dataset.status = status.status;
  }

  // `note`: what the desk says while the fan waits ("one moment ..." when it is busy).
  function showTyping(who, note) {
    clearTimeout(typingTimer);
    if (!who) {
      typing.hidden = true;
      return;
    }
    typing.textContent = note || (who === "agent" ? t("typing_agent") : t("typing_bot"));
    typing.hidden = false;
    typingTimer = setTimeout(function () {
      typing.hidden = true;
    }, who === "agent" ? 6000 : note ? 120000 : 30000);
  }

  function senderName(sender) {
    if (sender === "you") return t("you");
    if (sender === "agent") return t("agent");
    if (sender === "system") return t("system");
    return t("bot");
  }

  function labelSender(node) {
    var who = node.querySelector(".who");
    if (who) who.textContent = senderName(node.dataset.sender) + ": ";
  }

  function resolve(url) {
    try {
      var resolved = new URL(url, gateway + "/");
      return /^https?:$/.test(resolved.protocol) ? resolved.href : "";
    } catch (e) {
      return "";
    }
  }

  function messageNode(sender, text, extra) {
    var node = el("div", { class: "msg " + sender });
    node.dataset.sender = sender === "fan" ? "you" : sender;
    var bubble = el("div", { class: "text" });
    bubble.appendChild(el("span", { class: "sr who" }));
    bubble.appendChild(document.createTextNode(text));
    if (text || !extra || !extra.image) node.appendChild(bubble);
    else node.appendChild(el("span", { class: "sr who" }));
    labelSender(node);
    if (extra && extra.image) {
      var src = resolve(extra.image);
      if (src) node.appendChild(el("img", { src: src, alt: t("ticket"), class: "qr" }));
    }
    if (extra && extra.buttons && extra.buttons.length) {
      var row = el("div", { class: "buttons" });
      extra.buttons.forEach(function (b) {
        buttonTitles.set(b.payload, b.title);
        var button = el("button", { type: "button", text: b.title });
        button.addEventListener("click", function () {
          submit(b.payload, b.title);
        });
        row.appendChild(button);
      });
      node.appendChild(row);
    }
    return node;
  }

  function append(node) {
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    log.appendChild(node);
    if (atBottom || node.classList.contains("fan")) log.scrollTop = log.scrollHeight;
  }

  function showMessage(m) {
    if (rendered.has(m.id)) return;
    lastId = Math.max(lastId, m.id);
    if (m.client_message_id) stored.add(m.client_message_id);
    var mine = m.client_message_id && pending.get(m.client_message_id);
    if (mine) {
      pending.delete(m.client_message_id);
      mine.classList.remove("pending", "failed");
      var note = mine.querySelector(".note");
      if (note) note.remove();
      mine.dataset.id = m.id;
      rendered.set(m.id, mine);
      return;
    }
    var shown = m.sender === "fan" && buttonTitles.has(m.text) ? buttonTitles.get(m.text) : m.text;
    var node = messageNode(m.sender, shown, m);
    node.dataset.id = m.id;
    rendered.set(m.id, node);
    append(node);
    if (m.sender !== "fan") showTyping(null);
  }

  // --- sending ----------------------------------------------------------------------------

  function newId() {
    var random = new Uint8Array(8);
    (window.crypto || window.msCrypto).getRandomValues(random);
    return "w" + Date.now().toString(36) + "-" + Array.prototype.map.call(random, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function pendingNode(item) {
    var node = messageNode("fan", item.display || item.text);
    node.classList.add("pending");
    node.dataset.clientId = item.id;
    node.appendChild(el("span", { class: "note", text: t("sending") }));
    pending.set(item.id, node);
    append(node);
  }

  function submit(text, display) {
    text = (text || "").trim();
    if (!text || refused) return;
    var item = { id: newId(), text: text, language: state.language, display: display || null };
    state.outbox.push(item);
    save();
    pendingNode(item);
    transmit(item);
  }

  function transmit(item) {
    if (socket && socket.readyState === WebSocket.OPEN && socket.ready) {
      if (!sentAt.has(item.id)) sentAt.set(item.id, performance.now());
      socket.send(
        JSON.stringify({ type: "message", id: item.id, text: item.text, language: item.language })
      );
    }
  }

  function acknowledged(id) {
    if (sentAt.has(id)) {
      timings.push(performance.now() - sentAt.get(id));
      sentAt.delete(id);
    }
    state.outbox = state.outbox.filter(function (item) {
      return item.id !== id;
    });
    save();
    var node = pending.get(id);
    if (node) {
      // Stored but its row has not come back (e.g. an answer from an earlier attempt).
      node.classList.remove("pending");
      var note = node.querySelector(".note");
      if (note) note.remove();
    }
  }

  function failed(id, message) {
    state.outbox = state.outbox.filter(function (item) {
      return item.id !== id;
    });
    save();
    var node = pending.get(id);
    if (node) {
      pending.delete(id);
      node.classList.remove("pending");
      node.classList.add("failed");
      var note = node.querySelector(".note");
      if (note) note.textContent = t("failed") + (message ? ": " + message : "");
    }
  }

  // --- session, history, socket -----------------------------------------------------------

  function backoff() {
    var base = Math.min(10000, 500 * Math.pow(2, attempt));
    attempt = Math.min(attempt + 1, 8);
    return base / 2 + Math.random() * (base / 2);
  }

  // Over a socket cap: 15 s doubling to 2 minutes, jittered (a closed tab frees a slot).
  function busyBackoff() {
    var base = Math.min(120000, 15000 * Math.pow(2, busyAttempt));
    busyAttempt = Math.min(busyAttempt + 1, 3);
    return base / 2 + Math.random() * (base / 2);
  }

  function later(fn, ms) {
    setTimeout(fn, ms === undefined ? backoff() : ms);
  }

  function forget() {
    state.token = null;
    state.conversationId = null;
    save();
  }

  function openSession() {
    connection = connection === "online" ? "offline" : connection;
    fetch(gateway + "/api/v1/widget/sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(state.token ? { token: state.token } : {}),
      mode: "cors",
      credentials: "omit",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            return { response: response, body: body };
          });
      })
      .then(function (result) {
        var response = result.response;
        var body = result.body;
        if (response.ok) {
          if (state.conversationId && state.conversationId !== body.conversation_id) resetLog();
          state.token = body.token;
          state.conversationId = body.conversation_id;
          save();
          status = { status: body.status, position: body.position };
          loadHistory(0);
        } else if (response.status === 401) {
          forget(); // expired or not valid here: start a new conversation
          resetLog();
          later(openSession, 0);
        } else if (response.status === 403) {
          refused = true;
          root.dataset.refused = (body.error && body.error.code) || "forbidden";
          showStatus();
        } else {
          connection = "unavailable";
          showStatus();
          var wait = Number(response.headers.get("Retry-After"));
          later(openSession, wait > 0 ? wait * 1000 : undefined);
        }
      })
      .catch(function () {
        connection = "unavailable";
        showStatus();
        later(openSession);
      });
  }

  function resetLog() {
    rendered.forEach(function (node) {
      node.remove();
    });
    pending.forEach(function (node) {
      node.remove();
    });
    rendered.clear();
    pending.clear();
    stored.clear();
    state.outbox = [];
    lastId = 0;
    save();
  }

  function loadHistory(after) {
    fetch(gateway + "/api/v1/widget/history?after=" + after, {
      headers: { Authorization: "Bearer " + state.token },
      mode: "cors",
      credentials: "omit",
    })
      .then(function (response) {
        if (response.status === 401) throw new Error("token");
        if (!response.ok) throw new Error("history " + response.status);
        return response.json();
      })
      .then(function (body) {
        body.messages.forEach(showMessage);
        if (body.messages.length >= 200) return loadHistory(lastId);
        status = { status: body.status, position: body.position };
        showStatus();
        // What this page had not got acknowledged (before a reload) is still to send,
        // unless the desk has it already.
        state.outbox = state.outbox.filter(function (item) {
          return !stored.has(item.id);
        });
        save();
        state.outbox.forEach(function (item) {
          if (!pending.has(item.id)) pendingNode(item);
        });
        connect();
      })
      .catch(function (error) {
        if (error && error.message === "token") {
          forget();
          later(openSession, 0);
        } else later(connect);
      });
  }

  function connect() {
    var url = gateway.replace(/^http/, "ws") + "/api/v1/widget/ws";
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      later(connect);
      return;
    }
    socket = ws;
    ws.ready = false;
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", token: state.token, after: lastId }));
    };
    ws.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      receive(ws, frame);
    };
    ws.onclose = function (event) {
      clearInterval(pingTimer);
      if (socket !== ws) return;
      socket = null;
      connection = "offline";
      if (event.code === 4429) {
        busy = event.reason === "too_many_tabs" ? "too_many_tabs" : "busy_network";
      }
      showStatus();
      showTyping(null);
      if (event.code === 4401) {
        // The token no longer works (expired, revoked): resume or start a new session, at
        // once the first time and with backoff if it happens again before a welcome.
        later(openSession, attempt === 0 ? 0 : undefined);
        if (attempt === 0) attempt = 1;
      } else if (event.code === 4429) {
        later(connect, busyBackoff());
      } else later(connect);
    };
  }

  function receive(ws, frame) {
    switch (frame.type) {
      case "welcome":
        attempt = 0;
        busy = null;
        busyAttempt = 0;
        ws.ready = true;
        connection = "online";
        status = { status: frame.status, position: frame.position };
        showStatus();
        state.outbox.forEach(transmit); // anything not acknowledged goes again
        clearInterval(pingTimer);
        pingTimer = setInterval(function () {
          if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
        }, 25000);
        break;
      case "message":
        showMessage(frame.message);
        break;
      case "token":
        // Renewed by the desk while the chat is open: it replaces the stored one.
        state.token = frame.token;
        save();
        break;
      case "ack":
        acknowledged(frame.id);
        showTyping(null);
        break;
      case "typing":
        showTyping(frame.who, typeof frame.note === "string" ? frame.note : null);
        break;
      case "status":
        status = { status: frame.status, position: frame.position };
        showStatus();
        break;
      case "error":
        if (frame.id && frame.retry) {
          later(function () {
            state.outbox.forEach(function (item) {
              if (item.id === frame.id) transmit(item);
            });
          }, 3000);
        } else if (frame.id && frame.code !== "slow_down" && frame.code !== "busy") {
          failed(frame.id, frame.message);
        } else if (frame.id) {
          later(function () {
            state.outbox.forEach(function (item) {
              if (item.id === frame.id) transmit(item);
            });
          }, 4000);
        }
        showTyping(null);
        break;
    }
  }

  // --- events -----------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    submit(text);
    input.focus();
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (socket && socket.ready && now - lastTypingSent > 2000) {
      lastTypingSent = now;
      socket.send('{"type":"typing"}');
    }
  });
  launcher.addEventListener("click", function () {
    state.open = true;
    save();
    applyOpen(true);
  });
  closeButton.addEventListener("click", function () {
    state.open = false;
    save();
    applyOpen(true);
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      state.open = false;
      save();
      applyOpen(true);
    }
  });
  langButton.addEventListener("click", function () {
    state.language = state.language === "zh" ? "en" : "zh";
    save();
    applyLanguage();
  });
  largeButton.addEventListener("click", function () {
    state.large = !state.large;
    save();
    applyLarge();
  });

  function mount() {
    document.body.appendChild(host);
    applyLanguage();
    applyLarge();
    applyOpen(false);
    openSession();
  }

  window.__matchdayWidget = {
    version: 1,
    host: host,
    timings: timings,
    get conversationId() {
      return state.conversationId;
    },
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
