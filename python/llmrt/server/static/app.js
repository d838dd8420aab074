// The chat page of `llmrt serve`: conversations kept in localStorage, replies streamed from
// /v1/chat/completions. Model output only ever reaches the page as text nodes (textContent,
// createTextNode): the Markdown (markdown.js) builds elements itself and never parses HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { el, renderMarkdown } = window.llmrtMarkdown;
  const STORE = { chats: "llmrt.chats", current: "llmrt.current", settings: "llmrt.settings", key: "llmrt.apiKey" };
  const DEFAULTS = { system: "", temperature: 0.8, top_p: 0.95, max_tokens: 1024, schema: "" };
  const TITLE_CHARS = 48;
  const SAVE_EVERY_MS = 1000;

  // ---- storage ------------------------------------------------------------------------------

  function load(key, fallback) {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      return value ?? fallback;
    } catch {
      return fallback;
    }
  }

  function save(key, value) {
    localStorage.setItem(key, JSON.stringify(value));
  }

  // Stored data may be old or hand-edited: keep only well-formed conversations.
  function validChats(raw) {
    if (!Array.isArray(raw)) return [];
    return raw.filter((c) => c && typeof c.id === "string" && Array.isArray(c.messages)).map((c) => ({
      id: c.id,
      title: String(c.title || "New chat"),
      updated: Number(c.updated) || 0,
      messages: c.messages.filter((m) => m && (m.role === "user" || m.role === "assistant"))
        .map((m) => ({ role: m.role, content: String(m.content ?? "") })),
    }));
  }

  let chats = validChats(load(STORE.chats, []));
  let currentId = load(STORE.current, null);
  let settings = { ...DEFAULTS, ...load(STORE.settings, {}) };
  let controller = null; // aborts the reply being streamed

  function persist() {
    save(STORE.chats, chats);
    save(STORE.current, currentId);
  }

  const currentChat = () => chats.find((c) => c.id === currentId) || null;
  const newId = () => Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

  // ---- server ---------------------------------------------------------------------------------

  let keyPrompt = null; // one prompt shared by every request that met a 401

  function askKey(refused) {
    if (keyPrompt) return keyPrompt;
    const dialog = $("key-dialog");
    const form = $("key-form");
    $("key-error").hidden = !refused;
    keyPrompt = new Promise((resolve, reject) => {
      const done = (ok) => {
        form.removeEventListener("submit", submit);
        dialog.removeEventListener("close", closed);
        keyPrompt = null;
        if (ok) resolve(); else reject(new Error("This server needs an API key."));
      };
      const submit = (event) => {
        event.preventDefault();
        save(STORE.key, $("key-input").value.trim());
        done(true);
        dialog.close();
      };
      const closed = () => done(false);
      form.addEventListener("submit", submit);
      dialog.addEventListener("close", closed);
    });
    $("key-input").value = "";
    dialog.showModal();
    return keyPrompt;
  }

  // fetch with the stored key; a 401 asks for a key and tries again.
  async function api(path, init = {}) {
    for (let refused = false; ; refused = true) {
      const headers = { "Content-Type": "application/json" };
      const key = load(STORE.key, "");
      if (key) headers.Authorization = `Bearer ${key}`;
      const res = await fetch(path, { ...init, headers });
      if (res.status !== 401) return res;
      await askKey(refused && Boolean(key));
    }
  }

  async function errorMessage(res) {
    try {
      const body = await res.json();
      return body.error?.message || body.detail?.[0]?.msg || `HTTP ${res.status}`;
    } catch {
      return `HTTP ${res.status}`;
    }
  }

  // Server-sent events from a fetch body: calls onData with each event's parsed JSON.
  async function readEvents(res, onData) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const data = buffer.slice(0, cut).split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart()).join("\n");
        buffer = buffer.slice(cut + 2);
        if (data === "[DONE]") return;
        if (data) onData(JSON.parse(data));
      }
    }
  }

  async function loadModel() {
    try {
      const res = await api("/v1/models");
      if (!res.ok) throw new Error(await errorMessage(res));
      $("model").textContent = (await res.json()).data[0].id;
    } catch (e) {
      $("model").textContent = "unavailable";
      showStatus(e.message);
    }
  }

  function requestBody(messages) {
    const body = { messages, stream: true, stream_options: { include_usage: true } };
    for (const field of ["temperature", "top_p", "max_tokens"]) {
      if (settings[field] != null && settings[field] !== "") body[field] = Number(settings[field]);
    }
    if (String(settings.system ?? "").trim()) body.messages = [{ role: "system", content: settings.system }, ...messages];
    if (String(settings.schema ?? "").trim()) {
      let schema;
      try {
        schema = JSON.parse(settings.schema);
      } catch (e) {
        throw new Error(`The response JSON schema in Settings is not valid JSON: ${e.message}`);
      }
      body.response_format = { type: "json_schema", json_schema: { name: "reply", schema } };
    }
    return body;
  }

  // ---- conversation view ----------------------------------------------------------------------

  function messageNode(message) {
    const node = el("article", undefined, `msg ${message.role}`);
    node.append(el("h2", message.role === "user" ? "You" : "Assistant", "who"));
    const body = el("div", undefined, "body");
    if (message.role === "user") body.textContent = message.content;
    else body.append(renderMarkdown(message.content));
    node.append(body);
    return node;
  }

  function nearBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  }

  function renderChat() {
    const box = $("messages");
    const chat = currentChat();
    box.replaceChildren(...(chat ? chat.messages.map(messageNode) : []));
    if (!chat || !chat.messages.length) box.append(el("p", "Ask anything to start.", "empty"));
    box.scrollTop = box.scrollHeight;
    renderList();
  }

  function renderList() {
    const list = $("chat-list");
    list.replaceChildren(...[...chats].sort((a, b) => b.updated - a.updated).map((chat) => {
      const li = el("li");
      const open = el("button", chat.title, "chat-title");
      open.type = "button";
      if (chat.id === currentId) open.setAttribute("aria-current", "true");
      open.addEventListener("click", () => selectChat(chat.id));
      const del = el("button", "\u00d7", "delete");
      del.type = "button";
      del.setAttribute("aria-label", `Delete conversation: ${chat.title}`);
      del.addEventListener("click", () => deleteChat(chat.id));
      li.append(open, del);
      return li;
    }));
  }

  function selectChat(id) {
    stopReply();
    currentId = id;
    persist();
    renderChat();
    showChats(false);
    $("prompt").focus();
  }

  function newChat() {
    stopReply();
    currentId = null; // created on the first message, so empty chats never pile up
    persist();
    renderChat();
    showChats(false);
    $("prompt").focus();
  }

  function deleteChat(id) {
    if (id === currentId) {
      stopReply();
      currentId = null;
    }
    chats = chats.filter((c) => c.id !== id);
    persist();
    renderChat();
    $("new-chat").focus();
  }

  function showStatus(text) {
    const status = $("status");
    status.textContent = text || "";
    status.hidden = !text;
  }

  // ---- sending --------------------------------------------------------------------------------

  function setBusy(busy) {
    $("send").disabled = busy;
    $("stop").hidden = !busy;
    // A screen reader hears the finished reply once, not every token of it.
    $("messages").setAttribute("aria-busy", String(busy));
  }

  function stopReply() {
    if (controller) controller.abort();
  }

  // tokens/s from the first token on; chunks stand for tokens until the final usage says how many
  function speedMeter() {
    const speed = $("speed");
    let first = 0;
    let chunks = 0;
    const show = (n) => {
      const seconds = (performance.now() - first) / 1000;
      if (seconds > 0) speed.textContent = `${n} tokens \u00b7 ${(n / seconds).toFixed(1)} tokens/s`;
    };
    return {
      chunk() {
        if (!first) first = performance.now();
        chunks += 1;
        show(chunks);
      },
      usage(tokens) {
        if (first) show(tokens);
      },
    };
  }

  async function send(text) {
    showStatus("");
    let chat = currentChat();
    const history = [...(chat ? chat.messages : []), { role: "user", content: text }];
    let body;
    try {
      body = JSON.stringify(requestBody(history));
    } catch (e) {
      showStatus(e.message);
      return false;
    }
    if (!chat) {
      chat = { id: newId(), title: text.replace(/\s+/g, " ").slice(0, TITLE_CHARS), messages: [], updated: 0 };
      chats.push(chat);
      currentId = chat.id;
    }
    const reply = { role: "assistant", content: "" };
    chat.messages.push(history[history.length - 1], reply);
    chat.updated = Date.now();
    persist();
    renderChat();
    const box = $("messages");
    const replyBody = box.lastElementChild.querySelector(".body");
    const meter = speedMeter();
    let savedAt = performance.now();
    controller = new AbortController();
    setBusy(true);
    try {
      const res = await api("/v1/chat/completions", { method: "POST", body, signal: controller.signal });
      if (!res.ok) throw new Error(await errorMessage(res));
      await readEvents(res, (event) => {
        if (event.error) throw new Error(event.error.message);
        if (event.usage) meter.usage(event.usage.completion_tokens);
        const piece = event.choices?.[0]?.delta?.content;
        if (!piece) return;
        const follow = nearBottom(box);
        reply.content += piece;
        replyBody.replaceChildren(renderMarkdown(reply.content));
        meter.chunk();
        // A reload or a closed tab mid-reply keeps what had arrived.
        if (performance.now() - savedAt > SAVE_EVERY_MS) {
          persist();
          savedAt = performance.now();
        }
        if (follow) box.scrollTop = box.scrollHeight;
      });
    } catch (e) {
      if (e.name !== "AbortError") showStatus(e.message);
    } finally {
      controller.abort(); // a reply that failed half way must not keep the server generating
      controller = null;
      setBusy(false);
      if (!reply.content) {
        chat.messages.splice(chat.messages.indexOf(reply), 1);
        replyBody.closest(".msg").remove();
      }
      persist();
    }
    return true;
  }

  // ---- settings and panels --------------------------------------------------------------------

  const SETTING_INPUTS = { system: "set-system", temperature: "set-temperature", top_p: "set-top-p",
                           max_tokens: "set-max-tokens", schema: "set-schema" };

  function bindSettings() {
    for (const [field, id] of Object.entries(SETTING_INPUTS)) {
      const input = $(id);
      input.value = settings[field] ?? "";
      input.addEventListener("input", () => {
        settings[field] = input.type === "number" ? (input.value === "" ? null : Number(input.value)) : input.value;
        save(STORE.settings, settings);
      });
    }
  }

  function showSettings(open) {
    $("settings").hidden = !open;
    $("toggle-settings").setAttribute("aria-expanded", String(open));
    (open ? $("set-system") : $("toggle-settings")).focus();
  }

  function showChats(open) {
    $("chats").classList.toggle("open", open);
    $("toggle-chats").setAttribute("aria-expanded", String(open));
    if (open) $("new-chat").focus();
  }

  function bindEvents() {
    const prompt = $("prompt");
    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = prompt.value.trim();
      if (!text || controller) return;
      prompt.value = "";
      if (!(await send(text))) prompt.value = text;
      prompt.focus();
    });
    prompt.addEventListener("keydown", (event) => {
      // Enter sends, Shift+Enter writes a newline; an input method composing text keeps Enter.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("composer").requestSubmit();
      } else if (event.key === "Escape") {
        stopReply();
      }
    });
    $("stop").addEventListener("click", () => {
      stopReply();
      prompt.focus();
    });
    $("new-chat").addEventListener("click", newChat);
    $("toggle-settings").addEventListener("click", () => showSettings($("settings").hidden));
    $("close-settings").addEventListener("click", () => showSettings(false));
    $("settings").addEventListener("keydown", (event) => {
      if (event.key === "Escape") showSettings(false);
    });
    $("toggle-chats").addEventListener("click", () => showChats(!$("chats").classList.contains("open")));
    $("chats").addEventListener("keydown", (event) => {
      if (event.key === "Escape" && $("chats").classList.contains("open")) {
        showChats(false);
        $("toggle-chats").focus();
      }
    });
    // Another tab changed the conversations: show its version unless a reply is streaming here.
    window.addEventListener("storage", (event) => {
      if (event.key !== STORE.chats || controller) return;
      chats = validChats(load(STORE.chats, []));
      renderChat();
    });
  }

  bindSettings();
  bindEvents();
  renderChat();
  loadModel();
})();
