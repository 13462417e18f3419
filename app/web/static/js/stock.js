// The stock pages work without this file. With it, choosing a lot that only one warehouse
// holds selects that warehouse, and a count sheet gets a Print button.
document.addEventListener("change", function (event) {
  var picker = event.target;
  if (!picker.matches || !picker.matches("select[data-fills]")) {
    return;
  }
  var option = picker.options[picker.selectedIndex];
  var target = document.getElementById(picker.dataset.fills);
  if (option && option.dataset.warehouse && target) {
    target.value = option.dataset.warehouse;
  }
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
});
