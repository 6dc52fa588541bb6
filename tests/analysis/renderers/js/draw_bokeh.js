// BokehJS, as bokeh (PyPI) ships it inline: the document comes whole from bokeh's Python
// side (`json_item`, with its theme); here it is only embedded.
(() => {
  let views = null;
  window.draw = async (spec) => {
    if (views !== null) {
      for (const view of views) view.remove();
    }
    document.body.innerHTML = "";
    document.body.style.background = spec.background;
    const element = document.createElement("div");
    element.id = "chart";
    document.body.appendChild(element);
    views = await Bokeh.embed.embed_item(JSON.parse(spec.item), "chart");
  };
})();
