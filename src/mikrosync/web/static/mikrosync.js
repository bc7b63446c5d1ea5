// mikrosync console: the little behaviour htmx does not cover. No framework, no build step.
"use strict";

// Ask before an action that cuts service. A form carries data-confirm; when only one of its
// buttons cuts service, data-confirm-action names that button's value.
document.addEventListener("submit", function (event) {
  const form = event.target;
  const message = form.dataset ? form.dataset.confirm : null;
  if (!message) return;
  const only = form.dataset.confirmAction;
  if (only && (!event.submitter || event.submitter.value !== only)) return;
  if (!window.confirm(message)) event.preventDefault();
});

// "Select all" boxes: data-select-all names the checkboxes they toggle.
document.addEventListener("change", function (event) {
  const box = event.target;
  if (!box.dataset || !box.dataset.selectAll) return;
  document.querySelectorAll('input[type="checkbox"][name="' + box.dataset.selectAll + '"]')
    .forEach(function (other) { other.checked = box.checked; });
});
