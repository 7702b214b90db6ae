// Live regions: the parts of a page that show an object's state (status badges, live workloads, the
// actions that state allows, list rows) are marked `id="…" data-live-region`. When a job stream on the
// page ends (the "slipway:job-finished" event from job-stream.js), and every few seconds while the page
// shows anything in a transitional state (a badge with data-live-transitional), the page is fetched again
// and each region whose server HTML changed is swapped in place. A region holding the focused control or
// a control the user changed is left alone until the user is done with it.
// A region may carry data-live-version (e.g. the job it shows): it is then swapped only when the version
// changes, so a job panel that streams by itself is not restarted on every refresh.
(function () {
  "use strict";
  const FAST_MS = 2000;   // while something is in a transitional state
  const SLOW_MS = 10000;  // back-off ceiling while nothing changes (a long rollout, a plan left awaiting approval)
  const served = new Map(); // region id -> the HTML the server last sent for it
  let timer = null;
  let delay = FAST_MS;
  let inFlight = false;
  let again = false;

  function regions(root) {
    return Array.from(root.querySelectorAll("[data-live-region][id]"));
  }

  function signature(el) {
    if (el.hasAttribute("data-live-version")) return "v:" + el.getAttribute("data-live-version");
    // Every response masks the CSRF token anew: it is not a change worth a swap.
    const copy = el.cloneNode(true);
    copy.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (i) { i.removeAttribute("value"); });
    return copy.outerHTML;
  }

  function dirty(region) {
    const active = document.activeElement;
    if (active && active !== document.body && region.contains(active) && active.matches("input, select, textarea")) {
      return true;
    }
    for (const el of region.querySelectorAll("input, textarea, select")) {
      if (el.type === "hidden") continue;
      if (el.matches("select")) {
        for (const option of el.options) if (option.selected !== option.defaultSelected) return true;
      } else if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) return true;
      } else if (el.value !== el.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function transitional() {
    return document.querySelector("[data-live-transitional]") !== null;
  }

  function swap(current, fresh) {
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    document.dispatchEvent(new CustomEvent("slipway:region-swapped", { detail: { region: fresh } }));
  }

  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Slipway-Live": "1", Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        const doc = new DOMParser().parseFromString(html, "text/html");
        let changed = false;
        for (const current of regions(document)) {
          const fresh = doc.getElementById(current.id);
          if (!fresh) continue;
          const sig = signature(fresh);
          if (served.get(current.id) === sig) continue;
          if (dirty(current)) continue; // keep what the user is typing; try again next time
          served.set(current.id, sig);
          swap(current, document.importNode(fresh, true));
          changed = true;
        }
        delay = changed ? FAST_MS : Math.min(SLOW_MS, Math.round(delay * 1.5));
      })
      .catch(function () { delay = Math.min(SLOW_MS, delay * 2); })
      .finally(function () {
        inFlight = false;
        if (again) { again = false; refresh(); return; }
        schedule();
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (transitional()) timer = setTimeout(refresh, delay);
  }

  function start() {
    for (const region of regions(document)) served.set(region.id, signature(region));
    document.addEventListener("slipway:job-finished", function () {
      delay = FAST_MS;
      refresh();
    });
    schedule();
  }

  window.slipwayLiveRegions = { refresh: refresh };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
