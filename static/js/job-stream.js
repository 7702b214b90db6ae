// Job streaming: backlog over REST first, then live events over the websocket, deduplicated by
// sequence number. Reconnects with back-off; a finished job is shown from the stored log only.
(function () {
  "use strict";
  const MAX_LINES = 20000; // bounded buffer: hours of output must not exhaust the page

  function setup(root) {
    const log = root.querySelector("[data-job-log]");
    const stateEl = root.querySelector("[data-job-state]");
    const bar = root.querySelector("[data-job-progress]");
    const percent = root.querySelector("[data-job-percent]");
    const messageEl = root.querySelector("[data-job-message]");
    const notice = root.querySelector("[data-job-notice]");
    let lastSeq = 0;
    let finished = ["succeeded", "failed", "cancelled"].includes(stateEl.textContent.trim());
    let retry = 0;

    function appendLines(text) {
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      for (const line of text.split("\n")) {
        const div = document.createElement("div");
        div.textContent = line; // never innerHTML: log text is untrusted
        log.appendChild(div);
      }
      while (log.childElementCount > MAX_LINES) log.removeChild(log.firstElementChild);
      if (atBottom) log.scrollTop = log.scrollHeight;
    }

    function setStatus(state, progress, message) {
      if (state) {
        stateEl.textContent = state;
        stateEl.className = "badge badge-" + state;
        finished = ["succeeded", "failed", "cancelled"].includes(state);
      }
      if (progress !== null && progress !== undefined) {
        bar.value = progress;
        percent.textContent = progress + "%";
      }
      if (message !== undefined && message !== null) messageEl.textContent = message;
    }

    function handle(event) {
      if (event.seq <= lastSeq) return;
      lastSeq = event.seq;
      if (event.kind === "log") appendLines(event.text);
      else if (event.kind === "progress") {
        setStatus(null, event.progress, event.text);
        if (event.text) appendLines("» " + event.text);
      } else if (event.kind === "state") {
        setStatus(event.state, event.progress, null);
        appendLines("— " + event.text);
      }
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + location.host + root.dataset.wsPath + "?after=" + lastSeq);
      socket.onopen = function () { retry = 0; notice.textContent = ""; };
      socket.onmessage = function (msg) {
        const data = JSON.parse(msg.data);
        if (data.type === "event") handle(data);
        else if (data.type === "status") {
          setStatus(data.state, data.progress, data.message);
          if (finished && data.last_seq >= lastSeq) socket.close(1000);
        }
      };
      socket.onclose = function (ev) {
        if (finished || ev.code === 4403 || ev.code === 4404) {
          if (ev.code === 4403) notice.textContent = "You are not allowed to follow this job.";
          return;
        }
        retry = Math.min(retry + 1, 6);
        const delay = Math.min(30000, 500 * Math.pow(2, retry));
        notice.textContent = "Connection lost; reconnecting in " + Math.round(delay / 1000) + "s…";
        setTimeout(connect, delay);
      };
    }

    fetch(root.dataset.eventsUrl + "?after=0", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (events) { events.forEach(handle); })
      .finally(function () { if (!finished) connect(); });
  }

  document.querySelectorAll("[data-job-stream]").forEach(setup);
})();
