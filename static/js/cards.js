// Narrow screens show each table row as a card (static/css/quorum.css, "Tables as
// cards"). A card has no header row, so every cell carries its column's header as a
// label, copied here from the table's own <thead>: templates stay plain tables, and a
// table added later gets its labels without anyone remembering to write them. Without
// JavaScript the cards still reflow, only without labels.
(function () {
  "use strict";

  function label(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var heads = table.querySelectorAll("thead tr:first-child th");
      if (!heads.length) return;
      var names = Array.prototype.map.call(heads, function (th) {
        return th.textContent.trim();
      });
      table.classList.add("cards");
      table.querySelectorAll("tbody tr").forEach(function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.children, function (cell) {
          var span = cell.colSpan || 1;
          // A cell spanning columns ("no unit is present") and the row's own header
          // (the card's title) need no label.
          if (span === 1 && cell.tagName === "TD" && names[column]) {
            cell.setAttribute("data-label", names[column]);
          }
          column += span;
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { label(document); });
  // Live parts of the meeting page are swapped in by htmx: label what arrives.
  document.addEventListener("htmx:afterSettle", function (event) { label(event.target); });
})();
