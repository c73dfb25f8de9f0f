// Filters the index table as you type: by name, owner, tag, tier and status. The same
// data as models.json travels in the page, so this works from disk too. Without
// JavaScript the table and the tier and status lists above it still work.
(function () {
  var form = document.getElementById("search");
  var data = document.getElementById("models-data");
  var table = document.getElementById("models");
  if (!form || !data || !table) return;
  var models = {};
  JSON.parse(data.textContent).models.forEach(function (m) {
    models[m.id] = [m.id, m.tier || "", (m.owners || []).join(" "), (m.tags || []).join(" "), m.status, m.latest_version || ""].join(" ").toLowerCase();
  });
  var text = document.getElementById("search-text");
  var tier = document.getElementById("search-tier");
  var status = document.getElementById("search-status");
  var count = document.getElementById("search-count");
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  function apply() {
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var haystack = models[row.dataset.id] || "";
      var match = words.every(function (w) { return haystack.indexOf(w) >= 0; }) &&
        (!tier.value || row.dataset.tier === tier.value) &&
        (!status.value || row.dataset.status === status.value);
      row.hidden = !match;
      if (match) shown++;
    });
    count.textContent = shown + " of " + rows.length + " models";
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  [text, tier, status].forEach(function (el) { el.addEventListener("input", apply); });
  form.hidden = false;
  apply();
})();
