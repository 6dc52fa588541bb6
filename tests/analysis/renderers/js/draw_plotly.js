// plotly.js as bundled in the Python package: the figure (data, layout with its template)
// comes whole from plotly's Python side; here it is only plotted.
(() => {
  window.draw = async (spec) => {
    document.body.innerHTML = "";
    const element = document.createElement("div");
    document.body.appendChild(element);
    const figure = JSON.parse(spec.figure);
    await Plotly.newPlot(element, figure.data, figure.layout, spec.config);
  };
})();
