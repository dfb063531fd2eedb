// The trace sink's /trace/{id} page: the same waterfall as the run report, for one trace.
"use strict";
(function () {
  var trace = JSON.parse(document.getElementById("trace-data").textContent);
  Waterfall.render(document.getElementById("app"), trace, null);
})();
