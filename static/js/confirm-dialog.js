// One confirmation dialog for every dangerous action (templates/_confirm_dialog.html). A form with
// data-confirm is held back on submit until the person confirms in the <dialog>; with
// data-confirm-name they must type that name first, and the form posts it as confirm_name so the
// server can refuse a mismatch too. showModal() keeps focus inside the dialog and Escape cancels;
// focus returns to the button that asked.
(function () {
  "use strict";
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return; // the server still checks typed names
  const title = dialog.querySelector("#confirm-dialog-title");
  const text = dialog.querySelector("#confirm-dialog-text");
  const nameField = dialog.querySelector("[data-confirm-name-field]");
  const expectedName = dialog.querySelector("[data-confirm-expected]");
  const nameInput = dialog.querySelector("#confirm-dialog-name");
  const error = dialog.querySelector("#confirm-dialog-error");
  const accept = dialog.querySelector("[data-confirm-accept]");
  const cancel = dialog.querySelector("[data-confirm-cancel]");
  let pending = null; // { form, submitter }

  function open(form, submitter) {
    pending = { form: form, submitter: submitter };
    const expected = form.dataset.confirmName || "";
    title.textContent = form.dataset.confirmTitle || "Are you sure?";
    text.textContent = form.dataset.confirm;
    accept.textContent = form.dataset.confirmButton || (submitter && submitter.textContent.trim()) || "Confirm";
    nameField.hidden = !expected;
    expectedName.textContent = expected;
    nameInput.value = "";
    error.textContent = "";
    nameInput.removeAttribute("aria-invalid");
    dialog.showModal();
    // The safe choice has focus, unless a name must be typed first.
    (expected ? nameInput : cancel).focus();
  }

  // A polled panel (htmx outerHTML, e.g. a Terraform run awaiting approval) may have replaced the
  // form while the dialog was open: submit its current copy, or nothing if the action is gone.
  function current(form) {
    if (form.isConnected) return form;
    const action = form.getAttribute("action");
    return action ? document.querySelector('form[data-confirm][action="' + CSS.escape(action) + '"]') : null;
  }

  function proceed() {
    const form = current(pending.form);
    const submitter = form === pending.form ? pending.submitter : null;
    if (!form) {
      dialog.close("cancel");
      return;
    }
    const expected = form.dataset.confirmName || "";
    if (expected) {
      if (nameInput.value.trim() !== expected) {
        error.textContent = "That is not the name: type " + expected + " exactly, or cancel.";
        nameInput.setAttribute("aria-invalid", "true");
        nameInput.focus();
        return;
      }
      let field = form.querySelector("input[name=confirm_name]");
      if (!field) {
        field = document.createElement("input");
        field.type = "hidden";
        field.name = "confirm_name";
        form.appendChild(field);
      }
      field.value = nameInput.value.trim();
    }
    form.dataset.confirmed = "1";
    dialog.close("confirm");
    if (typeof form.requestSubmit === "function") form.requestSubmit(submitter || undefined);
    else form.submit();
  }

  dialog.querySelector("[data-confirm-dialog-form]").addEventListener("submit", function (ev) {
    ev.preventDefault();
    proceed();
  });
  cancel.addEventListener("click", function () { dialog.close("cancel"); });
  dialog.addEventListener("close", function () {
    const asked = pending && pending.submitter;
    if (dialog.returnValue !== "confirm") pending = null;
    if (asked && dialog.returnValue !== "confirm") asked.focus();
  });

  // Capture phase on the document: runs before the form's own handlers (htmx among them).
  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "1") { delete form.dataset.confirmed; return; }
    ev.preventDefault();
    ev.stopPropagation();
    open(form, ev.submitter || null);
  }, true);
})();
