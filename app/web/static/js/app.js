// The pages work without this file; it only keeps a form from being sent twice by a double
// click, puts the cursor on the first field with an error, and closes an open menu group when
// another opens, on Escape or on a click elsewhere.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent === "yes") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "yes";
  form.querySelectorAll("button[type=submit]").forEach(function (button) {
    button.setAttribute("aria-disabled", "true");
  });
});
document.addEventListener("DOMContentLoaded", function () {
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) {
    invalid.focus();
  }
});
window.addEventListener("pageshow", function (event) {
  if (event.persisted) {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
    });
  }
});
function closeMenus(except) {
  document.querySelectorAll("details.more[open]").forEach(function (group) {
    if (group !== except) {
      group.open = false;
    }
  });
}
document.addEventListener("toggle", function (event) {
  var group = event.target;
  if (group.matches && group.matches("details.more") && group.open) {
    closeMenus(group);
  }
}, true);
document.addEventListener("click", function (event) {
  if (!event.target.closest("details.more")) {
    closeMenus(null);
  }
});
document.addEventListener("keydown", function (event) {
  var open = event.target.closest && event.target.closest("details.more[open]");
  if (event.key === "Escape" && open) {
    open.open = false;
    open.querySelector("summary").focus();
  }
});
