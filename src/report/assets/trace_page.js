// The trace sink's /trace/{id} page: the same waterfall as the run report, for one trace.
"use strict";
(function () {
  var table = JSON.parse(document.getElementById("trace-strings").textContent);
  var trace = Waterfall.unpack(JSON.parse(document.getElementById("trace-data").textContent), table);
  Waterfall.render(document.getElementById("app"), trace, null);
})();
