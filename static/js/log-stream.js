// Live logs: one websocket per selection (see environments/logs/consumers.py). Lines arrive in
// acknowledged batches; the page keeps a bounded buffer, renders in animation frames (a huge log
// never freezes the page), and never puts log text into innerHTML: ANSI colours become spans
// whose text is set with textContent.
(function () {
  "use strict";
  const MAX_BUFFER = 50000; // entries kept for filtering and download
  const MAX_ROWS = 5000; // rows in the DOM
  const CSI = /\x1b\[([0-9;]*)([A-Za-z])/g;

  function setup(root) {
    const view = root.querySelector("[data-log-lines]");
    const notice = root.querySelector("[data-log-notice]");
    const count = root.querySelector("[data-log-count]");
    const filterInput = root.querySelector("[data-log-filter]");
    const pauseButton = root.querySelector("[data-log-pause]");
    const selectionForm = root.querySelector("[data-log-selection]");
    const historyUrl = root.dataset.historyUrl;
    let buffer = [];
    let pending = [];
    let socket = null;
    let retry = 0;
    let retryTimer = null;
    let paused = false;
    let unseen = 0;
    let filter = "";
    let lastTs = {};
    let lastTexts = {};
    let resumeSince = null;
    let frame = 0;

    // --- rendering -------------------------------------------------------------------------
    function ansiState() { return { fg: "", bg: "", bold: false, dim: false, italic: false, underline: false }; }

    function applySgr(state, params) {
      const codes = params === "" ? [0] : params.split(";").map(Number);
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i];
        if (c === 0) Object.assign(state, ansiState());
        else if (c === 1) state.bold = true;
        else if (c === 2) state.dim = true;
        else if (c === 3) state.italic = true;
        else if (c === 4) state.underline = true;
        else if (c === 22) { state.bold = false; state.dim = false; }
        else if (c === 23) state.italic = false;
        else if (c === 24) state.underline = false;
        else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) state.fg = String(c);
        else if (c === 39) state.fg = "";
        else if (c >= 40 && c <= 47) state.bg = String(c);
        else if (c === 49) state.bg = "";
        else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256/true colour: skipped
      }
    }

    function classesOf(state) {
      const list = [];
      if (state.fg) list.push("ansi-fg-" + state.fg);
      if (state.bg) list.push("ansi-bg-" + state.bg);
      for (const k of ["bold", "dim", "italic", "underline"]) if (state[k]) list.push("ansi-" + k);
      return list.join(" ");
    }

    function appendText(parent, text) {
      if (!filter) { parent.appendChild(document.createTextNode(text)); return; }
      const lower = text.toLowerCase();
      let at = 0;
      for (;;) {
        const hit = lower.indexOf(filter, at);
        if (hit < 0) break;
        if (hit > at) parent.appendChild(document.createTextNode(text.slice(at, hit)));
        const mark = document.createElement("mark");
        mark.textContent = text.slice(hit, hit + filter.length);
        parent.appendChild(mark);
        at = hit + filter.length;
      }
      if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
    }

    function renderAnsi(parent, text) {
      const state = ansiState();
      let last = 0;
      CSI.lastIndex = 0;
      const segment = function (s) {
        if (!s) return;
        const cls = classesOf(state);
        if (!cls) { appendText(parent, s); return; }
        const span = document.createElement("span");
        span.className = cls;
        appendText(span, s);
        parent.appendChild(span);
      };
      let m;
      while ((m = CSI.exec(text)) !== null) {
        segment(text.slice(last, m.index));
        if (m[2] === "m") applySgr(state, m[1]);
        last = CSI.lastIndex;
      }
      segment(text.slice(last));
    }

    function plain(text) { return text.replace(CSI, ""); }

    function row(entry) {
      const div = document.createElement("div");
      if (entry.marker) {
        div.className = "log-marker" + (entry.bad ? " bad" : "");
        div.textContent = "── " + entry.text;
        return div;
      }
      div.className = "log-line";
      const ts = document.createElement("span");
      ts.className = "log-ts";
      ts.textContent = entry.ts;
      const pod = document.createElement("span");
      pod.className = "log-pod";
      pod.textContent = entry.pod + (entry.container ? "/" + entry.container : "");
      const msg = document.createElement("span");
      msg.className = "log-text";
      renderAnsi(msg, entry.text);
      div.append(ts, pod, msg);
      if (entry.ts) {
        const link = document.createElement("a");
        link.className = "log-hist";
        link.title = "Surrounding history";
        link.setAttribute("aria-label", "Surrounding history of this line");
        link.textContent = "⤴";
        link.href = historyUrl + "?" + new URLSearchParams({
          component: entry.container, pod: entry.pod, around: entry.ts.slice(0, 23) + "Z" }).toString();
        div.appendChild(link);
      }
      return div;
    }

    function matches(entry) {
      return !filter || entry.marker || plain(entry.text).toLowerCase().includes(filter) ||
        entry.pod.toLowerCase().includes(filter);
    }

    function shown() { return filter ? buffer.filter(matches) : buffer; }

    function updateCount() {
      count.textContent = buffer.length + " lines buffered" + (buffer.length >= MAX_BUFFER ? " (oldest dropped)" : "") +
        (paused && unseen ? " · " + unseen + " new while paused" : "");
    }

    function scrollToEnd() { view.scrollTop = view.scrollHeight; }

    function flush() {
      frame = 0;
      if (!pending.length) return;
      const fragment = document.createDocumentFragment();
      const batch = pending.length > MAX_ROWS ? pending.slice(-MAX_ROWS) : pending;
      pending = [];
      for (const entry of batch) if (matches(entry)) fragment.appendChild(row(entry));
      view.appendChild(fragment);
      let excess = view.childElementCount - MAX_ROWS;
      while (excess-- > 0) view.removeChild(view.firstElementChild);
      if (!paused) scrollToEnd();
      updateCount();
    }

    function rerender() {
      view.textContent = "";
      pending = shown().slice(-MAX_ROWS);
      flush();
    }

    function add(entry) {
      buffer.push(entry);
      if (buffer.length > MAX_BUFFER) buffer.splice(0, buffer.length - MAX_BUFFER);
      pending.push(entry);
      if (paused) unseen++;
      if (!frame) frame = requestAnimationFrame(flush);
    }

    // --- the stream ------------------------------------------------------------------------
    function isDuplicate(item) {
      // After a reconnect the server replays from a little before the last line seen.
      const last = lastTs[item.pod];
      if (!item.ts || !last || item.ts > last) return false;
      return item.ts < last || (lastTexts[item.pod] || new Set()).has(item.text);
    }

    function handle(item) {
      if (item.type === "marker") {
        if (item.kind === "skipped" || item.kind === "reconnecting" || item.kind === "error") {
          notice.textContent = item.text;
        } else if (item.kind === "ready" || item.kind === "reconnected") notice.textContent = "";
        add({ marker: true, text: item.text, bad: item.kind === "error" || item.kind === "skipped" });
        return;
      }
      if (isDuplicate(item)) return;
      if (item.ts) {
        if (item.ts !== lastTs[item.pod]) { lastTs[item.pod] = item.ts; lastTexts[item.pod] = new Set(); }
        lastTexts[item.pod].add(item.text);
      }
      add({ pod: item.pod, container: item.container, ts: item.ts, text: item.text });
    }

    function query() {
      const params = new URLSearchParams();
      for (const [k, v] of new FormData(selectionForm)) if (v !== "") params.append(k, v);
      if (resumeSince !== null) { params.set("tail", "all"); params.set("since", String(resumeSince)); }
      return params.toString();
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const ws = new WebSocket(scheme + location.host + root.dataset.wsPath + "?" + query());
      socket = ws;
      ws.onopen = function () { retry = 0; };
      ws.onmessage = function (msg) {
        const data = JSON.parse(msg.data);
        if (data.type !== "batch") return;
        for (const item of data.items) handle(item);
        if (data.seq) ws.send(JSON.stringify({ ack: data.seq }));
      };
      ws.onclose = function (ev) {
        if (socket !== ws) return; // replaced by a new selection
        socket = null;
        if (ev.code === 4403) { notice.textContent = "You are not allowed to view these logs."; return; }
        if (ev.code === 4404) { notice.textContent = "This environment no longer exists."; return; }
        if (ev.code === 4400) return; // the error marker says why
        retry = Math.min(retry + 1, 6);
        const delay = Math.min(30000, 500 * Math.pow(2, retry));
        const newest = Object.values(lastTs).sort().pop();
        resumeSince = newest ? Math.max(1, Math.ceil((Date.now() - Date.parse(newest)) / 1000) + 2) : null;
        // 4503: the server is up but its database is not (portal/outages.DatabaseOutageWebsocket).
        const database = ev.code === 4503;
        const wait = "; reconnecting in " + Math.round(delay / 1000) + "s";
        notice.textContent = (database ? "Slipway cannot reach its database" : "Connection lost") + wait + "…";
        add({ marker: true, bad: true, text: (database ? "Slipway cannot reach its database" : "connection lost") + wait });
        retryTimer = setTimeout(connect, delay);
      };
    }

    function restart() {
      if (retryTimer) clearTimeout(retryTimer);
      const old = socket;
      socket = null;
      if (old) old.close(1000);
      buffer = []; pending = []; lastTs = {}; lastTexts = {}; resumeSince = null; retry = 0;
      view.textContent = "";
      notice.textContent = "";
      connect();
    }

    // --- controls --------------------------------------------------------------------------
    function setPaused(value) {
      paused = value;
      pauseButton.textContent = paused ? "Resume" : "Pause";
      pauseButton.setAttribute("aria-pressed", String(paused));
      if (!paused) { unseen = 0; scrollToEnd(); }
      updateCount();
    }

    pauseButton.addEventListener("click", function () { setPaused(!paused); });
    view.addEventListener("wheel", function (ev) { if (ev.deltaY < 0 && !paused) setPaused(true); });
    filterInput.addEventListener("input", function () { filter = filterInput.value.toLowerCase(); rerender(); });
    root.querySelector("[data-log-timestamps]").addEventListener("change", function (ev) {
      view.classList.toggle("show-ts", ev.target.checked);
    });
    root.querySelector("[data-log-wrap]").addEventListener("change", function (ev) {
      view.classList.toggle("wrap", ev.target.checked);
    });
    root.querySelector("[data-log-clear]").addEventListener("click", function () {
      buffer = []; pending = []; view.textContent = ""; updateCount();
    });
    root.querySelector("[data-log-download]").addEventListener("click", function () {
      const withTs = view.classList.contains("show-ts");
      const text = shown().map(function (e) {
        if (e.marker) return "-- " + e.text;
        return (withTs && e.ts ? e.ts + " " : "") + e.pod + " " + plain(e.text);
      }).join("\n") + "\n";
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
      link.download = root.dataset.environment + "-logs.txt";
      link.textContent = "Download shown lines";
      link.hidden = true;
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    });
    selectionForm.addEventListener("submit", function (ev) { ev.preventDefault(); restart(); });
    view.classList.toggle("show-ts", root.querySelector("[data-log-timestamps]").checked);
    connect();
  }

  document.querySelectorAll("[data-log-viewer]").forEach(setup);
})();
