// newsloom reader: the only script on the site. It turns the hidden "Copy link" button on, and copies the permalink.
// Loaded from /static (the Content-Security-Policy allows no inline script). Without it the permalink stays selectable.
"use strict";
document.querySelectorAll("button.copy-link[data-copy-from]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy-from"));
  if (!field) { return; }
  button.hidden = false;
  var label = button.textContent;
  function done(message) {
    button.textContent = message;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }
  button.addEventListener("click", function () {
    var text = field.value;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { fallback(); });
    } else {
      fallback();
    }
    function fallback() {
      field.focus();
      field.select();
      try { done(document.execCommand("copy") ? "Copied" : "Press Ctrl+C"); } catch (e) { done("Press Ctrl+C"); }
    }
  });
});
