// Kairos figures and tables: draws the JSON of kairos.web.figure (Figure.to_json / Table.to_json) into a page.
// Every string from the data is set as textContent (never as HTML); Plotly gets text already entity-escaped.
"use strict";
window.Kairos = (function () {
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(root, key, title, note) {
    const id = "k-" + String(key).replace(/[^A-Za-z0-9_-]/g, "_");
    let box = document.getElementById(id);
    if (!box) {
      box = el("section", "card");
      box.id = id;
      box.appendChild(el("h2"));
      box.appendChild(el("div", "body"));
      box.appendChild(el("p", "note"));
      root.appendChild(box);
    }
    box.querySelector("h2").textContent = title;
    box.querySelector(".note").textContent = note || "";
    return box.querySelector(".body");
  }

  function renderFigures(root, figures) {
    for (const f of figures) {
      const body = card(root, f.key, f.title, f.note);
      Plotly.react(body, f.data, f.layout, { displaylogo: false, displayModeBar: false });
    }
  }

  function renderTables(root, tables) {
    for (const t of tables) {
      const body = card(root, t.key, t.title, t.note);
      const table = el("table");
      const head = el("tr");
      for (const c of t.columns) head.appendChild(el("th", null, c));
      table.appendChild(head);
      for (const row of t.rows) {
        const tr = el("tr");
        for (const v of row) tr.appendChild(el("td", null, v));
        table.appendChild(tr);
      }
      body.replaceChildren(table);
    }
  }

  return { renderFigures: renderFigures, renderTables: renderTables };
})();
