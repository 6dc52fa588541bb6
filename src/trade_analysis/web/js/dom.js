// Small DOM helpers. Text from the server is set with textContent, never parsed as HTML.

export const $ = (selector, root = document) => root.querySelector(selector);

/** `el("button", {type: "button", class: "x", onclick}, "text", child)` */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Set text only when it changed: no layout work for an unchanged number. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setClass(node, className) {
  if (node.className !== className) node.className = className;
}

/** A table cell for a number: right-aligned, with a gain/loss class when given. */
export function numberCell(text, extra = "") {
  return el("td", { class: `num ${extra}`.trim() }, text);
}

/** Show messages next to form fields (`[data-error-for=name]`), or in the form's status line. */
export function showErrors(form, errors) {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const [field, message] of Object.entries(errors)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) ||
      form.querySelector('[data-error-for=""]');
    if (slot) slot.textContent = message;
    const input = form.elements.namedItem(field);
    if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
  }
}
