// The live page: polls /live/data.json and redraws the figures and tables in place.
"use strict";
(function () {
  const status = document.getElementById("status");
  const figures = document.getElementById("figures");
  const tables = document.getElementById("tables");
  const every = Number(document.body.dataset.pollMs || 2000);
  let updates = 0;

  async function tick() {
    try {
      const response = await fetch("/live/data.json", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      Kairos.renderFigures(figures, data.figures);
      Kairos.renderTables(tables, data.tables);
      updates += 1;
      document.body.dataset.updates = String(updates);
      status.textContent =
        "updated " + new Date(data.at * 1000).toISOString() + " · " + data.snapshots + " snapshots in view";
    } catch (error) {
      status.textContent = "worker not answering: " + error.message;
    }
    setTimeout(tick, every);
  }

  tick();
})();
