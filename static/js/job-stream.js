// Job streaming: backlog over REST first, then live events over the websocket, deduplicated by
// sequence number. Reconnects with back-off; a finished job is shown from the stored log only.
// When a job that was still running at page load ends, "slipway:job-finished" is dispatched on the
// document, so the page's live regions (live-regions.js) show what the job changed.
(function () {
  "use strict";
  const MAX_LINES = 20000; // bounded buffer: hours of output must not exhaust the page
  const FINISHED = ["succeeded", "failed", "cancelled"];

  function setup(root) {
    if (root.dataset.jobStreamReady) return;
    root.dataset.jobStreamReady = "1";
    const log = root.querySelector("[data-job-log]");
    const stateEl = root.querySelector("[data-job-state]");
    const bar = root.querySelector("[data-job-progress]");
    const percent = root.querySelector("[data-job-percent]");
    const messageEl = root.querySelector("[data-job-message]");
    const notice = root.querySelector("[data-job-notice]");
    let lastSeq = 0;
    const waiting = root.dataset.jobWaiting || ""; // e.g. "awaiting approval": succeeded, but not done
    let finished = FINISHED.includes(stateEl.dataset.status || stateEl.textContent.trim());
    const finishedAtLoad = finished;
    let announced = false;
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
        const waits = waiting && state === "succeeded";
        stateEl.textContent = waits ? waiting : state;
        stateEl.className = "badge badge-" + (waits ? "warning" : state);
        stateEl.dataset.status = waits ? "awaiting_approval" : state;
        finished = FINISHED.includes(state);
        stateEl.toggleAttribute("data-live-transitional", !finished);
        if (finished && !finishedAtLoad && !announced) {
          announced = true;
          document.dispatchEvent(new CustomEvent("slipway:job-finished", { detail: { state: state, root: root } }));
        }
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
        // 4503: the server is up but its database is not (portal/outages.DatabaseOutageWebsocket).
        notice.textContent = (ev.code === 4503 ? "Slipway cannot reach its database; reconnecting in "
          : "Connection lost; reconnecting in ") + Math.round(delay / 1000) + "s…";
        setTimeout(connect, delay);
      };
    }

    fetch(root.dataset.eventsUrl + "?after=0", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (events) { events.forEach(handle); })
      .finally(function () { if (!finished) connect(); });
  }

  document.querySelectorAll("[data-job-stream]").forEach(setup);
  // A live region swapped in may hold a new job's panel (a retry, a new revision): follow it too.
  document.addEventListener("slipway:region-swapped", function (ev) {
    ev.detail.region.querySelectorAll("[data-job-stream]").forEach(setup);
    if (ev.detail.region.matches("[data-job-stream]")) setup(ev.detail.region);
  });
})();
