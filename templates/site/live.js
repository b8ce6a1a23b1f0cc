// Served by `prepdeck serve` only: reload the page when the site was built again.
// The server's state says which build it shows; this page knows the build it came from.
(function () {
  "use strict";
  var script = document.currentScript;
  var version = script && script.getAttribute("data-version");
  function poll() {
    fetch("/__prepdeck/state", {cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (String(state.version) !== version) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 250);
      }, function () {
        window.setTimeout(poll, 1000); // the server is restarting or stopped: keep trying, quietly
      });
  }
  window.setTimeout(poll, 250);
})();
