// ThreadDesk dashboard: small progressive enhancements. Every page works without this file.
"use strict";

(function () {
  // The queue updates itself: ask every 2 s whether anything changed; 204 = nothing did.
  const table = document.getElementById("queue");
  if (table) {
    const rows = document.getElementById("queue-rows");
    const total = document.getElementById("total");
    const state = document.getElementById("live-state");
    let stamp = table.dataset.stamp;
    const base = table.dataset.live;
    async function poll() {
      try {
        const sep = base.includes("?") ? "&" : "?";
        const response = await fetch(base + sep + "stamp=" + encodeURIComponent(stamp), {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
        });
        if (response.status === 401 || response.status === 403) {
          state.textContent = "Signed out — live updates stopped. Type /dashboard in chat for a new link.";
          return;
        }
        if (response.status === 200) {
          rows.innerHTML = await response.text(); // server-rendered and escaped
          stamp = response.headers.get("X-Stamp") || stamp;
          if (total) total.textContent = response.headers.get("X-Total") || total.textContent;
          state.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
        }
      } catch (error) {
        state.textContent = "Live updates paused (server unreachable); retrying.";
      }
      window.setTimeout(poll, 2000);
    }
    window.setTimeout(poll, 2000);
  }
  // Filters apply as soon as a menu changes.
  const filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { filters.submit(); });
    });
  }
})();
