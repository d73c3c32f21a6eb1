// Headwater web UI: progressive enhancement only. Every page works without this file; with it,
// connector status and sync history update live, conditional form fields show and hide, answers
// stream in, and icons that fail to load fall back to initials. No third-party code, no build step.
"use strict";

(function () {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  // ---- icons: a missing or broken icon becomes the type's initials --------------------------
  document.addEventListener(
    "error",
    (event) => {
      const img = event.target;
      if (!(img instanceof HTMLImageElement) || !img.classList.contains("icon")) return;
      const span = document.createElement("span");
      span.className = img.className + " icon-fallback";
      span.textContent = img.dataset.fallback || "?";
      span.title = img.title;
      img.replaceWith(span);
    },
    true
  );

  // ---- live status: elements with data-live re-fetch their HTML fragment --------------------
  // Polls every 1.5 s while the connector is busy (syncing or indexing), every 10 s otherwise,
  // and not at all while the tab is hidden.
  const BUSY_MS = 1500;
  const IDLE_MS = 10000;

  function schedule(el) {
    const busy = el.dataset.busy === "true";
    window.setTimeout(() => refresh(el), busy ? BUSY_MS : IDLE_MS);
  }

  async function refresh(el) {
    if (!el.isConnected) return;
    if (document.hidden) {
      schedule(el);
      return;
    }
    try {
      const response = await fetch(el.dataset.live, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text(); // our own server-rendered, escaped fragment
        const fresh = holder.firstElementChild;
        if (fresh) {
          el.replaceWith(fresh);
          el = fresh;
          document.dispatchEvent(new CustomEvent("hw:status", { detail: { status: fresh.dataset.status, busy: fresh.dataset.busy } }));
          followHistory(fresh);
        }
      }
    } catch (err) {
      // the server restarting or the network dropping: try again later
    }
    schedule(el);
  }

  // ---- sync history: data-history re-fetches when the status names another newest run ---------
  // The status fragment carries data-history-key (the newest run and its outcome); the history
  // carries the key it was rendered with. A difference means a run started or ended.
  async function followHistory(status) {
    const key = status.dataset.historyKey;
    const history = document.querySelector("[data-history]");
    if (key === undefined || !history || history.dataset.historyKey === key || history.dataset.loading) return;
    history.dataset.loading = "true";
    try {
      const response = await fetch(history.dataset.history, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text(); // our own server-rendered, escaped fragment
        const fresh = holder.querySelector("[data-history]");
        if (fresh && history.isConnected) history.replaceWith(fresh);
      }
    } catch (err) {
      // the next status poll tries again: the keys still differ
    } finally {
      delete history.dataset.loading;
    }
  }

  // ---- conditional fields: data-show-if='{"field": "sync.mode", "operator": "equals", "value": "x"}'
  function valueOf(form, key) {
    const inputs = form.querySelectorAll(`[name="${CSS.escape(key)}"]`);
    if (!inputs.length) return undefined;
    const box = Array.from(inputs).find((i) => i.type === "checkbox");
    if (box) return box.checked; // a checkbox follows a hidden "false" of the same name
    const first = inputs[0];
    if (first.type === "radio") {
      const chosen = Array.from(inputs).find((i) => i.checked);
      return chosen ? chosen.value : undefined;
    }
    if (first.multiple) return Array.from(first.selectedOptions).map((o) => o.value);
    return first.value;
  }

  function matches(actual, operator, expected) {
    const same = (a, b) => String(a) === String(b);
    switch (operator) {
      case "equals":
        return same(actual, expected);
      case "not_equals":
        return !same(actual, expected);
      case "in":
        return Array.isArray(expected) && expected.some((e) => same(actual, e));
      case "not_in":
        return !(Array.isArray(expected) && expected.some((e) => same(actual, e)));
      default:
        return true;
    }
  }

  function applyConditions(form) {
    form.querySelectorAll("[data-show-if]").forEach((wrapper) => {
      let rule;
      try {
        rule = JSON.parse(wrapper.dataset.showIf);
      } catch (err) {
        return;
      }
      const shown = matches(valueOf(form, rule.field), rule.operator, rule.value);
      wrapper.hidden = !shown;
      wrapper.querySelectorAll("input, select, textarea").forEach((input) => {
        input.disabled = !shown; // a hidden field is not sent, as the server ignores it too
      });
    });
  }

  // ---- dynamic options: <select data-options-url> is filled from the connector's options API --
  async function loadOptions(select) {
    try {
      const response = await fetch(select.dataset.optionsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return;
      const body = await response.json();
      const options = Array.isArray(body) ? body : body.options || [];
      const chosen = new Set(Array.from(select.selectedOptions).map((o) => o.value));
      options.forEach((option) => {
        const id = String(option.id ?? option.value ?? option);
        if (select.querySelector(`option[value="${CSS.escape(id)}"]`)) return;
        const el = document.createElement("option");
        el.value = id;
        el.textContent = String(option.label ?? id);
        el.selected = chosen.has(id);
        select.appendChild(el);
      });
    } catch (err) {
      // options stay as rendered; the field still accepts typed values on the server
    }
  }

  // ---- confirmations: <form data-confirm="Delete X?"> -----------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // ---- the answer streams in: <form data-stream-to="#answer"> ---------------------------------
  // The server sends one JSON object per line: {"delta": "text"} while the answer is written, then
  // {"html": "<server-rendered answer with citations>"} or {"error": "message"}.
  async function streamAnswer(form) {
    const target = document.querySelector(form.dataset.streamTo);
    const button = form.querySelector("button[type=submit]");
    if (!target) return false;
    target.hidden = false;
    target.innerHTML = "";
    const live = document.createElement("div");
    live.className = "answer";
    live.setAttribute("aria-live", "polite");
    live.textContent = "Thinking…";
    target.appendChild(live);
    if (button) button.disabled = true;
    let started = false;
    try {
      const response = await fetch(form.dataset.streamUrl, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { "X-CSRF-Token": csrfToken(), Accept: "application/x-ndjson" },
        credentials: "same-origin",
      });
      if (!response.ok || !response.body) throw new Error(`the server answered ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const message = JSON.parse(line);
          if (message.delta !== undefined) {
            if (!started) live.textContent = "";
            started = true;
            live.textContent += message.delta; // text, never HTML
          } else if (message.html !== undefined) {
            target.innerHTML = message.html; // the server's escaped rendering, citations included
          } else if (message.error !== undefined) {
            live.textContent = message.error;
            live.classList.add("notice", "bad");
          }
        }
      }
    } catch (err) {
      live.textContent = `The answer could not be fetched (${err.message}). Try again.`;
      live.classList.add("notice", "bad");
    } finally {
      if (button) button.disabled = false;
    }
    return true;
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-live]").forEach((el) => schedule(el));
    document.querySelectorAll("form").forEach((form) => {
      if (!form.querySelector("[data-show-if]")) return;
      applyConditions(form);
      form.addEventListener("change", () => applyConditions(form));
      form.addEventListener("input", () => applyConditions(form));
    });
    document.querySelectorAll("select[data-options-url]").forEach((select) => loadOptions(select));
    document.querySelectorAll("form[data-stream-to]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.fetch || !window.ReadableStream) return; // plain form post: the page answers
        event.preventDefault();
        streamAnswer(form);
      });
    });
  });
})();
