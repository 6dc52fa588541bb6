// Settings: line detection, bring to foreground, the default crop.

import { $, setText, showErrors } from "./dom.js";
import { fieldErrors } from "./format.js";

export class SettingsView {
  constructor(app) {
    this.app = app;
    const capture = $("#capture-settings");
    capture.addEventListener("submit", (event) => event.preventDefault());
    capture.addEventListener("change", (event) => this.toggle(capture, event.target));
    $("#default-crop").addEventListener("submit", (event) => this.saveCrop(event));
  }

  shown() {
    // What the running workers use is what is set (the server keeps no separate record).
    const worker = Object.values(this.app.state.workers)[0];
    const form = $("#capture-settings");
    if (worker && typeof worker.line_detect === "boolean") form.elements.line_detect.checked = worker.line_detect;
    if (worker && typeof worker.bring_to_foreground === "boolean") {
      form.elements.bring_to_foreground.checked = worker.bring_to_foreground;
    }
  }

  render() {}

  async toggle(form, input) {
    const path = input.name === "line_detect" ? "/settings/line_detect" : "/settings/bring_to_foreground";
    await this.send(form, () => this.app.api.post(path, { enabled: input.checked }));
  }

  async saveCrop(event) {
    event.preventDefault();
    const form = event.target;
    const crop = {};
    for (const edge of ["left", "right", "top", "bottom"]) crop[edge] = Number(form.elements[edge].value || 0);
    await this.send(form, () => this.app.api.post("/settings/crop", crop));
  }

  async send(form, call) {
    const ok = form.querySelector("[data-ok]");
    setText(ok, "");
    try {
      const answer = await call();
      showErrors(form, {});
      setText(ok, `Saved: ${answer.detail}.`);
    } catch (error) {
      showErrors(form, fieldErrors(error.detail));
    }
  }
}
