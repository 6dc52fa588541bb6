"""Code that builds what the package ships but never runs in it (the chart model's training)."""
