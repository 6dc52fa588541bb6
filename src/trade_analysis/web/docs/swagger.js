// Starts Swagger UI on the /docs page (a file, not an inline script: the page's content
// policy allows scripts from this server only). The page names the document's URL, a
// docs token included, in `data-url`.
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
