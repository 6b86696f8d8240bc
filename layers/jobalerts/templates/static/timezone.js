// Preselects the browser's timezone in every <select data-browser-zone>; without JavaScript
// the select keeps what the server chose (UTC on the sign-up form).
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }
  var selects = document.querySelectorAll("select[data-browser-zone]");
  for (var i = 0; i < selects.length; i += 1) {
    var options = selects[i].options;
    for (var j = 0; j < options.length; j += 1) {
      if (options[j].value === zone) {
        selects[i].value = zone;
        break;
      }
    }
  }
})();
