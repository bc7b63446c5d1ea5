// mikrosync console: the little behaviour htmx does not cover. No framework, no build step.
"use strict";

// Ask before an action that cuts service or changes a router. A form carries data-confirm;
// data-confirm-action names the one button that needs it, data-confirm-unless a checkbox
// (such as "dry run") that makes it harmless.
document.addEventListener("submit", function (event) {
  const form = event.target;
  // A bulk form acts on ticked rows: with none ticked, say so instead of asking to confirm.
  const needs = form.dataset ? form.dataset.needsTicked : null;
  if (needs && !document.querySelector('input[type="checkbox"][name="' + needs + '"]:checked')) {
    event.preventDefault();
    const note = document.getElementById(form.dataset.needsNote);
    if (note) note.textContent = "Tick at least one subscriber first.";
    return;
  }
  const message = form.dataset ? form.dataset.confirm : null;
  if (!message) return;
  const only = form.dataset.confirmAction;
  if (only && (!event.submitter || event.submitter.value !== only)) return;
  const unless = form.dataset.confirmUnless && form.elements[form.dataset.confirmUnless];
  if (unless && unless.checked) return;
  if (!window.confirm(message)) event.preventDefault();
});

// "Select all" boxes: data-select-all names the checkboxes they toggle.
document.addEventListener("change", function (event) {
  const box = event.target;
  if (!box.dataset || !box.dataset.selectAll) return;
  document.querySelectorAll('input[type="checkbox"][name="' + box.dataset.selectAll + '"]')
    .forEach(function (other) { other.checked = box.checked; });
});
